"""A seat whose phone Asterisk cannot reach is logged out of its queues after a while.

A browser seat that loses its network, a desk phone unplugged, a remote seat's VPN down: Asterisk
marks the device ``unavailable`` (qualify failed, contact expired) and stops ringing it, but the
seat still counts as logged in, so the wallboard shows staff that is not there and a seat that
comes back hours later takes calls without having said so. After
``seat_rules.unreachable_logout_after`` seconds unreachable without a break (0: never) the seat
service logs the seat out, as if it had done it itself; the seat logs in again when it is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

UNREACHABLE = frozenset({"unavailable", "invalid"})   # Asterisk's device states of a phone it cannot reach


class UnreachableWatch:
    """One timer per seat, started when a logged-in seat's device becomes unreachable and
    cancelled when it is reachable again or logged out. ``logout`` is the seat service's."""

    def __init__(self, after_s: int, logout: Callable[[str], Awaitable[object]]) -> None:
        self._after_s = after_s
        self._logout = logout
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.logouts = 0

    def seen(self, seat_id: str, device: str, logged_in: bool) -> None:
        """The seat's device state and login as the seat service now has them."""
        if self._after_s <= 0:
            return
        if logged_in and device in UNREACHABLE:
            if seat_id not in self._timers:
                self._timers[seat_id] = asyncio.get_running_loop().call_later(self._after_s, self._due, seat_id)
        else:
            timer = self._timers.pop(seat_id, None)
            if timer is not None:
                timer.cancel()

    def pending(self) -> list[str]:
        return sorted(self._timers)

    def _due(self, seat_id: str) -> None:
        self._timers.pop(seat_id, None)
        task = asyncio.ensure_future(self._log_out(seat_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _log_out(self, seat_id: str) -> None:
        try:
            await self._logout(seat_id)
        except Exception:   # already logged out by hand, AMI down: the next change starts over
            log.exception("logging out unreachable seat %s failed", seat_id)
            return
        self.logouts += 1
        log.warning("seat %s logged out: its phone was unreachable for %d s", seat_id, self._after_s)

    def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()
