"""Background bookkeeping of a service: coroutines spawned on the running loop and forgotten by
their caller (a call record's effect on a 回访 or callback task), kept until they end.

:class:`Background` is what :mod:`hotline.revisits.services` and :mod:`hotline.callbacks.services`
share: :meth:`~Background.spawn` runs a coroutine guarded so that one failure never stops the next
(a :class:`hotline.exceptions.StoreError` is logged as postponed: the coroutine's own retry or the
service's next round takes it up; anything else is logged with its traceback);
:meth:`~Background.settle` waits until none is left (tests, a clean hand-over);
:meth:`~Background.stop` cancels them and waits for them to end (the service's stop).
:func:`every` is the services' periodic round (the 回访 and duty-phone ticks, the 督办 sweep, the
hotspot round); with a :class:`Duty` it runs a round only while this controller holds the duty's
lease (:mod:`hotline.store.leases`: several controllers on one store).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from hotline.exceptions import StoreError


class Background:
    def __init__(self, log: logging.Logger, what: str) -> None:
        self._log = log
        self._what = what              # "回访 bookkeeping": how the log names the work
        self._pending: set[asyncio.Future[Any]] = set()

    @property
    def pending(self) -> tuple[asyncio.Future[Any], ...]:
        """What is spawned and not yet ended."""
        return tuple(self._pending)

    def spawn(self, coro: Awaitable[None]) -> None:
        """Run ``coro`` on the running loop, guarded; kept until it ends."""
        task = asyncio.ensure_future(self._guard(coro))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _guard(self, coro: Awaitable[None]) -> None:
        try:
            await coro
        except StoreError as exc:
            self._log.warning("%s postponed: %s", self._what, exc.message)
        except Exception:   # one bad event must not stop the next
            self._log.exception("%s failed", self._what)

    async def settle(self) -> None:
        """Wait until nothing is pending (work spawned meanwhile included)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def stop(self) -> None:
        """Cancel what is pending and wait for it to end."""
        for task in list(self._pending):
            task.cancel()
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)


class Duty:
    """One site-wide duty of this controller: :meth:`held` before each round. ``hold`` is
    :meth:`hotline.store.leases.DutyLeases.hold`; the lease lasts ``ttl_s`` (a few rounds)."""

    def __init__(self, name: str, hold: Callable[[str, dt.timedelta], bool], ttl_s: float,
                 log: logging.Logger) -> None:
        self.name = name
        self._hold = hold
        self._ttl = dt.timedelta(seconds=ttl_s)
        self._log = log
        self.holding: bool | None = None   # None: not asked yet

    async def held(self) -> bool:
        try:
            now = await asyncio.to_thread(self._hold, self.name, self._ttl)
        except StoreError as exc:   # no database: no round here (it would fail); the lease lapses
            self._log.warning("%s: lease not checked (%s); round skipped", self.name, exc.message)
            now = False
        if now != self.holding:
            self._log.info("%s: %s", self.name, "this controller runs it" if now else "another controller runs it")
        self.holding = now
        return now


def runs_here(duty: Duty | None) -> bool | None:
    """For ``/status``: whether this controller runs the round (no duty: it always does; None: a
    controller of several that has not asked yet)."""
    return True if duty is None else duty.holding


async def every(interval: float, step: Callable[[], Awaitable[object]], log: logging.Logger, what: str,
                duty: Duty | None = None) -> None:
    """``step()`` every ``interval`` seconds until cancelled, while this controller holds ``duty``
    (if given); a failing round is logged (a :class:`StoreError` as skipped) and the next one runs."""
    while True:
        await asyncio.sleep(interval)
        if duty is not None and not await duty.held():
            continue
        try:
            await step()
        except StoreError as exc:
            log.warning("%s skipped (%s)", what, exc.message)
        except Exception:
            log.exception("%s failed", what)
