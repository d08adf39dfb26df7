"""Issue #3 with the real Asterisk: seats log in, pause and unpause through the API and their
phones' feature codes, and calls follow their state; wrap-up, auto-pause, a seat on an outside
number that must press 1, a county queue overflowing to the city seats."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from hotline.live.hub import redis_keys

from . import servers
from .rig import (AUTO_PAUSE_AFTER, NOANSWER_SEAT, OVERFLOW_AFTER_S, REMOTE_SEAT,
                  SEAT_TEST_NUMBERS, SEATS, SLOT, WRAPUP_S, Stack, http_json, wait_for)


def post(stack: Stack, path: str, body: object = None) -> tuple[int, dict]:
    return http_json("POST", f"{stack.api}{path}", body)


def state(stack: Stack, seat: str) -> str:
    return stack.seat(seat)["state"]


def members(stack: Stack, queue: str) -> str:
    return stack.cli(f"queue show {queue}")


@pytest.fixture
def seats_restored(stack: Stack) -> Iterator[None]:
    """Whatever a test does to 1001/1002, they are logged in and unpaused afterwards."""
    yield
    for seat in SEATS:
        if stack.seat(seat)["state"] == "paused":
            post(stack, f"/api/seats/{seat}/unpause")
        stack.login_seat(seat)
    for seat in SEATS:
        wait_for(f"seat {seat} idle again", lambda s=seat: state(stack, s) == "idle", timeout=30)


def hang_up(stack: Stack, proc: subprocess.Popen[bytes]) -> None:
    """End a caller still on the line: stop sipp (it sends no BYE) and hang its channels up."""
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)
        stack.cli("channel request hangup all")


def test_bad_seat_commands_name_the_problem_and_change_nothing(stack: Stack, seats_restored: None) -> None:
    code, body = post(stack, "/api/seats/9999/login")
    assert (code, body["error_id"]) == (404, "no-such-seat")
    code, body = post(stack, "/api/seats/1001/pause", {"reason": "nap"})
    assert (code, body["error_id"]) == (422, "unknown-pause-reason") and "nap" in body["message"]
    # not paused by it: idle once Asterisk's rest after an earlier test's call (shown as wrapup) ends
    wait_for("1001 idle", lambda: state(stack, "1001") == "idle", timeout=30)
    code, body = post(stack, "/api/seats/1001/pause", {})
    assert (code, body["error_id"]) == (400, "invalid-request") and body["details"]["field"] == "reason"
    code, body = post(stack, "/api/seats/1001/login")
    assert (code, body["error_id"]) == (409, "seat-already-logged-in")
    code, body = post(stack, "/api/seats/1001/unpause")
    assert (code, body["error_id"]) == (409, "seat-not-paused")
    code, body = http_json("GET", f"{stack.api}/api/queues/nosuchq")
    assert (code, body["error_id"]) == (404, "no-such-queue")
    # pause while logged out: refused, the seat stays logged out and out of the queue
    code, _ = post(stack, "/api/seats/1002/logout")
    assert code == 200
    wait_for("1002 out of the queue", lambda: "1002" not in members(stack, "hotline"))
    code, body = post(stack, "/api/seats/1002/pause", {"reason": "break"})
    assert (code, body["error_id"]) == (409, "seat-not-logged-in")
    assert state(stack, "1002") == "logged_out" and "1002" not in members(stack, "hotline")


def test_calls_follow_login_pause_and_unpause(stack: Stack, seats_restored: None) -> None:
    assert post(stack, "/api/seats/1002/logout")[0] == 200
    code, body = post(stack, "/api/seats/1001/pause", {"reason": "小休"})     # by name: same as "break"
    assert code == 200 and body["state"] == "paused" and body["reason"] == "break" and body["reason_name"] == "小休"
    wait_for("1001 paused in Asterisk", lambda: "paused:break" in members(stack, "hotline").replace(" ", "").lower()
             or "(paused" in members(stack, "hotline"))
    caller = stack.start_call("12345", "13900003001", talk_ms=60000)
    try:
        # nobody can take it: the caller waits in the queue, visible live
        wait_for("the caller waiting", lambda: http_json("GET", f"{stack.api}/api/queues/hotline")[1]["waiting"] == 1)
        q = http_json("GET", f"{stack.api}/api/queues/hotline")[1]
        assert q["entries"][0]["caller"] == "139****3001"          # masked on the wallboard
        assert q["available"] == 0
        assert post(stack, "/api/seats/1001/unpause")[0] == 200
        wait_for("1001 talking", lambda: state(stack, "1001") == "talking", timeout=20)
        assert stack.seat("1001")["caller"] == "139****3001"
    finally:
        hang_up(stack, caller)
    rec = stack.record_for("13900003001")
    assert rec["outcome"] == "answered" and rec["seat"] == "1001"
    assert rec["wait_seconds"] >= 0.5


def test_feature_codes_on_the_seat_phone(stack: Stack, seats_restored: None) -> None:
    r = stack.dial_feature_code("1002", "*22")                      # logout
    assert r.returncode == 0, r.stdout[-600:]
    wait_for("1002 logged out by feature code", lambda: state(stack, "1002") == "logged_out")
    assert "1002" not in members(stack, "hotline")
    assert stack.dial_feature_code("1002", "*21").returncode == 0   # login
    wait_for("1002 logged in by feature code", lambda: state(stack, "1002") == "idle")
    assert stack.dial_feature_code("1002", "*232").returncode == 0  # pause, reason 2 (培训)
    wait_for("1002 paused by feature code", lambda: state(stack, "1002") == "paused")
    assert stack.seat("1002")["reason"] == "training"
    assert stack.dial_feature_code("1002", "*239").returncode == 0  # no reason 9: refused
    assert stack.seat("1002")["reason"] == "training"
    assert stack.dial_feature_code("1002", "*24").returncode == 0   # unpause
    wait_for("1002 idle by feature code", lambda: state(stack, "1002") == "idle")


def test_wrapup_delays_the_next_call(stack: Stack, seats_restored: None) -> None:
    number = SEAT_TEST_NUMBERS["wrapq"]
    first = stack.call(number, "13900003101", talk_ms=1500)
    assert first.returncode == 0, first.stdout[-600:]
    wait_for("1001 in wrap-up", lambda: state(stack, "1001") == "wrapup", timeout=10, interval=0.1)
    r1 = stack.record_for("13900003101")
    second = stack.call(number, "13900003102", talk_ms=(WRAPUP_S + 5) * 1000)   # stays until answered
    assert second.returncode == 0, second.stdout[-600:]
    r2 = stack.record_for("13900003102")
    assert r1["seat"] == r2["seat"] == "1001"
    # the second caller was queued before the wrap-up was over and answered only after it
    from datetime import datetime
    ended = datetime.fromisoformat(r1["ended_at"]).timestamp()
    answered = datetime.fromisoformat(r2["answered_at"]).timestamp()
    assert answered - ended >= WRAPUP_S - 0.5, (r1, r2)
    wait_for("1001 idle after wrap-up", lambda: state(stack, "1001") == "idle", timeout=WRAPUP_S + 10)


def test_seat_that_does_not_answer_is_paused_automatically(stack: Stack) -> None:
    seat, secret, port, media = NOANSWER_SEAT
    phone = stack.start_phone(seat, secret, port, media, "noanswer_uas.xml")
    caller = None
    try:
        stack.login_seat(seat)
        wait_for("1003 idle", lambda: state(stack, seat) == "idle")
        caller = stack.start_call(SEAT_TEST_NUMBERS["autopq"], "13900003201", talk_ms=90000)
        wait_for("1003 auto-paused", lambda: state(stack, seat) == "paused", timeout=60, interval=0.5)
        view = stack.seat(seat)
        assert view["reason"] == "no-answer" and view["unanswered"] == AUTO_PAUSE_AFTER
        assert "paused" in members(stack, "autopq").lower()
    finally:
        if caller is not None:
            hang_up(stack, caller)
        hang_up(stack, phone)
        post(stack, f"/api/seats/{seat}/unpause")
        post(stack, f"/api/seats/{seat}/logout")


@pytest.mark.parametrize("scenario, accepted", [("remote_seat_accepts.xml", True),
                                                ("remote_seat_voicemail.xml", False)])
def test_seat_on_an_outside_number_must_press_1(stack: Stack, scenario: str, accepted: bool) -> None:
    pstn = stack.start_pstn(scenario)
    caller_number = "13900003301" if accepted else "13900003302"
    caller = None
    try:
        stack.login_seat(REMOTE_SEAT)
        caller = stack.start_call(SEAT_TEST_NUMBERS["remoteq"], caller_number, talk_ms=25000)
        if accepted:
            wait_for("the remote seat talking", lambda: state(stack, REMOTE_SEAT) == "talking", timeout=40)
        else:
            # the voicemail box answered and was hung up: the caller is still waiting, never connected
            wait_for("the declined attempt", lambda: "HOTLINE_REMOTE_DECLINED" in _cel(stack), timeout=40)
            assert state(stack, REMOTE_SEAT) != "talking"
    finally:
        if caller is not None:
            hang_up(stack, caller)
        hang_up(stack, pstn)
        post(stack, f"/api/seats/{REMOTE_SEAT}/logout")
    rec = stack.record_for(caller_number)
    if accepted:
        assert rec["outcome"] == "answered" and rec["seat"] == REMOTE_SEAT
    else:
        assert rec["outcome"] == "abandoned_in_queue" and rec["seat"] is None


def test_county_queue_overflows_to_the_city_seats(stack: Stack) -> None:
    # haimen has no seat of its own: the city seats (hotline) ring after OVERFLOW_AFTER_S
    assert "1001" in members(stack, "haimen")          # joined at the overflow tier at login
    r = stack.call(SEAT_TEST_NUMBERS["haimen"], "13900003401", talk_ms=(OVERFLOW_AFTER_S + 6) * 1000, timeout=60)
    assert r.returncode == 0, r.stdout[-600:]
    rec = stack.record_for("13900003401")
    assert rec["outcome"] == "answered" and rec["seat"] in SEATS and rec["queue"] == "haimen"
    assert rec["wait_seconds"] >= OVERFLOW_AFTER_S - 0.5


def _cel(stack: Stack) -> str:
    return stack.runtime.cel_log.read_text(encoding="utf-8", errors="replace")


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed (scripts/test.sh)")
def test_dead_redis_degrades_the_wallboard_and_calls_go_on(stack: Stack, tmp_path: Path) -> None:
    rdir, port = tmp_path / "redis", 56390 + SLOT
    try:
        with servers.redis_site(stack, rdir, port) as url:
            try:
                _redis_down_and_back(stack, url, rdir, port)
            finally:
                post(stack, "/api/seats/1002/unpause")
    finally:
        for seat in SEATS:
            stack.login_seat(seat)


def _redis_down_and_back(stack: Stack, url: str, rdir: Path, port: int) -> None:
    import redis

    site = yaml.safe_load(stack.site_file.read_text(encoding="utf-8")).get("site") or {}
    seats_key = redis_keys(site.get("id", "hotline"), site.get("node")).seats   # this node's seats
    for seat in SEATS:
        stack.login_seat(seat)
    client = redis.Redis.from_url(url, decode_responses=True)
    wait_for("live state mirrored in Redis", lambda: stack.status()["live"]["backend"] == "redis"
             and not stack.status()["live"]["degraded"] and json.loads(client.hget(seats_key, "1001") or
                                                                     "{}").get("state") == "idle")
    servers.redis("stop", str(rdir))
    wait_for("the wallboard degraded", lambda: stack.status()["live"]["degraded"] is True)
    assert http_json("GET", f"{stack.api}/api/live")[1]["live"]["ok"] is False
    # calls and seat state go on without Redis
    r = stack.call("12345", "13900003501", talk_ms=2000)
    assert r.returncode == 0, r.stdout[-600:]
    assert stack.record_for("13900003501")["outcome"] == "answered"
    assert post(stack, "/api/seats/1002/pause", {"reason": "admin"})[0] == 200
    # Redis back: the whole current state is written into it again, including the pause
    servers.redis("start", str(rdir), str(port))
    wait_for("Redis rebuilt", lambda: not stack.status()["live"]["degraded"]
             and json.loads(client.hget(seats_key, "1002") or "{}").get("state") == "paused", timeout=40)


def test_seat_state_is_rebuilt_from_asterisk_after_a_controller_restart(stack: Stack, seats_restored: None) -> None:
    assert post(stack, "/api/seats/1002/pause", {"reason": "training"})[0] == 200
    stack.stop_controller()
    # while the controller is down a seat logs out from its phone: Asterisk alone applies it
    assert stack.dial_feature_code("1001", "*22").returncode == 0
    stack.start_controller()
    wait_for("seats re-synced", lambda: stack.seat("1002")["state"] == "paused"
             and stack.seat("1001")["state"] == "logged_out")
    assert stack.seat("1002")["reason"] == "training" and stack.seat("1002")["reason_name"] == "培训"
