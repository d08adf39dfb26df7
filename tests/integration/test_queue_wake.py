"""A freed seat wakes its next caller (hotline/seats/nudge.py) on a real Asterisk.

Seat 1002 (queue ``wakeq``) talks to one caller while a second waits; when the first hangs up, the
controller presses a received ``D`` on the waiting caller's channel (AMI ``PlayDTMF``, allowed by
the controller's least-privilege AMI account), app_queue goes round at once and the seat takes the
second caller. The records come from the store; /status is read once, at the end, for the count of
callers woken. How much sooner the seat rings is measured in bench/ (seats100), not here."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
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


def test_a_caller_who_waited_through_a_controller_restart_is_woken_too(stack: Any) -> None:
    """The new controller learns the waiting callers from QueueStatus at its AMI login, so the
    seat freed after the restart wakes a caller who joined before it."""
    number, first_caller, second_caller = SEAT_TEST_NUMBERS["wakeq"], "13900005103", "13900005104"
    first = stack.start_call(number, first_caller, talk_ms=20000)   # long enough for the restart
    with ThreadPoolExecutor(1) as pool:
        try:
            wait_for("seat 1002 talking to the first caller",
                     lambda: any(n.startswith("PJSIP/1002-") and bridge for n, bridge in stack.channels().items()))
            second = pool.submit(stack.call, number, second_caller, talk_ms=35000, timeout=120)   # outlasts the first
            wait_for("the second caller waiting in wakeq",
                     lambda: "wait:" in stack.cli("queue show wakeq").split("Callers", 1)[-1])
            stack.stop_controller()
            stack.start_controller()
            # learnt from the re-sync after the login (not seen joining), well before the seat frees
            wait_for("the waiting caller known to the new controller",
                     lambda: stack.status()["seats"]["wake"]["waiting"] >= 1, timeout=10, interval=0.2)
            assert second.result(timeout=150).returncode == 0
        finally:
            first.wait(timeout=90)
    a, b = stack.record_for(first_caller), stack.record_for(second_caller)
    assert (a["outcome"], a["seat"], b["outcome"], b["seat"]) == ("answered", "1002", "answered", "1002"), (a, b)
    wake = stack.status()["seats"]["wake"]
    assert wake["woken"] >= 1 and wake["failed"] == 0, wake
