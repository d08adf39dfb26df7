"""The seat console's WebRTC phone (issue 13 items 1 and 2) end to end: real Asterisk (WebSocket
transport, DTLS-SRTP, ICE), the real controller, sipp as the caller and headless Chromium with fake
audio devices as the seat.

A seat user logs in to ``/console``; the page registers its browser phone over Asterisk's WebSocket
and the test clicks 签入. The session's SIP seats are logged out, so a sipp caller dialling 12345
rings the browser. The test clicks 接听; audio is measured both ways (Asterisk's RTP counters of
the browser's channel, and the browser's own getStats(): packets and level of what it receives);
the page hangs up and exactly one record lands, answered by the browser seat. The ring -> 来电
and ring -> screen-pop times measured in the page are written to the work directory (the
benchmark, ``bench/console_pop.py``, publishes them; nothing here asserts on time).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from .browser import FAKE_AUDIO, chromium
from .livecall import ANSWERING, rtp_flows
from .rig import BROWSER_SEAT, SEATS, USERS, WEBRTC_QUALIFY_S, Stack, http_json, rtp_channel_id, wait_for

SEAT_USER = f"seat{BROWSER_SEAT[0]}"
SEAT = BROWSER_SEAT[0]
# the ring -> 来电 / screen-pop loop: how many rings (bench/console_pop.py asks for more) and where
# the page's own measurements go (the benchmark reads them; the test never judges them)
RINGS = int(os.environ.get("HOTLINE_CONSOLE_RINGS", "3"))
TIMINGS_OUT = os.environ.get("HOTLINE_CONSOLE_TIMINGS", "")


@pytest.fixture(scope="module")
def page(stack: Stack) -> Iterator[Any]:
    """Chromium on /console as the browser seat's user, its phone registered, the seat logged in
    through the page and alone in the hotline queue (the SIP seats are back afterwards); the
    department phones answer three-way calls."""
    tone = stack.workdir / "browser-tone.wav"   # what the browser's microphone says: 660 Hz
    subprocess.run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(tone), "synth", "600", "sine", "660"],
                   check=True)
    phones = stack.start_department_phones()
    for seat in SEATS:
        stack.logout_seat_cli(seat)
    try:
        for driver in chromium(*FAKE_AUDIO, f"--use-file-for-fake-audio-capture={tone}"):
            _open_console(driver, stack)
            yield driver
    finally:
        for phone in phones:
            phone.terminate()
            phone.wait(10)
        stack.end_all_calls()
        code, body = http_json("POST", f"{stack.api}/api/seats/{SEAT}/logout")
        for seat in SEATS:
            stack.login_seat(seat)
        assert code == 200 or body["error_id"] == "seat-not-logged-in", body


def _open_console(driver: Any, stack: Stack) -> None:
    """Log in, wait for the phone registered, click 签入 and wait for the seat idle."""
    from selenium.webdriver.common.by import By

    _log_in(driver, stack)
    wait_for("the browser phone registered", lambda: _phone_state(driver) == "registered", timeout=30)
    driver.find_element(By.ID, "seat-login").click()
    wait_for("the seat logged in (page)",
             lambda: driver.find_element(By.ID, "seat-state").get_attribute("data-state") == "idle")


def _log_in(driver: Any, stack: Stack) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{stack.api}/console")
    wait_for("the console's login form", lambda: driver.find_element(By.ID, "login-name").is_displayed())
    driver.find_element(By.ID, "login-name").send_keys(SEAT_USER)
    driver.find_element(By.ID, "login-password").send_keys(USERS[SEAT_USER][2])
    driver.find_element(By.ID, "login-submit").click()


def _phone_state(driver: Any) -> str:
    return str(driver.execute_script("return window.hotlinePhone ? window.hotlinePhone.state : null"))


def _stats(driver: Any) -> dict[str, Any]:
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.hotlinePhone.stats().then(done, (e) => done({error: String(e)}));") or {}


def _browser_channel(stack: Stack) -> str | None:
    return next((c for c in stack.channels() if c.startswith(f"PJSIP/{SEAT}-")), None)


def _available(stack: Stack) -> bool:
    return re.search(rf"PJSIP/{SEAT}\b.*\(Not in use\)", stack.cli("queue show hotline")) is not None


def _new_caller() -> str:
    return f"1390{uuid.uuid4().int % 10**7:07d}"


def _ring_and_answer(driver: Any, stack: Stack, caller: str) -> subprocess.Popen[bytes]:
    """A sipp caller dials 12345; the console rings; the test clicks 接听."""
    from selenium.webdriver.common.by import By

    wait_for("the browser seat available in the hotline queue", lambda: _available(stack), timeout=30)
    call = stack.start_call("12345", caller, talk_ms=60000)
    wait_for("the console rings", lambda: driver.find_element(By.ID, "incoming").is_displayed(), timeout=30)
    assert driver.find_element(By.ID, "incoming-from").text   # the caller's number, as Asterisk presents it
    driver.find_element(By.ID, "answer").click()
    wait_for("the call talking in the page", lambda: _phone_state(driver) == "talking", timeout=20)
    return call


def _end(call: subprocess.Popen[bytes]) -> None:
    if call.poll() is None:
        call.terminate()
    call.wait(20)


def _browser_hears_and_speaks(driver: Any, more_than: int = 0) -> dict[str, Any]:
    def heard() -> dict[str, Any] | None:
        s = _stats(driver)
        ok = s.get("packetsReceived", 0) > more_than + 100 and s.get("packetsSent", 0) > more_than + 100 \
            and (s.get("totalAudioEnergy") or 0) > 0
        return s if ok else None
    return wait_for("the browser receiving and sending audio", heard, timeout=20)


def test_state_buttons_and_queue_picture(stack: Stack, page: Any) -> None:
    """小休 (a configured reason) pauses the seat, 恢复 brings it back, as the API has it; the queue
    picture lists the seat's queues."""
    from selenium.webdriver.common.by import By

    driver = page
    state = lambda: driver.find_element(By.ID, "seat-state").get_attribute("data-state")   # noqa: E731
    reasons = driver.find_elements(By.CSS_SELECTOR, "#pause-buttons button.pause")
    assert [b.text for b in reasons] == ["小休", "培训", "整理", "用餐"]
    reasons[0].click()
    wait_for("paused in the page",
             lambda: state() == "paused" and "小休" in driver.find_element(By.ID, "seat-reason").text)
    assert stack.seat(SEAT)["state"] == "paused" and stack.seat(SEAT)["reason"] == "break"
    driver.find_element(By.ID, "seat-unpause").click()
    wait_for("idle again in the page", lambda: state() == "idle")
    assert stack.seat(SEAT)["state"] == "idle"
    wait_for("the hotline queue in the queue picture",
             lambda: driver.find_elements(By.CSS_SELECTOR, '#queues tr[data-queue="hotline"] td.waiting'))


