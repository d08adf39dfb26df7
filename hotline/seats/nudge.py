"""A freed seat rings at once (issue 14, item 5: free-seat-to-ring p99 under 1 s).

app_queue looks at a waiting caller's turn again only once a ``retry`` (1 s, its minimum) at the
head of the queue and once a second behind it; nothing in Asterisk wakes it when a seat becomes
free, so a freed seat used to wait up to a second, more under load, for its next ring. Both waits
are a wait for a key press on the caller's channel (``ast_waitfordigit``), and a key that is no exit
of the queue makes app_queue go round at once. So when a seat of a queue becomes free, the
controller "presses" :data:`WAKE_KEY` on the channel of the first caller of that queue who is not
already ringing a seat (AMI ``PlayDTMF`` with ``Receive``: as if the caller had pressed it; the
caller hears nothing). A queue's callback key is a digit (``0-9``), never ``D``.

A seat is free for a queue when its device becomes not in use (but not when it only stops ringing:
a ring nobody answered keeps the queue's own ``retry`` wait), when it is unpaused or logged in
while not in use, and when its wrap-up ends (app_queue has no event for that: the end is
``wrapuptime`` whole seconds after the second the call ended, :func:`queue_manager.seats.
asterisk_wrapuptime`). The callers' order is app_queue's own, from its join and leave events. A
caller is woken at most once every :data:`MIN_GAP_S`; a failed action (the caller just left) is
counted and dropped: app_queue's own re-check stays the fallback.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from hotline.ami import actions
from hotline.seats.snapshot import DEVICE, QueueLive

log = logging.getLogger(__name__)

WAKE_KEY = "D"
MIN_GAP_S = 0.1
WRAPUP_MARGIN_S = 0.05   # after the wrap-up's last second, so app_queue's clock has passed it


class QueueNudge:
    """Follows the queue events of one Asterisk and wakes the caller whose turn a freed seat is."""

    def __init__(self, ami_send: Callable[..., Awaitable[Any]], wrapuptime: dict[str, int], *,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self._send = ami_send
        self._wrapuptime = wrapuptime   # queue -> queues.conf's wrapuptime (whole seconds)
        self._clock = clock
        self._wall = wall
        self.callers: dict[str, list[str]] = {}   # queue -> caller channels in app_queue's order
        self.ringing: set[str] = set()            # callers being offered to a seat now
        self._woken: dict[str, float] = {}        # caller channel -> when it was last woken
        self._status: dict[tuple[str, str], str] = {}   # (queue, member interface) -> its last device state
        self._tasks: set[asyncio.Task[None]] = set()
        self.stats = {"woken": 0, "failed": 0, "no_caller": 0}
        self._stopped = False   # a wrap-up's end scheduled before the stop wakes nobody after it

    # -- events ----------------------------------------------------------------------------------
    def on_ami_event(self, h: dict[str, str]) -> None:
        name = h.get("Event", "")
        queue, channel = h.get("Queue", ""), h.get("Channel", "")
        if name == "QueueCallerJoin" and queue and channel:
            line = self.callers.setdefault(queue, [])
            if channel not in line:
                line.insert(max(0, _int(h.get("Position"), len(line) + 1) - 1), channel)
        elif name in ("QueueCallerLeave", "QueueCallerAbandon"):
            self._left(queue, channel)
        elif name == "AgentCalled":
            if len(self.ringing) > 2 * sum(len(line) for line in self.callers.values()) + 100:   # leaves missed
                self.ringing &= {c for line in self.callers.values() for c in line}
            self.ringing.add(channel)
        elif name in ("AgentRingNoAnswer", "AgentConnect", "AgentDump"):
            self.ringing.discard(channel)
        elif name in ("QueueMemberStatus", "QueueMemberAdded", "QueueMemberPause"):
            member, device = (queue, h.get("Interface", "")), DEVICE.get(h.get("Status", ""), "unknown")
            before, self._status[member] = self._status.get(member), device
            # not in use and not paused; not the end of a ring nobody answered: then the queue's own
            # retry wait stands (a seat that did not answer is not rung again at once)
            ring_ended = name == "QueueMemberStatus" and before == "ringing"
            if device == "not_inuse" and h.get("Paused") == "0" and not ring_ended:
                self.wake(queue)
        elif name == "AgentComplete":
            wrapup = self._wrapuptime.get(queue, 0)
            if wrapup > 0:   # free again at the second the call ended plus wrapuptime
                delay = math.floor(self._wall()) + wrapup - self._wall() + WRAPUP_MARGIN_S
                asyncio.get_running_loop().call_later(max(0.0, delay), self.wake, queue)

    def _left(self, queue: str, channel: str) -> None:
        line = self.callers.get(queue)
        if line is not None and channel in line:
            line.remove(channel)
            if not line:
                del self.callers[queue]
        self.ringing.discard(channel)
        self._woken.pop(channel, None)

    def _forget(self, channel: str) -> None:
        """A caller whose wake failed: gone (its leave missed while AMI was away) or unreachable.
        Forgotten, so a stale caller never stays first in line; app_queue's own re-check remains."""
        for queue in [q for q, line in self.callers.items() if channel in line]:
            self._left(queue, channel)
        self.ringing.discard(channel)
        self._woken.pop(channel, None)

    def reseed(self, queues: Iterable[QueueLive]) -> None:
        """The callers waiting now, as the seat service read them from ``QueueStatus`` after a
        (re)connect: callers who joined while the controller was away are woken too, those who left
        are forgotten. Who is ringing is not in that reply: nobody counts as ringing (a ringing
        caller woken by mistake hears nothing and stays where it is)."""
        lines = {q.name: [e.channel for e in q.in_line() if e.channel] for q in queues}
        self.callers = {name: line for name, line in lines.items() if line}
        self.ringing.clear()
        waiting = {c for line in self.callers.values() for c in line}
        self._woken = {c: t for c, t in self._woken.items() if c in waiting}

    # -- waking ----------------------------------------------------------------------------------
    def next_caller(self, queue: str) -> str | None:
        """The first caller of ``queue`` not ringing a seat and not woken in the last
        :data:`MIN_GAP_S` (a second seat freed at once wakes the next caller)."""
        now = self._clock()
        for channel in self.callers.get(queue, ()):
            if channel not in self.ringing and now - self._woken.get(channel, -math.inf) >= MIN_GAP_S:
                return channel
        return None

    def wake(self, queue: str) -> str | None:
        """Wake the caller whose turn a seat just freed in ``queue`` is; the channel, or None."""
        channel = None if self._stopped else self.next_caller(queue)
        if channel is None:
            self.stats["no_caller"] += 1
            return None
        self._woken[channel] = self._clock()
        task = asyncio.get_running_loop().create_task(self._press(channel))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return channel

    async def _press(self, channel: str) -> None:
        try:
            # as_list=False: panoramisk would take "DTMF successfully queued" for the start of a list
            await self._send(actions.play_dtmf(channel, WAKE_KEY, receive=True), as_list=False)
            self.stats["woken"] += 1
        except Exception as exc:   # the caller left meanwhile, AMI away: app_queue's own re-check remains
            self.stats["failed"] += 1
            self._forget(channel)
            log.info("queue nudge: %s not woken (%r)", channel, exc)

    def stop(self) -> None:
        self._stopped = True
        for task in self._tasks:
            task.cancel()

    def status(self) -> dict[str, Any]:
        return {**self.stats, "waiting": sum(len(v) for v in self.callers.values()), "ringing": len(self.ringing)}


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or "")
    except ValueError:
        return default
