"""Queue callback and callbacks seats take (issue #3), on the real Asterisk with sipp.

The hotline queue gets ``callback`` (key 1, 2 tries, 5 s apart, 5 s of ringing); the PSTN behind
the trunk is a sipp UAS on the trunk's contact that answers (or, for the failure test, only
rings). Seats are logged out while the caller waits, so nobody is free, and logged in to take
the placeholder. Everything waits on state (records, tasks, channels), never on the clock.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from .callbacksite import queue_callback_site
from .rig import (
    CONTROL_CALLER_MEDIA,
    CONTROL_CALLER_PORT,
    PSTN_MEDIA,
    Q3_CALLER_PORTS,
    SEATS,
    SIP_PORT,
    SIPP_DIR,
    TRUNK_IP,
    TRUNK_PORT,
    Stack,
    http_json,
    wait_for,
)

ATTEMPTS, RETRY_AFTER, RING = 2, 5, 5


@pytest.fixture(scope="module")
def cb_stack(stack: Stack) -> Iterator[Stack]:
    with queue_callback_site(stack, ATTEMPTS, RETRY_AFTER, RING):
        try:
            yield stack
        finally:
            capture = os.environ.get("CB_CAPTURE")   # to refresh tests/fixtures/cel/callback_*.jsonl
            if capture:
                shutil.copyfile(stack.runtime.cel_log, capture)


def _uas(stack: Stack, scenario: str) -> subprocess.Popen[bytes]:
    """The PSTN behind the trunk: ``seat_uas.xml`` answers, ``noanswer_uas.xml`` only rings."""
    with open(stack.workdir / f"pstn_{scenario}.log", "ab") as out:
        pstn = subprocess.Popen(
            ["sipp", "-sf", str(SIPP_DIR / scenario), "-i", TRUNK_IP, "-p", str(TRUNK_PORT), "-mp", str(PSTN_MEDIA),
             "-rtp_echo", "-d", "300", "-nostdin", "-trace_err",
             "-error_file", str(stack.workdir / f"pstn_{scenario}_errors.log")],
            stdout=out, stderr=subprocess.STDOUT, cwd=stack.workdir)

    def listening() -> bool:
        assert pstn.poll() is None, f"the PSTN UAS exited with {pstn.returncode}"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind((TRUNK_IP, TRUNK_PORT))
            except OSError:
                return True
        return False
    wait_for("the PSTN UAS on the trunk's contact", listening, timeout=15)
    return pstn


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)


def _caller(stack: Stack, caller: str, scenario: str, pause_ms: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["sipp", "-sf", str(SIPP_DIR / scenario), "-i", TRUNK_IP, "-p", str(CONTROL_CALLER_PORT),
         "-mp", str(CONTROL_CALLER_MEDIA), "-s", "12345", "-key", "caller", caller, "-d", str(pause_ms),
         "-m", "1", "-nostdin", "-timeout", "90", "-trace_err",
         "-error_file", str(stack.workdir / f"caller-{caller}.err"), f"127.0.0.1:{SIP_PORT}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=stack.workdir)


def _logout_all(stack: Stack) -> None:
    for seat in SEATS:
        stack.logout_seat_cli(seat)
    wait_for("no seat in the queue", lambda: "No Members" in stack.cli("queue show hotline"), timeout=15)


def _callbacks(stack: Stack) -> list[dict[str, Any]]:
    code, body = http_json("GET", f"{stack.api}/api/callbacks?full=1")
    assert code == 200, body
    return list(body["items"])


def _task_for(stack: Stack, call_id: str) -> dict[str, Any] | None:
    return next((t for t in _callbacks(stack) if t["call_id"] == call_id), None)


def _try_records(stack: Stack, call_id: str) -> list[dict[str, Any]]:
    return [c for c in stack.calls() if c["extra"].get("callback_of") == call_id]


def _hang_up_trunk_legs(stack: Stack) -> None:
    for channel in stack.channels():
        if channel.startswith("PJSIP/trunk-carrier-"):
            stack.cli(f"channel request hangup {channel}")


def _request_callback(stack: Stack, caller: str) -> dict[str, Any]:
    """A caller waits with no seat free, presses 1, hears the confirmation and is hung up."""
    _logout_all(stack)
    proc = _caller(stack, caller, "caller_callback.xml", 3000)
    try:
        assert proc.wait(90) == 0, f"the caller scenario failed (see caller-{caller}.err)"
    finally:
        _stop(proc)
    record = stack.record_for(caller)
    assert record["outcome"] == "callback_requested", record
    assert record["extra"]["callback"]["reason"] == "key"
    return record


def test_queue_callback_keeps_the_place_and_connects(cb_stack: Stack) -> None:
    stack = cb_stack
    pstn = _uas(stack, "seat_uas.xml")
    try:
        record = _request_callback(stack, "13800005001")
        task = wait_for("the callback task", lambda: _task_for(stack, record["call_id"]))
        assert (task["kind"], task["status"], task["number"]) == ("queue_callback", "requested", "13800005001")
        # the placeholder waits in the queue in the caller's place
        wait_for("the placeholder in the queue",
                 lambda: "Local/hotline@hotline-cb-hold" in stack.cli("queue show hotline"))
        stack.login_seat_cli("1001")
        wait_for("the citizen called back and connected",
                 lambda: (_task_for(stack, record["call_id"]) or {}).get("status") == "dialling"
                 or any(ch.startswith("PJSIP/trunk-carrier-") for ch in stack.channels()), timeout=30)
        wait_for("the trunk leg answered", lambda: any(
            ch.startswith("PJSIP/trunk-carrier-") and bridge for ch, bridge in stack.channels().items()), timeout=30)
        _hang_up_trunk_legs(stack)
        tries = wait_for("the callback's record", lambda: _try_records(stack, record["call_id"]))
        assert tries[0]["outcome"] == "answered" and tries[0]["seat"] == "1001", tries[0]
        assert tries[0]["dialled_number"] == "13800005001"
        done = wait_for("the task connected", lambda: (_task_for(stack, record["call_id"]) or {}).get("status")
                        == "connected" and _task_for(stack, record["call_id"]))
        assert done["seat"] == "1001" and done["attempts"] == 1
        assert done["callback_call_id"] == tries[0]["call_id"]
    finally:
        _stop(pstn)


def test_queue_callback_not_answered_fails_after_the_tries(cb_stack: Stack) -> None:
    stack = cb_stack
    pstn = _uas(stack, "noanswer_uas.xml")
    try:
        record = _request_callback(stack, "13800005002")
        stack.login_seat_cli("1001")
        done = wait_for("the task failed", lambda: (_task_for(stack, record["call_id"]) or {}).get("status")
                        == "failed" and _task_for(stack, record["call_id"]), timeout=90)
        assert done["attempts"] == ATTEMPTS and done["last_result"] == "noanswer", done
        tries = wait_for("both tries recorded", lambda: len(_try_records(stack, record["call_id"])) >= ATTEMPTS
                         and _try_records(stack, record["call_id"]))
        assert {t["outcome"] for t in tries} == {"failed"}
    finally:
        _stop(pstn)


def test_abandoned_call_is_called_back_by_a_seat(cb_stack: Stack) -> None:
    stack = cb_stack
    _logout_all(stack)
    caller = "13800005003"
    proc = _caller(stack, caller, "caller.xml", 2000)
    assert proc.wait(60) == 0
    record = stack.record_for(caller)
    assert record["outcome"] == "abandoned_in_queue", record
    code, listed = http_json("GET", f"{stack.api}/api/abandoned?limit=50")
    assert code == 200
    row = next(r for r in listed["items"] if r["call_id"] == record["call_id"])
    assert row["caller_number"] == "138****5003" and row["callback"] is None and row["served_later"] is False
    code, task = http_json("POST", f"{stack.api}/api/callbacks", {"call_id": record["call_id"]})
    assert code == 201, task
    code, again = http_json("POST", f"{stack.api}/api/callbacks", {"call_id": record["call_id"]})
    assert (code, again["error_id"]) == (409, "callback-exists")
    pstn = _uas(stack, "seat_uas.xml")
    try:
        code, taken = http_json("POST", f"{stack.api}/api/callbacks/{task['id']}/take", {"seat": "1001"})
        assert code == 202, taken
        assert taken["status"] == "dialling"
        wait_for("the trunk leg answered", lambda: any(
            ch.startswith("PJSIP/trunk-carrier-") and bridge for ch, bridge in stack.channels().items()), timeout=30)
        _hang_up_trunk_legs(stack)
        tries = wait_for("the callback's record", lambda: _try_records(stack, record["call_id"]))
        assert tries[0]["outcome"] == "answered" and tries[0]["seat"] == "1001"
        done = wait_for("the task connected", lambda: (_task_for(stack, record["call_id"]) or {}).get("status")
                        == "connected" and _task_for(stack, record["call_id"]))
        assert done["kind"] == "abandoned" and done["callback_call_id"] == tries[0]["call_id"]
        code, listed = http_json("GET", f"{stack.api}/api/abandoned?limit=50&full=1")
        row = next(r for r in listed["items"] if r["call_id"] == record["call_id"])
        assert row["caller_number"] == caller and row["callback"]["status"] == "connected"
        assert row["served_later"] is True
    finally:
        _stop(pstn)


def test_a_callback_requested_while_the_controller_is_down_becomes_a_task(cb_stack: Stack) -> None:
    """Issue 8, item 6: the record rebuilt from the CEL log at start-up reaches the callback service."""
    stack = cb_stack
    _logout_all(stack)
    stack.stop_controller()
    try:
        proc = _caller(stack, "13800005009", "caller_callback.xml", 3000)
        try:
            assert proc.wait(90) == 0, "the caller scenario failed (see caller-13800005009.err)"
        finally:
            _stop(proc)
    finally:
        stack.start_controller()
    try:
        record = stack.record_for("13800005009")
        assert record["outcome"] == "callback_requested" and record["source"] == "cel-reconcile", record
        task = wait_for("the callback task", lambda: _task_for(stack, record["call_id"]))
        assert (task["kind"], task["status"], task["number"]) == ("queue_callback", "requested", "13800005009")
    finally:
        for channel in stack.channels():   # the placeholder the dialplan put in the queue
            if channel.startswith("Local/hotline@hotline-cb-hold"):
                stack.cli(f"channel request hangup {channel}")


POSITION_BUG = (
    "app_queue loses a key pressed while it says a position above 1: say_position() plays "
    "queue-thereare, the number and queue-callswaiting as `res = (play_file(..) || ast_say_number(..) || "
    "play_file(..))`, which turns the digit into 1 (and a hang-up too), so valid_exit() looks up the "
    "extension \\x01 and drops the key (apps/app_queue.c, Asterisk 22). Not fixed yet")


# after the platform answers (the caller joins about 0.5 s later): 1 s into "您现在排在第2位", and
# after the whole announcement (the control: the same scenario works then)
@pytest.mark.parametrize("key_at_ms", [pytest.param(1500, id="during-the-announcement"),
                                       pytest.param(9000, id="after-the-announcement")])
def test_the_callback_key_at_position_2(cb_stack: Stack, key_at_ms: int) -> None:
    """No seat free: caller 1 waits at position 1; caller 2 joins at position 2 and presses the
    callback key, while app_queue says "您现在排在第2位" or after: the key must take them out with a
    callback at any time."""
    stack = cb_stack
    _logout_all(stack)
    port, media = Q3_CALLER_PORTS[0]
    ahead = subprocess.Popen(
        ["sipp", "-sf", str(SIPP_DIR / "caller.xml"), "-i", TRUNK_IP, "-p", str(port), "-mp", str(media),
         "-s", "12345", "-key", "caller", "13800005101", "-d", "120000", "-m", "1", "-nostdin", "-timeout", "180",
         "-trace_err", "-error_file", str(stack.workdir / "caller-13800005101.err"), f"127.0.0.1:{SIP_PORT}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=stack.workdir)
    asks = None
    try:
        wait_for("caller 1 waiting", lambda: http_json("GET", f"{stack.api}/api/queues/hotline")[1]["waiting"] == 1,
                 timeout=30)
        caller = f"138000{key_at_ms:05d}"   # one number per case: its own record
        asks = _caller(stack, caller, "caller_callback.xml", key_at_ms)
        try:
            asks.wait(20)   # the confirmation, then the platform hangs up
        except subprocess.TimeoutExpired:
            pass
        ignored = asks.returncode != 0
        if key_at_ms < 5000:   # a known bug: an expected failure on exactly this, a failure once fixed
            if ignored:   # (its scenario may have timed out meanwhile: the queue count is no longer a test)
                pytest.xfail(POSITION_BUG)
            assert ignored, f"the known bug no longer shows ({POSITION_BUG}): remove the expected failure"
        assert not ignored, "caller 2's key was ignored: still waiting in the queue"
        record = stack.record_for(caller)
        assert record["outcome"] == "callback_requested" and record["extra"]["callback"]["reason"] == "key", record
    finally:
        for proc in (asks, ahead):
            if proc is not None:
                _stop(proc)
        _hang_up_trunk_legs(stack)