def test_browser_seat_answers_12345_with_audio_both_ways(stack: Stack, page: Any) -> None:
    from selenium.webdriver.common.by import By

    driver, caller = page, _new_caller()
    call = _ring_and_answer(driver, stack, caller)
    try:
        # audio both ways, measured: Asterisk's counters of the browser's channel ...
        chan = rtp_channel_id(wait_for("the browser's channel", lambda: _browser_channel(stack)))
        wait_for(f"RTP both ways on {chan}", lambda: any(rx > 100 and tx > 100
                                                          for rx, tx in stack.rtp_counts().get(chan, [])), timeout=20)
        # ... and the browser's own: what it received (the caller's tone) and sent (its microphone)
        stats = _browser_hears_and_speaks(driver)
        assert stats.get("audioLevel") is None or stats["audioLevel"] >= 0
        driver.find_element(By.ID, "hangup").click()
        wait_for("the page back to registered", lambda: _phone_state(driver) == "registered", timeout=20)
    finally:
        _end(call)
    record = stack.record_for(caller)
    assert record["seat"] == SEAT and record["outcome"] == "answered", record
    assert len([c for c in stack.calls() if c["caller_number"] == caller]) == 1
    timings = driver.execute_script("return window.hotlineTimings")
    assert any("ring_to_incoming_ms" in t for t in timings) and any("ring_to_pop_ms" in t for t in timings)
    # the screen pop (GET /api/seats/{seat}/pop) filled the panel for this call: the seat's own
    # caller in full, where the number is from (139: a mobile number, phonenumbers knows its carrier)
    pop = driver.find_element(By.ID, "pop")
    assert pop.get_attribute("data-status") == "shown" and pop.get_attribute("data-call-id") == record["call_id"]
    assert driver.find_element(By.ID, "pop-caller").text == caller
    assert driver.find_element(By.ID, "pop-carrier").text == "中国移动"
    assert driver.find_element(By.ID, "pop-location").text not in ("", "未知")


