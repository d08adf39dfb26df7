"""A freed seat rings its next caller at once (hotline/seats/nudge.py) on a real Asterisk.

The queue ``wakeq`` (seat 1002) re-checks a waiting caller's turn only every 30 s (``retry``), so
when its seat hangs up on one caller, app_queue alone would ring the next caller up to 30 s later;
the controller wakes that caller (a received ``D`` on its channel) and the seat rings at once. The
bound checked (10 s after the first call ended) is a third of that retry: it tells the two apart,
it measures no speed (bench/ does). Reads the records, never /status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .rig import SEAT_TEST_NUMBERS, WAKE_RETRY_S, wait_for

FIRST, SECOND = "13900005101", "13900005102"


def test_a_seat_freed_by_a_hang_up_rings_the_waiting_caller_at_once(stack: Any) -> None:
    number = SEAT_TEST_NUMBERS["wakeq"]
    first = stack.start_call(number, FIRST, talk_ms=5000)   # seat 1002 answers and talks 5 s
    try:
        wait_for("seat 1002 talking to the first caller",
                 lambda: any(name.startswith("PJSIP/1002-") and bridge for name, bridge in stack.channels().items()))
        second = stack.call(number, SECOND, talk_ms=1000, timeout=3 * WAKE_RETRY_S)   # waits for the seat
        assert second.returncode == 0, second.stdout[-800:]
    finally:
        first.wait(timeout=60)
    a, b = stack.record_for(FIRST), stack.record_for(SECOND)
    assert (a["outcome"], a["seat"], b["outcome"], b["seat"]) == ("answered", "1002", "answered", "1002"), (a, b)
    freed, rung = datetime.fromisoformat(a["ended_at"]), datetime.fromisoformat(b["answered_at"])
    assert (rung - freed).total_seconds() < WAKE_RETRY_S / 3, (a, b)
