"""An Asterisk that died and stays dead (issue 14: a node behind the edge): its calls in progress
are closed once the AMI connection has been lost a while and no Asterisk process runs, at the
time the connection dropped; never while Asterisk runs (hung) or the connection is back."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from hotline.calls.downtime import AsteriskLosses
from hotline.records.call import CallRecord, Outcome

from test_restart_cut import ANSWERED_ID, ANSWERED_UP, LAST_ANSWERED_T, events, tracker

EVERY = 0.01


async def _run(losses: AsteriskLosses, *, connected: bool, running: bool, rounds: int = 10,
               dead_after: float = 3.0) -> list[float]:
    """``close_when_dead`` for ``rounds`` rounds; the times it cut at."""
    cuts: list[float] = []

    def cut(now: float) -> int:
        cuts.append(now)
        return 1

    task = asyncio.ensure_future(losses.close_when_dead(lambda: connected, lambda: 1.0 if running else None, cut,
                                                        every=EVERY, dead_after=dead_after))
    await asyncio.sleep(EVERY * rounds)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return cuts


@pytest.mark.parametrize(("case", "lost_ago", "connected", "running", "cut"), [
    ("lost long enough, no process: cut once", 10.0, False, False, 1),
    ("lost a moment ago: not yet", 0.0, False, False, 0),
    ("connection back: nothing to cut", 10.0, True, False, 0),
    ("process runs (hung, or back and not logged in): left alone", 10.0, False, True, 0),
    ("never lost: nothing", None, False, False, 0),
])
async def test_when_the_calls_of_a_lost_asterisk_are_cut(tmp_path: Path, case: str, lost_ago: float | None,
                                                          connected: bool, running: bool, cut: int) -> None:
    losses = AsteriskLosses(tmp_path / "asterisk.lost")
    if lost_ago is not None:
        losses.note(time.time() - lost_ago)
    assert len(await _run(losses, connected=connected, running=running)) == cut, case


async def test_each_loss_is_cut_once_and_a_new_loss_again(tmp_path: Path) -> None:
    losses = AsteriskLosses(tmp_path / "asterisk.lost")
    losses.note(time.time() - 10)
    cuts: list[float] = []

    def cut(now: float) -> int:
        cuts.append(now)
        return 0

    task = asyncio.ensure_future(losses.close_when_dead(lambda: False, lambda: None, cut, every=EVERY, dead_after=1))
    await asyncio.sleep(EVERY * 10)
    assert len(cuts) == 1
    losses.note(time.time() - 5)   # back, and lost again
    await asyncio.sleep(EVERY * 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(cuts) == 2


async def test_a_failing_cut_does_not_end_the_watch(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    losses = AsteriskLosses(tmp_path / "asterisk.lost")
    losses.note(time.time() - 10)
    tries: list[float] = []

    def cut(now: float) -> int:
        tries.append(now)
        raise RuntimeError("store gone")

    task = asyncio.ensure_future(losses.close_when_dead(lambda: False, lambda: None, cut, every=EVERY))
    await asyncio.sleep(EVERY * 10)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert tries and "closing the calls of a dead Asterisk failed" in caplog.text


async def test_a_talking_call_of_a_dead_asterisk_is_recorded_at_the_loss(tmp_path: Path) -> None:
    """With the real tracker: the call talking when Asterisk died is closed answered, its talk
    running to the moment the controller lost Asterisk, and shown as live no more."""
    sink: list[CallRecord] = []
    t = tracker(sink)
    losses = AsteriskLosses(tmp_path / "asterisk.lost")
    t.lost_at = losses.between
    for e in events(ANSWERED_UP):
        t.add(e)
    lost = LAST_ANSWERED_T + 42
    losses.note(lost)
    task = asyncio.ensure_future(losses.close_when_dead(lambda: False, lambda: None, t.cut_before, every=EVERY))
    await asyncio.sleep(EVERY * 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [r.call_id for r in sink] == [ANSWERED_ID]
    record = sink[0]
    assert record.outcome is Outcome.answered and record.seat == "1001"
    assert record.ended_at is not None and record.ended_at.timestamp() == pytest.approx(lost)
    assert record.extra["cut_end"] == "ami_lost"
    assert t.live_calls() == []
