"""The seat's screen pop on the real rig (issue 13): a caller from +8613812345678 dials 12345 after
an earlier call from 013812345678; while a seat's phone rings, ``GET /api/seats/{seat}/pop``
returns the live call (Linkedid, ringing, queue, dialled number), the caller's place and carrier,
and the earlier call found by person key; the seat user reads its own pop and not the other's."""

from __future__ import annotations

import subprocess
from typing import Any

from .rig import SEATS, Stack, http_json, wait_for

EARLIER, NOW = "013812345678", "+8613812345678"
RING_MS = 8000   # the seat phones ring this long before they answer: time to read the pop while ringing


def _restart_seat_phones(stack: Stack, ring_ms: int) -> None:
    if stack.seat_uas is not None and stack.seat_uas.poll() is None:
        stack.seat_uas.terminate()
        stack.seat_uas.wait(10)
    stack.start_seats(ring_ms=ring_ms)


def _pop(stack: Stack, seat: str, user: str = "admin") -> tuple[int, Any]:
    return http_json("GET", f"{stack.api}/api/seats/{seat}/pop?calls=5", user=user)


def _ringing(stack: Stack) -> tuple[str, dict[str, Any]] | None:
    for seat in SEATS:
        code, body = _pop(stack, seat)
        assert code == 200, body
        call = body["call"]
        if call is not None and call["state"] == "ringing" and call["caller_number"] == NOW:
            return seat, body
    return None


def test_pop_shows_the_ringing_call_and_the_callers_earlier_calls(stack: Stack) -> None:
    r = stack.call("12345", EARLIER, talk_ms=1500)
    assert r.returncode == 0, r.stdout[-800:]
    earlier = stack.record_for(EARLIER)
    _restart_seat_phones(stack, RING_MS)
    caller: subprocess.Popen[bytes] | None = None
    try:
        caller = stack.start_call("12345", NOW, talk_ms=60000)
        seat, pop = wait_for("a seat's pop with the ringing call", lambda: _ringing(stack), timeout=30)
        call = pop["call"]
        assert call["queue"] == "hotline" and call["dialled_number"] == "12345" and call["seat"] == seat
        assert call["call_id"] and call["call_id"] != earlier["call_id"]
        assert call["waited_seconds"] is not None and call["waited_seconds"] >= 0
        assert (call["location"]["province"], call["location"]["city"], call["location"]["carrier"]) == (
            "江苏省", "连云港市", "中国移动")
        history = pop["history"]
        assert history["ok"] is True
        assert [(c["call_id"], c["caller_number"]) for c in history["calls"]][:1] == [(earlier["call_id"], EARLIER)]
        assert pop["order_prefill"] == {"call_ids": [call["call_id"]], "created_by": seat}
        # the seat's own user: its ringing call in full; another seat's pop: forbidden
        code, own = _pop(stack, seat, user=f"seat{seat}")
        assert code == 200 and own["call"]["call_id"] == call["call_id"] and own["call"]["caller_number"] == NOW
        other = next(s for s in SEATS if s != seat)
        code, refused = _pop(stack, seat, user=f"seat{other}")
        assert (code, refused["error_id"]) == (403, "forbidden")
        # the phone answers: the same call, talking
        talking = wait_for("the call answered", lambda: (lambda b: b["call"] if b["call"] and b["call"]["state"]
                                                         == "talking" else None)(_pop(stack, seat)[1]), timeout=30)
        assert talking["call_id"] == call["call_id"]
    finally:
        if caller is not None and caller.poll() is None:
            caller.terminate()
            caller.wait(10)
        stack.end_all_calls()
        _restart_seat_phones(stack, 300)
