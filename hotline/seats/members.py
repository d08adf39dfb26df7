"""Each seat's memberships as Asterisk has them: the queues it is in, paused in which (with
the reason) and its last call (``shared_lastcall``: one for every queue). The seat's rest and
pause in each queue and its one state outside a call follow from them (:mod:`queue_manager.rest`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from queue_manager import seats as sm
from queue_manager.rest import LastCall, QueueStanding, Standing, standing, standings


class MemberBook:
    def __init__(self, seats: Iterable[str], wrapup_s: Mapping[str, int]) -> None:
        self.queues: dict[str, set[str]] = {s: set() for s in seats}
        self.paused: dict[str, dict[str, str | None]] = {s: {} for s in self.queues}
        self.last: dict[str, LastCall] = {}
        self._wrapup_s = dict(wrapup_s)

    def join(self, seat_id: str, queue: str, paused: bool, reason: str | None) -> None:
        self.queues[seat_id].add(queue)
        self.set_paused(seat_id, queue, paused, reason)

    def leave(self, seat_id: str, queue: str) -> None:
        self.queues[seat_id].discard(queue)
        self.paused[seat_id].pop(queue, None)

    def leave_all(self, seat_id: str) -> set[str]:
        left = set(self.queues[seat_id])
        self.queues[seat_id].clear()
        self.paused[seat_id].clear()
        return left

    def set_paused(self, seat_id: str, queue: str | None, paused: bool, reason: str | None = None) -> None:
        """``queue`` None: every queue the seat is in (QueuePause without a queue)."""
        for q in (self.queues[seat_id] if queue is None else {queue}):
            if paused:
                self.paused[seat_id][q] = reason or None
            else:
                self.paused[seat_id].pop(q, None)

    def paused_in(self, seat_id: str) -> set[str]:
        return set(self.paused[seat_id]) & self.queues[seat_id]

    def call_ended(self, seat_id: str, ended_at: float, queue: str | None) -> None:
        self.last[seat_id] = LastCall(ended_at, queue)

    def last_call_seen(self, seat_id: str, lastcall: float) -> None:
        """``QueueStatus``'s ``LastCall`` (whole seconds): the queue is kept when it is the call we know."""
        known = self.last.get(seat_id)
        if not lastcall:
            return
        if known is None or int(known.ended_at) != int(lastcall):
            self.last[seat_id] = LastCall(lastcall, None)

    def standings(self, seat_id: str, now: float) -> list[QueueStanding]:
        return standings(self.queues[seat_id], {q: r for q, r in self.paused[seat_id].items()
                                                if q in self.queues[seat_id]},
                         self.last.get(seat_id), self._wrapup_s, now)

    def standing(self, seat_id: str, now: float) -> Standing:
        return standing(self.standings(seat_id, now))

    def can_offer(self, seat_id: str, queue: str, now: float) -> bool:
        """In ``queue``, not paused there and not resting there."""
        return any(s.queue == queue and not s.paused and s.wrapup_until is None
                   for s in self.standings(seat_id, now))


def _moved(seat: sm.Seat, state: sm.SeatState, now: float, **changes: Any) -> sm.Seat:
    return replace(seat, state=state, since=seat.since if state == seat.state else now, **changes)


def settled(seat: sm.Seat, book: MemberBook, device_call: sm.SeatState | None, now: float) -> sm.Seat:
    """``seat`` in the state its memberships give (:func:`queue_manager.rest.standing`): paused in
    every queue, else on its call, else resting in every queue it is not paused in, else idle.
    ``device_call``: the call state the seat's device shows (a pause during a call holds for the next one)."""
    st = book.standing(seat.seat_id, now)
    if st.state == sm.SeatState.logged_out:
        return seat if seat.state == sm.SeatState.logged_out else sm.Seat(seat.seat_id, sm.SeatState.logged_out, now)
    if seat.state == sm.SeatState.logged_out:
        seat = sm.login(seat, now)
    call = seat.state if seat.state in (sm.SeatState.ringing, sm.SeatState.talking) else (
        device_call if seat.state == sm.SeatState.paused and seat.call_id else None)
    if st.state == sm.SeatState.paused:
        reasons = set(book.paused[seat.seat_id].values())
        reason = seat.reason if seat.state == sm.SeatState.paused and seat.reason in reasons else st.reason
        return _moved(seat, sm.SeatState.paused, now, reason=reason, call_id=seat.call_id if call else None)
    unanswered = 0 if seat.state == sm.SeatState.paused else seat.unanswered
    if call is not None:
        return _moved(seat, call, now, reason=None, unanswered=unanswered)
    keep_call = st.state == sm.SeatState.wrapup and seat.state == sm.SeatState.wrapup
    return _moved(seat, st.state, now, reason=None, unanswered=unanswered,
                  call_id=seat.call_id if keep_call else None)
