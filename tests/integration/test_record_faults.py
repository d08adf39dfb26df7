"""No record lost around the CEL log and Asterisk (issue 8, items 4 and 5), on the real Asterisk:
the CEL log rotated while the controller is down; Asterisk killed mid-call and restarted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from typing import Any, Iterator

import pytest

from .groundtruth import assert_exactly_once
from .rig import CONTROL_CALLER_MEDIA, CONTROL_CALLER_PORT, SEATS, SIP_PORT, SIPP_DIR, TRUNK_IP, Stack, http_json, \
    wait_for


def _cel_lines(stack: Stack) -> list[dict[str, Any]]:
    out = []
    log = stack.runtime.cel_log
    for path in (log.with_name(log.name + ".1"), log):
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            continue
        for line in raw.splitlines():
            try:
                out.append(json.loads(line, strict=False))
            except ValueError:
                pass
    return out


def _ended_in_cel(stack: Stack, caller: str) -> bool:
    """Asterisk has written the whole conversation of ``caller`` (its LINKEDID_END) to the CEL log."""
    lines = _cel_lines(stack)
    ids = {d["linkedid"] for d in lines if d.get("eventtype") == "CHAN_START" and d.get("num") == caller}
    return bool(ids) and any(d.get("eventtype") == "LINKEDID_END" and d.get("linkedid") in ids for d in lines)


def _seats_back(stack: Stack) -> None:
    for seat, secret in SEATS.items():
        stack.register(seat, secret)

    def members_available() -> bool:
        for seat in SEATS:
            stack.cli(f"pjsip qualify {seat}")
        return stack.cli("queue show hotline").count("(Not in use)") >= len(SEATS)
    wait_for("queue members available", members_available, timeout=30, interval=0.5)


def test_cel_log_rotated_while_the_controller_is_down(stack: Stack) -> None:
    log = stack.runtime.cel_log
    rotated = log.with_name(log.name + ".1")
    rotated.unlink(missing_ok=True)
    callers = ["13900000321", "13900000322", "13900000323"]
    t0 = time.time()
    stack.stop_controller()
    try:
        r = stack.call("12345", callers[0], talk_ms=1000)
        assert r.returncode == 0, r.stdout[-800:]
        wait_for("the first call in the CEL log", lambda: _ended_in_cel(stack, callers[0]))
        inode = log.stat().st_ino
        os.rename(log, rotated)               # logrotate's rule: a plain rename, nothing reloaded
        for caller in callers[1:]:
            r = stack.call("12345", caller, talk_ms=1000)
            assert r.returncode == 0, r.stdout[-800:]
            wait_for(f"{caller} in the CEL log", lambda c=caller: _ended_in_cel(stack, c))  # type: ignore[misc]
        # cel_custom opened a new file for its next record: the old one is complete
        assert log.exists() and log.stat().st_ino != inode
    finally:
        stack.start_controller()
    records = [stack.record_for(c) for c in callers]
    assert [r["outcome"] for r in records] == ["answered"] * 3
    ids = [c["call_id"] for c in stack.calls()]
    assert all(ids.count(r["call_id"]) == 1 for r in records)
    assert_exactly_once(stack, t0, 3)   # the fault matrix's count, across the rotated file and the new one
    assert stack.status()["cel_tail"]["ok"]


def test_a_call_cut_by_an_asterisk_kill_gets_its_record_and_leaves_the_live_list(stack: Stack) -> None:
    caller = "13900000331"
    t0 = time.time()
    proc = stack.start_call("12345", caller, talk_ms=120000)

    def answered() -> dict[str, Any] | None:
        code, body = http_json("GET", f"{stack.api}/api/calls/live")
        assert code == 200, body
        return next((c for c in body["items"] if c["caller_number"] == caller and c.get("seat")), None)
    try:
        live = wait_for(f"{caller} answered by a seat", answered, timeout=30)
        call_id = live["call_id"]
        logins = stack.status()["ami"]["logins"]
        pid = stack.runtime.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_for("Asterisk gone", lambda: stack.runtime.pid() is None, timeout=15)
    finally:
        proc.kill()
        proc.wait(10)
    stack.runtime.start()
    wait_for("AMI logged in again", lambda: stack.status()["ami"]["logins"] > logins
             and stack.status()["ami"]["ok"], timeout=40)

    def cut_record() -> dict[str, Any] | None:
        code, body = http_json("GET", f"{stack.api}/api/calls/{call_id}")
        return body if code == 200 else None
    record = wait_for("the cut call's record", cut_record, timeout=30)
    assert record["outcome"] == "answered" and record["seat"] in SEATS
    assert record["extra"]["cut_by"] == "asterisk_restart" and record["talk_seconds"] is not None
    code, body = http_json("GET", f"{stack.api}/api/calls/live")
    assert code == 200 and all(c["call_id"] != call_id for c in body["items"])

    # Asterisk's uniqueids: <creation time>.<sequence>, the sequence starts again with the process
    _seats_back(stack)
    r = stack.call("12345", "13900000312", talk_ms=1000)
    assert r.returncode == 0, r.stdout[-800:]
    after = stack.record_for("13900000312")
    new_seq, cut_seq = int(after["call_id"].split(".")[1]), int(call_id.split(".")[1])
    assert new_seq <= 2 and new_seq <= cut_seq   # among the first channels of the new process
    assert float(after["call_id"].split(".")[0]) >= float(call_id.split(".")[0])
    ids = [c["call_id"] for c in stack.calls()]
    assert ids.count(call_id) == 1
    assert_exactly_once(stack, t0, 2)   # the cut call and the one after the restart, once each



CB_FALLBACK_NUMBER = "83538001"


@pytest.fixture
def callback_fallback_queue(stack: Stack) -> Iterator[Stack]:
    """A queue with no seat whose max-wait fallback offers a callback, on a merged number of its own."""
    previous = stack.extend_site({
        "queues": [{"name": "cbfall", "max_wait": 3, "fallback": {"action": "callback"}}],
        "departments": [{"id": "deptcbfall", "name": "回拨测试", "queue": "cbfall"}],
        "legacy_numbers": [{"number": CB_FALLBACK_NUMBER, "mode": "merged", "department": "deptcbfall"}],
    })
    stack.cli("queue reload parameters")   # the new queue (dynamic members stay as they are)
    try:
        yield stack
    finally:
        stack.restore_site(previous)


def test_the_max_wait_fallback_offers_no_callback_to_a_number_it_will_not_dial(
        callback_fallback_queue: Stack) -> None:
    """Issue 8, item 6: a short caller number presses 1 when the fallback would offer a callback:
    no offer, no "callback confirmed" and no task that is never dialled; the caller waits on."""
    stack, caller = callback_fallback_queue, "1234"
    proc = subprocess.Popen(
        ["sipp", "-sf", str(SIPP_DIR / "caller_callback.xml"), "-i", TRUNK_IP, "-p", str(CONTROL_CALLER_PORT),
         "-mp", str(CONTROL_CALLER_MEDIA), "-s", CB_FALLBACK_NUMBER, "-key", "caller", caller, "-d", "8000",
         "-m", "1", "-nostdin", "-timeout", "90", "-trace_err",
         "-error_file", str(stack.workdir / f"caller-{caller}.err"), f"127.0.0.1:{SIP_PORT}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=stack.workdir)
    try:
        def back_in_queue() -> str | None:
            if proc.poll() is not None:
                return "ended"   # the platform hung up: it took the key press as a callback request
            lines = _cel_lines(stack)
            ids = {d["linkedid"] for d in lines if d.get("eventtype") == "CHAN_START" and d.get("num") == caller}
            fallbacks = [d for d in lines if d.get("linkedid") in ids and d.get("userdeftype") == "HOTLINE_FALLBACK"]
            queued = [d for d in lines if d.get("linkedid") in ids and d.get("userdeftype") == "HOTLINE_QUEUE"]
            return "rejoined" if fallbacks and len(queued) >= 2 else None
        assert wait_for("the caller back in the queue after the fallback", back_in_queue, timeout=40) == "rejoined"
        for channel in stack.channels():
            if channel.startswith("PJSIP/trunk-carrier-"):
                stack.cli(f"channel request hangup {channel}")
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    record = stack.record_for(caller)
    assert record["outcome"] == "abandoned_in_queue", record
    assert record["extra"]["fallback"]["action"] == "callback"
    code, body = http_json("GET", f"{stack.api}/api/callbacks?full=1")
    assert code == 200 and all(t["call_id"] != record["call_id"] for t in body["items"])
