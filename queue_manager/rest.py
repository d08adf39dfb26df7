"""A seat's standing in each of its queues, as app_queue has it: pure, no I/O.

app_queue keeps one member per queue (its own ``paused`` flag and reason) and, with
``shared_lastcall`` (queues.conf), one ``lastcall`` for all of them: the time the member's last
call ended, in any queue, and the queue it was in (``lastqueue``). Two rules read them
(apps/app_queue.c, Asterisk 22):

* ``can_ring_entry``: no queue rings the member while ``time(NULL) - lastcall`` is under the
  wrap-up of the queue its last call was in;
* ``is_member_available`` (a queue's available members, ``QueueSummary``'s ``Available``, whose
  turn it is): a queue does not count the member while under that queue's own wrap-up.

So after a call in queue L, a seat rests in queue Q until ``lastcall + max(wrapup(L), wrapup(Q))``
(:func:`rest_until`, queues.conf's ``wrapuptime``: see :func:`queue_manager.seats.asterisk_wrapuptime`).
The seat's one state (:func:`standing`): ``paused`` when paused in every queue it is in (then no
queue offers it a call), ``wrapup`` when every queue it is not paused in still rests it (until the
first of those rests ends), else ``idle``: some queue can offer it a call now.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .seats import SeatState, asterisk_wrapuptime


@dataclass(frozen=True)
class LastCall:
    """The seat's last call: when it ended (Asterisk's time) and its queue (None: not known,
    e.g. after a restart ``QueueStatus`` gives ``LastCall`` alone)."""

    ended_at: float
    queue: str | None = None


@dataclass(frozen=True)
class QueueStanding:
    queue: str
    paused: bool
    reason: str | None
    wrapup_until: float | None      # the seat rests in this queue until then (None: it does not)

    def as_dict(self) -> dict[str, object]:
        return {"queue": self.queue, "paused": self.paused, "reason": self.reason,
                "wrapup_until": self.wrapup_until}


def rest_until(last: LastCall | None, queue: str, wrapup_s: Mapping[str, int], now: float,
               unknown_s: int = 0) -> float | None:
    """When app_queue counts the seat in ``queue`` again after ``last`` (None: it does now).
    ``unknown_s``: the wrap-up taken for the last call's queue when it is not known."""
    if last is None or not last.ended_at:
        return None
    wrap = asterisk_wrapuptime(max(wrapup_s.get(queue, 0),
                                   wrapup_s.get(last.queue, 0) if last.queue is not None else unknown_s))
    until = float(math.floor(last.ended_at) + wrap)   # lastcall is time(NULL): whole seconds
    return until if wrap and until > now else None


def standings(queues: set[str] | frozenset[str], paused: Mapping[str, str | None], last: LastCall | None,
              wrapup_s: Mapping[str, int], now: float) -> list[QueueStanding]:
    """The seat in each of its queues (``paused``: queue -> reason, for the queues it is paused in).
    A last call of an unknown queue (``LastCall`` read from ``QueueStatus`` alone) is taken for one
    of the seat's queue with the longest wrap-up: it may have rested the seat everywhere."""
    unknown = max((wrapup_s.get(q, 0) for q in queues), default=0)
    return [QueueStanding(q, q in paused, paused.get(q), rest_until(last, q, wrapup_s, now, unknown))
            for q in sorted(queues)]


@dataclass(frozen=True)
class Standing:
    state: SeatState             # logged_out, paused, wrapup or idle (calls are the caller's business)
    reason: str | None = None    # paused: the pause reason (of the first queue, by name)
    wrapup_until: float | None = None   # wrapup: when the first queue offers it calls again


def standing(queues: list[QueueStanding]) -> Standing:
    """The seat's one state outside a call, from its standing in each queue."""
    if not queues:
        return Standing(SeatState.logged_out)
    open_ = [q for q in queues if not q.paused]
    if not open_:
        return Standing(SeatState.paused, queues[0].reason)
    rests = [q.wrapup_until for q in open_ if q.wrapup_until is not None]
    if len(rests) == len(open_):
        return Standing(SeatState.wrapup, wrapup_until=min(rests))
    return Standing(SeatState.idle)


def next_change(queues: list[QueueStanding]) -> float | None:
    """The next time a rest ends (the seat's standing may change then), or None."""
    return min((q.wrapup_until for q in queues if q.wrapup_until is not None), default=None)
