"""Real calls through the carrier trunk into the 12345 queue, read back through the API."""

from __future__ import annotations

import re
import socket
import wave

from .rig import AGI_PORT, Stack, http_json, wait_for


def test_call_to_12345_reaches_a_seat_and_lands_as_one_record(stack: Stack) -> None:
    r = stack.call("12345", "13900000001", talk_ms=3000)
    assert r.returncode == 0, r.stdout[-800:]
    rec = stack.record_for("13900000001")
    assert rec["outcome"] == "answered"
    assert rec["dialled_number"] == "12345"
    assert rec["legacy_mode"] is None
    assert rec["seat"] in {"1001", "1002"}
    assert rec["queue"] == "hotline"
    assert rec["trunk"] == "carrier"
    assert 0 <= rec["wait_seconds"] < 5
    # the caller hangs up 3 s after our Answer(); the seat answered after ringing ~0.3 s
    assert 1.0 < rec["talk_seconds"] < 3.5
    assert rec["hangup_cause"] == 16
    assert rec["recording"] == f"{rec['call_id']}.wav"
    with wave.open(str(stack.recording(rec))) as w:
        assert w.getframerate() == 8000
        assert w.getnframes() > 8000  # more than a second of the conversation
    # exactly one record for this conversation, readable by id
    assert [c["call_id"] for c in stack.calls()].count(rec["call_id"]) == 1
    code, one = http_json("GET", f"{stack.api}/api/calls/{rec['call_id']}")
    assert code == 200 and one["call_id"] == rec["call_id"]


def test_merged_legacy_number_reaches_the_same_seats_and_keeps_its_number(stack: Stack) -> None:
    r = stack.call("83531111", "13900000002", talk_ms=2500)
    assert r.returncode == 0, r.stdout[-800:]
    rec = stack.record_for("13900000002")
    assert rec["outcome"] == "answered"
    assert rec["dialled_number"] == "83531111"
    assert rec["legacy_mode"] == "merged"
    assert rec["department"] == "chengjian"
    assert rec["seat"] in {"1001", "1002"}
    code, page = http_json("GET", f"{stack.api}/api/calls?dialled_number=83531111")
    assert code == 200 and rec["call_id"] in [c["call_id"] for c in page["items"]]


def test_caller_who_hangs_up_while_queued_is_an_abandon(stack: Stack) -> None:
    # 85000000 belongs to a department whose queue has no seats: the caller waits, then gives up.
    r = stack.call("85000000", "13900000003", talk_ms=2000, scenario="caller_hangs_up.xml")
    assert r.returncode == 0, r.stdout[-800:]
    rec = stack.record_for("13900000003")
    assert rec["outcome"] == "abandoned_in_queue"
    assert rec["queue"] == "empty"
    assert rec["seat"] is None and rec["answered_at"] is None
    assert 1.0 < rec["wait_seconds"] < 4  # the caller gave up 2 s after being answered
    assert rec["recording"] is None


def test_unknown_dialled_number_still_reaches_the_hotline(stack: Stack) -> None:
    r = stack.call("99999999", "13900000004", talk_ms=2000)
    assert r.returncode == 0, r.stdout[-800:]
    rec = stack.record_for("13900000004")
    assert rec["outcome"] == "answered"
    assert rec["dialled_number"] == "99999999"
    assert rec["legacy_mode"] == "unknown"


def test_hostile_caller_id_is_sanitised_and_the_call_goes_on(stack: Stack) -> None:
    # An escaped CR/LF and AMI header text in the SIP user part: Asterisk unescapes it into
    # CALLERID(num), so it reaches CEL, AMI and the dialplan as a raw line break.
    before = {c["call_id"] for c in stack.calls()}
    hostile = "139%0D%0AEvent:%20Fake%0D%0A00000005"
    r = stack.call("12345", hostile, talk_ms=2000)
    assert r.returncode == 0, r.stdout[-800:]
    rec = wait_for("the hostile caller's record",
                   lambda: next((c for c in stack.calls() if c["call_id"] not in before), None))
    assert rec["outcome"] == "answered"
    assert re.fullmatch(r"[0-9]{1,32}", rec["caller_number"]), rec["caller_number"]
    status = stack.status()
    assert status["ami"]["ok"] and status["ami"]["handler_errors"] == 0
    # the same call rebuilt from the CEL log (whose JSON line the raw CR/LF split) is the same record
    state = stack.paths.state_dir
    stack.stop_controller()
    (state / "cel.offset").write_text("0\n")  # a new controller reads the whole CEL log again
    stack.start_controller()
    again = wait_for("the reconciled record", lambda: (lambda c: c if c["source"] == "cel-reconcile" else None)(
        http_json("GET", f"{stack.api}/api/calls/{rec['call_id']}")[1]))
    assert again["caller_number"] == rec["caller_number"]
    assert again["outcome"] == "answered" and again["seat"] == rec["seat"]


def test_fastagi_survives_silent_and_garbage_clients(stack: Stack) -> None:
    before = stack.status()["fastagi"]["commands"]
    silent = socket.create_connection(("127.0.0.1", AGI_PORT))
    garbage = socket.create_connection(("127.0.0.1", AGI_PORT))
    garbage.sendall(b"\x00\xff agi_request: \r\n" * 50 + b"agi_network_script: inbound?dialled=12345\n\n"
                    b"200 result=1\nHANGUP\n")
    garbage.close()
    r = stack.call("12345", "13900000006", talk_ms=2000)
    silent.close()
    assert r.returncode == 0, r.stdout[-800:]
    rec = stack.record_for("13900000006")
    assert rec["outcome"] == "answered"
    assert stack.status()["fastagi"]["ok"] is True
    assert stack.status()["fastagi"]["commands"] > before


def test_call_while_controller_is_down_reaches_a_seat_and_is_reconciled(stack: Stack) -> None:
    stack.stop_controller()
    try:
        r = stack.call("12345", "13900000007", talk_ms=2500)
        assert r.returncode == 0, r.stdout[-800:]
    finally:
        stack.start_controller()
    rec = stack.record_for("13900000007")
    assert rec["outcome"] == "answered"  # fail-open: the queue took the call without FastAGI
    assert rec["seat"] in {"1001", "1002"}
    assert rec["source"] == "cel-reconcile"
    wait_for("the reconciled call in /status", lambda: stack.status()["calls"]["reconciled"] >= 1)