def test_three_way_with_a_unit_phone_from_the_page_all_three_hear_each_other(stack: Stack, page: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver, caller = page, _new_caller()
    before = len(stack.calls())
    # a late qualify answer on a loaded machine leaves the unit's phone unavailable for a moment
    # (Asterisk then has no contact to dial): the test is about the page, not that
    stack.wait_reachable(ANSWERING)
    call = _ring_and_answer(driver, stack, caller)
    try:
        wait_for("call control enabled", lambda: driver.find_element(By.ID, "three-way").is_enabled(), timeout=20)
        Select(driver.find_element(By.ID, "target")).select_by_value(ANSWERING)
        driver.find_element(By.ID, "three-way").click()
        wait_for("the page says sent", lambda: driver.find_element(By.ID, "control-result").text == "已发送")
        live = wait_for("the live call with the department's leg", lambda: next(
            (c for c in http_json("GET", f"{stack.api}/api/calls/live")[1]["items"] if c["caller_number"] == caller
             and any(leg["answered"] for leg in (c.get("control") or {}).get("legs", []))), None), timeout=30)
        conference = f"hotline-{live['call_id']}"
        dept = next(c for c in stack.channels() if c.startswith(f"PJSIP/{ANSWERING}-"))
        mine = wait_for("the browser's channel", lambda: _browser_channel(stack))
        wait_for("caller, browser seat and unit phone in the conference",
                 lambda: stack.conference_members(conference) == {live["control"]["caller_channel"], mine, dept})
        # all three hear each other: every member's RTP grows both ways, the browser's own counters too
        sent = _stats(driver).get("packetsReceived", 0)
        rtp_flows(stack, [live["control"]["caller_channel"], mine, dept])
        _browser_hears_and_speaks(driver, more_than=sent)
        # the leg's state, live in the page
        wait_for("the department's leg shown answered", lambda: "已接通" in driver.find_element(By.ID, "legs").text)
        stack.cli(f"channel request hangup {live['control']['caller_channel']}")   # the caller hangs up
        wait_for("the page back to registered", lambda: _phone_state(driver) == "registered", timeout=20)
    finally:
        _end(call)
    record = stack.record_for(caller)
    assert record["seat"] == SEAT, record
    legs = record["extra"].get("legs") or []
    assert [(leg["kind"], leg["target"], leg["answered"]) for leg in legs] == [("three_way", ANSWERING, True)], legs
    assert len(stack.calls()) == before + 1


def test_ring_to_pop_measured_in_the_browser(stack: Stack, page: Any) -> None:
    """RINGS rings: each answered and hung up by the page; the page's ring -> 来电 and ring -> screen
    pop times are kept (TIMINGS_OUT, for bench/console_pop.py). Nothing is judged on time here."""
    from selenium.webdriver.common.by import By

    driver = page
    driver.execute_script("window.hotlineTimings = []")
    for _ in range(RINGS):
        caller = _new_caller()
        call = _ring_and_answer(driver, stack, caller)
        try:
            driver.find_element(By.ID, "hangup").click()
            wait_for("the page back to registered", lambda: _phone_state(driver) == "registered", timeout=20)
        finally:
            _end(call)
    timings = driver.execute_script("return window.hotlineTimings")
    pops = [t for t in timings if "ring_to_pop_ms" in t]
    assert len(pops) == RINGS and len([t for t in timings if "ring_to_incoming_ms" in t]) == RINGS
    if TIMINGS_OUT:
        Path(TIMINGS_OUT).write_text(json.dumps(timings))


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, ppid in parents.items() if ppid in frontier]
        found += children
        frontier = children
    return found


@contextmanager
def frozen_browser(driver: Any) -> Iterator[None]:
    """Chromium frozen (SIGSTOP: it answers nothing and closes nothing, as when its network goes),
    thawed on the way out."""
    frozen = _descendants(driver.service.process.pid)
    assert frozen, "no Chromium process under chromedriver"
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in frozen:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


def answered_by(stack: Stack, caller: str, seat: str) -> dict[str, Any] | None:
    """The live call of ``caller`` if ``seat`` is talking with it."""
    items = http_json("GET", f"{stack.api}/api/calls/live")[1]["items"]
    return next((c for c in items if c["caller_number"] == caller and
                 ((c.get("control") or {}).get("seat_channel") or "").startswith(f"PJSIP/{seat}-")), None)


def next_seat_answers(stack: Stack, call: subprocess.Popen[bytes], caller: str) -> dict[str, Any]:
    """After the browser was lost: the seat logged out by the controller, no leg left to the dead
    browser, the caller alive and waiting in the queue; seat 1001 logs in and answers it."""
    wait_for("the browser seat logged out by the controller",
             lambda: stack.seat(SEAT)["state"] == "logged_out", timeout=WEBRTC_QUALIFY_S + 40)
    wait_for("no leg left to the dead browser", lambda: _browser_channel(stack) is None, timeout=20)
    assert call.poll() is None, "the caller was dropped instead of kept in the queue"
    code, queue = http_json("GET", f"{stack.api}/api/queues/hotline")
    assert code == 200 and queue["waiting"] >= 1, queue
    stack.login_seat("1001")
    return wait_for("the caller answered by seat 1001", lambda: answered_by(stack, caller, "1001"), timeout=30)


def test_a_browser_that_loses_its_network_is_logged_out_and_its_caller_goes_to_another_seat(
        stack: Stack, page: Any) -> None:
    """Chromium frozen while a caller rings it: the controller hangs up the dead ring and logs the
    seat out once Asterisk finds the contact unreachable (qualify every WEBRTC_QUALIFY_S s); the
    caller waits in the queue, not with a dead phone, and the next seat to log in answers it. The
    last test of the module: the page's phone is gone afterwards (a browser lost mid-call:
    test_console_lost_midcall.py)."""
    wait_for("the browser seat available in the hotline queue", lambda: _available(stack), timeout=30)
    caller = _new_caller()
    with frozen_browser(page):
        call = stack.start_call("12345", caller, talk_ms=60000)
        try:
            live = next_seat_answers(stack, call, caller)
            stack.cli(f"channel request hangup {live['control']['caller_channel']}")
            record = stack.record_for(caller, timeout=30)
        finally:
            _end(call)
    assert record["seat"] == "1001" and record["outcome"] == "answered", record
    assert len([c for c in stack.calls() if c["caller_number"] == caller]) == 1
