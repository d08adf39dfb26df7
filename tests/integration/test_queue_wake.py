"""A freed seat wakes its next caller (hotline/seats/nudge.py) on a real Asterisk.

Seat 1002 (queue ``wakeq``) talks to one caller while a second waits; when the first hangs up, the
controller presses a received ``D`` on the waiting caller's channel (AMI ``PlayDTMF``, allowed by
the controller's least-privilege AMI account), app_queue goes round at once and the seat takes the
second caller. The records come from the store; /status is read once, at the end, for the count of
callers woken. How much sooner the seat rings is measured in bench/ (seats100), not here."""

from __future__ import annotations

from typing import Any

from .rig import SEAT_TEST_NUMBERS, http_json, wait_for

FIRST, SECOND = "13900005101", "13900005102"


def test_a_seat_freed_by_a_hang_up_wakes_the_waiting_caller(stack: Any) -> None:
    number = SEAT_TEST_NUMBERS["wakeq"]
    _, before = http_json("GET", f"{stack.api}/status")
    first = stack.start_call(number, FIRST, talk_ms=5000)   # seat 1002 answers and talks 5 s
    try:
        wait_for("seat 1002 talking to the first caller",
                 lambda: any(name.startswith("PJSIP/1002-") and bridge for name, bridge in stack.channels().items()))
        # answered by the queue at once (music), it waits for the seat and stays 20 s from its arrival
        second = stack.call(number, SECOND, talk_ms=20000, timeout=60)
        assert second.returncode == 0, second.stdout[-800:]
    finally:
        first.wait(timeout=60)
    a, b = stack.record_for(FIRST), stack.record_for(SECOND)
    assert (a["outcome"], a["seat"], b["outcome"], b["seat"]) == ("answered", "1002", "answered", "1002"), (a, b)
    _, after = http_json("GET", f"{stack.api}/status")
    woken = {k: after["seats"]["wake"][k] - before["seats"]["wake"][k] for k in ("woken", "failed")}
    assert woken["woken"] >= 1 and woken["failed"] == 0, (before["seats"]["wake"], after["seats"]["wake"])
