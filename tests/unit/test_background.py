"""hotline.background.Background, the spawn/guard/drain helper the 回访 and callback services share:
a StoreError is logged as postponed and the next work still runs; any other error is logged with its
traceback; settle waits for work spawned meanwhile; stop cancels what is pending and waits."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hotline.background import Background, every
from hotline.exceptions import StoreError

log = logging.getLogger("test.background")


async def test_failures_are_logged_and_the_next_work_runs(caplog: pytest.LogCaptureFixture) -> None:
    bg = Background(log, "test bookkeeping")
    done: list[str] = []

    async def store_down() -> None:
        raise StoreError("database down")

    async def broken() -> None:
        raise RuntimeError("bug")

    async def fine() -> None:
        done.append("fine")
    with caplog.at_level(logging.INFO, logger="test.background"):
        for work in (store_down(), broken(), fine()):
            bg.spawn(work)
        await bg.settle()
    assert done == ["fine"] and bg.pending == ()
    messages = [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert any(level == "WARNING" and text.startswith("test bookkeeping postponed:") and "database down" in text
               and not trace for level, text, trace in messages), messages
    assert any(m == ("ERROR", "test bookkeeping failed", True) for m in messages)


async def test_settle_waits_for_work_spawned_meanwhile() -> None:
    bg = Background(log, "test")
    done: list[int] = []

    async def second() -> None:
        await asyncio.sleep(0)
        done.append(2)

    async def first() -> None:
        done.append(1)
        bg.spawn(second())
    bg.spawn(first())
    await bg.settle()
    assert done == [1, 2]


async def test_stop_cancels_what_is_pending() -> None:
    bg = Background(log, "test")
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
    bg.spawn(forever())
    await started.wait()
    await bg.stop()
    assert cancelled.is_set() and bg.pending == ()


async def test_every_round_runs_after_a_failing_one(caplog: pytest.LogCaptureFixture) -> None:
    """every(): a StoreError round is logged as skipped, any other error with its traceback, and
    the rounds go on until cancelled."""
    rounds: list[str] = []
    outcomes = [StoreError("database down"), RuntimeError("bug"), None, None]

    async def step() -> None:
        outcome = outcomes[len(rounds)] if len(rounds) < len(outcomes) else None
        rounds.append(type(outcome).__name__)
        if outcome is not None:
            raise outcome

    with caplog.at_level(logging.INFO, logger="test.background"):
        runner = asyncio.ensure_future(every(0, step, log, "test tick"))
        while len(rounds) < 4:
            await asyncio.sleep(0)
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner
    assert rounds[:4] == ["StoreError", "RuntimeError", "NoneType", "NoneType"]
    messages = [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert messages == [("WARNING", "test tick skipped (database down)", False), ("ERROR", "test tick failed", True)]
