"""The wallboard and listen/whisper/barge with the real stack (part 8 of issue #3).

A seat logged in and on a call (a sipp caller held on the line), the wallboard in headless
Chromium driven by Selenium: log in as the supervisor, see the seat talking and the queue, force
a pause with a reason and see the seat go paused, then find the audit row through the API.
Listen: the supervisor's phone (a sipp UAS registered as the seat rig.SUPERVISOR_PHONE) rings,
ChanSpy runs on the seat's channel and the supervisor's leg carries RTP.

Needs the live hub and the seat service (hotline/live, hotline/seats) in the controller; every
wait is on page or call state, never a fixed sleep.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from .browser import chromium
from .rig import SEATS, SUPERVISOR_PHONE, USERS, Stack, http_json, rtp_channel_id, wait_for

CALLERS = iter(f"138123456{n:02d}" for n in range(100))   # a new caller per call: records stay apart


@pytest.fixture(scope="module")
def floor(stack: Stack) -> Iterator[Stack]:
    """Every seat logged in (a seat already in is fine), none paused; the supervisor's phone registered."""
    for seat in SEATS:
        stack.login_seat(seat)
        code, body = http_json("POST", f"{stack.api}/api/seats/{seat}/unpause")
        assert code == 200 or body["error_id"] == "seat-not-paused", body
    stack.register(*SUPERVISOR_PHONE)
    wait_for("the supervisor's phone reachable",
             lambda: "Avail " in stack.cli(f"pjsip show contacts like {SUPERVISOR_PHONE[0]}"), timeout=30)
    yield stack
    for seat in SEATS:
        http_json("POST", f"{stack.api}/api/seats/{seat}/unpause")


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from chromium()


class HeldCall:
    """A caller on the line until the test ends, answered by a seat."""

    def __init__(self, stack: Stack, caller: str) -> None:
        self.stack, self.caller = stack, caller
        self.proc = stack.start_call("12345", caller)
        self.live = wait_for(f"{caller} answered by a seat", self._answered, timeout=30)
        self.seat_channel: str = self.live["control"]["seat_channel"]
        self.caller_channel: str = self.live["control"]["caller_channel"]
        self.seat = self.seat_channel.removeprefix("PJSIP/").split("-", 1)[0]
        self.masked = caller[:3] + "****" + caller[-4:]

    def _answered(self) -> dict[str, Any] | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"caller {self.caller} ended before a seat answered")
        code, body = http_json("GET", f"{self.stack.api}/api/calls/live")
        assert code == 200, body
        return next((c for c in body["items"] if c["caller_number"] == self.caller
                     and (c.get("control") or {}).get("seat_channel")), None)

    def end(self) -> None:
        """Hang up on the platform side (sipp stopped by a signal sends no BYE), then stop sipp."""
        self.stack.cli(f"channel request hangup {self.caller_channel}")
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def held_call(floor: Stack) -> Iterator[HeldCall]:
    call = HeldCall(floor, next(CALLERS))
    try:
        yield call
    finally:
        call.end()
        wait_for("the held call's channels gone", lambda: not {call.caller_channel, call.seat_channel}
                 & set(floor.channels()), timeout=30)


def test_wallboard_page_against_a_fake_hub(browser: Any, tmp_path: Any) -> None:
    """The page alone (no Asterisk): login errors, masking, the degraded banner, KPIs, ticking
    times and a forced pause, against the real API with a fake hub and a fake pause route."""
    import asyncio
    import threading
    import time

    from aiohttp import web
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    import dataclasses

    from hotline.api.app import build_app
    from hotline.auth.passwords import hash_password
    from hotline.auth.services import AuthService
    from hotline.calls.services import CallTracker, directory_for
    from hotline.compose import build_services
    from hotline.config import parse_site
    from hotline.live.hub import LiveHub
    from hotline.store import Store

    site = parse_site({"trunks": [{"name": "c", "host": "127.0.0.2"}],
                       "seats": [{"id": "1001", "name": "坐席1001", "secret": "seat-secret-1001"}],
                       "users": [{"name": "boss", "role": "supervisor",
                                  "password_hash": hash_password("boss-pass", iterations=1000)}]}, "t.yaml")
    store = Store(f"sqlite:///{tmp_path}/hotline.db")
    store.upgrade()
    hub = _FakeHub()

    class FakeSeats:   # the seat service behind the real pause route, faked: the hub tells the page
        def view(self, seat_id: str) -> dict[str, Any]:
            return hub.seat

        async def pause(self, seat_id: str, reason: str, queue: str | None = None) -> dict[str, Any]:
            seat = {**hub.seat, "state": "paused", "reason": reason, "reason_name": "培训", "since": time.time()}
            hub.publish({"type": "seat", "data": seat})
            return seat

    async def no_ami(action: dict[str, str], **_: Any) -> Any:
        raise ConnectionError("no AMI in this test")

    directory = directory_for(site)
    services = build_services(site, store, ami_send=no_ami, hub=LiveHub(""),
                              tracker=CallTracker(directory, lambda record: None, on_partial=lambda call_id: None),
                              directory=directory, auth=AuthService.for_state_dir(site.users, tmp_path),
                              status=lambda: {}, database_status=lambda: {"ok": True})
    app = build_app(dataclasses.replace(services, live=hub, seats=FakeSeats()))  # type: ignore[arg-type]

    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, shutdown_timeout=2.0)   # the page's event stream is open until the end
    loop.run_until_complete(runner.setup())
    site_ = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site_.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    hub.loop = loop
    try:
        wait = WebDriverWait(browser, 20)
        browser.get(f"http://127.0.0.1:{port}/wallboard")
        wait.until(ec.visibility_of_element_located((By.ID, "login-name"))).send_keys("boss")
        browser.find_element(By.ID, "login-password").send_keys("wrong-pass")
        browser.find_element(By.ID, "login-submit").click()
        wait.until(lambda d: d.find_element(By.ID, "login-error").text == "unknown user or wrong password")
        browser.find_element(By.ID, "login-password").send_keys("boss-pass")
        browser.find_element(By.ID, "login-submit").click()
        card = wait.until(ec.visibility_of_element_located(
            (By.CSS_SELECTOR, '.seat[data-seat="1001"][data-state="talking"]')))
        assert not browser.find_element(By.ID, "login").is_displayed()
        assert "138****1234" in card.text and "13812341234" not in browser.page_source
        assert "139****1111" in browser.find_element(By.CSS_SELECTOR, 'tr[data-queue="hotline"]').text
        assert browser.find_element(By.ID, "kpi-answer-rate").text == "95.0%"
        assert browser.find_element(By.ID, "kpi-answer-rate-15s").text == "90.0%"
        assert browser.find_element(By.ID, "kpi-abandoned").text == "2"
        assert "alarm" in browser.find_element(By.ID, "kpi-rolling-box").get_attribute("class")
        banner = wait.until(ec.visibility_of_element_located((By.ID, "degraded")))
        assert "connection refused" in banner.text
        longest = browser.find_element(By.CSS_SELECTOR, 'tr[data-queue="hotline"] .longest')
        first = longest.text
        wait.until(lambda d: longest.text != first)   # ticks client-side, no event needed
        reason = browser.find_element(By.CSS_SELECTOR, 'select.reason[data-seat="1001"]')
        Select(reason).select_by_value("training")
        # another event for the seat arrives while the supervisor chooses: the choice stays put
        loop.call_soon_threadsafe(hub.publish, {"type": "seat", "data": {**hub.seat, "since": time.time() - 3600}})
        wait.until(lambda d: card.find_element(By.CSS_SELECTOR, ".since").text.startswith("1:00:"))
        assert Select(reason).first_selected_option.get_attribute("value") == "training"   # not replaced
        browser.find_element(By.CSS_SELECTOR, 'button[data-action="pause"][data-seat="1001"]').click()
        paused = wait.until(ec.visibility_of_element_located(
            (By.CSS_SELECTOR, '.seat[data-seat="1001"][data-state="paused"]')))
        assert "培训" in paused.text
        rows = store.list_audit(action="seats.pause")
        assert [(r["user"], r["target"], r["status"]) for r in rows] == [("boss", "seat:1001", 200)]
    finally:
        browser.get("about:blank")   # closes the event stream
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        store.close()


class _FakeHub:
    """hotline.live.hub.LiveHub's reading surface with one seat on a call, one caller waiting and
    Redis down."""

    def __init__(self) -> None:
        import time
        now = time.time()
        self.loop: Any = None
        self.seat = {"seat_id": "1001", "name": "坐席1001", "state": "talking", "since": now - 65, "reason": None,
                     "reason_name": None, "queues": ["hotline"], "call_id": "1.1", "caller": "13812341234",
                     "county": None, "remote": False}
        self.state = {"ts": now, "live": {"ok": False, "backend": "redis", "error": "connection refused"},
                      "seats": [self.seat],
                      "queues": [{"name": "hotline", "title": None, "waiting": 1, "logged_in": 1, "available": 0,
                                  "entries": [{"call_id": "1.2", "caller": "13900001111", "since": now - 30,
                                               "position": 1, "priority": 0}]}],
                      "kpi": {"answer_rate": 0.95, "answer_rate_15s": 0.9, "abandoned": 2,
                              "rolling_24h": {"answer_rate": 0.9, "threshold": 0.95, "alarm": True}}}
        self._subscribers: list[Any] = []

    def snapshot(self) -> dict[str, Any]:
        return self.state

    def publish(self, event: dict[str, Any]) -> None:
        for inbox in self._subscribers:
            inbox.put_nowait(event)

    async def subscribe(self) -> Any:
        import asyncio
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscribers.append(inbox)
        try:
            while True:
                yield await inbox.get()
        finally:
            self._subscribers.remove(inbox)


def test_supervisor_sees_the_floor_and_forces_a_pause(floor: Stack, held_call: HeldCall, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 30)
    seat = held_call.seat
    browser.get(f"{floor.api}/wallboard")
    wait.until(ec.visibility_of_element_located((By.ID, "login-name"))).send_keys("boss")
    browser.find_element(By.ID, "login-password").send_keys(USERS["boss"][2])
    browser.find_element(By.ID, "login-submit").click()

    talking = f'.seat[data-seat="{seat}"][data-state="talking"]'
    card = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, talking)))
    wait.until(lambda d: held_call.masked in d.find_element(By.CSS_SELECTOR, talking).text)
    assert held_call.caller not in browser.page_source         # the complainant's number never reaches the page
    assert card.find_element(By.CSS_SELECTOR, ".since").text   # time in state is shown and ticking
    row = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, 'tr[data-queue="hotline"]')))
    wait.until(lambda d: int(row.find_element(By.CSS_SELECTOR, ".logged-in").text or 0) >= 1)
    assert browser.find_element(By.ID, "degraded").is_displayed() is False
    # the cookie is HttpOnly: the page's script cannot read the token
    assert "hotline_token" not in browser.execute_script("return document.cookie")

    Select(browser.find_element(By.CSS_SELECTOR, f'select.reason[data-seat="{seat}"]')).select_by_value("training")
    browser.find_element(By.CSS_SELECTOR, f'button[data-action="pause"][data-seat="{seat}"]').click()
    wait.until(lambda d: "pause ✓" in d.find_element(By.ID, "action-result").text)
    paused = wait.until(ec.visibility_of_element_located(
        (By.CSS_SELECTOR, f'.seat[data-seat="{seat}"][data-state="paused"]')))
    wait.until(lambda d: "培训" in paused.text)

    def audit_row() -> dict[str, Any] | None:
        code, body = http_json("GET", f"{floor.api}/api/audit?action=seats.pause&user=boss")
        assert code == 200, body
        return next((r for r in body["items"] if r["target"] == f"seat:{seat}"), None)
    row_ = wait_for("the audit row of the forced pause", audit_row, timeout=10)
    assert (row_["role"], row_["status"], row_["detail"]["body"]) == ("supervisor", 200, {"reason": "training"})


def test_a_seat_user_cannot_use_the_wallboard_or_another_seat(floor: Stack) -> None:
    code, body = http_json("GET", f"{floor.api}/api/audit", user="seat1001")
    assert (code, body["error_id"]) == (403, "forbidden")
    code, body = http_json("POST", f"{floor.api}/api/seats/1002/pause", {"reason": "break"}, user="seat1001")
    assert (code, body["error_id"]) == (403, "forbidden")
    code, body = http_json("GET", f"{floor.api}/api/calls", user=None)
    assert (code, body["error_id"]) == (401, "auth-required")


def test_spy_on_a_seat_without_a_call_is_refused(floor: Stack) -> None:
    code, body = http_json("POST", f"{floor.api}/api/seats/1002/spy", {"mode": "listen"}, user="boss")
    if code == 202:   # 1002 is on a call left by another test: not this test's case
        pytest.skip("seat 1002 is on a call")
    assert (code, body["error_id"]) == (409, "seat-not-on-call")
    code, body = http_json("POST", f"{floor.api}/api/seats/1001/spy", {"mode": "listen"}, user="admin")
    assert (code, body["error_id"]) == (409, "no-supervisor-phone")


def test_supervisor_listens_to_a_call(floor: Stack, held_call: HeldCall) -> None:
    code, body = http_json("POST", f"{floor.api}/api/seats/{held_call.seat}/spy", {"mode": "listen"}, user="boss")
    assert code == 202, body
    assert body["channels"] == [held_call.seat_channel]
    wait_for("a ChanSpy channel", lambda: "ChanSpy(" in floor.cli("core show channels"), timeout=20)
    supervisor = wait_for("the supervisor's leg", lambda: next(
        (name for name in floor.channels() if name.startswith(f"PJSIP/{SUPERVISOR_PHONE[0]}-")), None), timeout=20)

    def supervisor_rtp() -> bool:
        counts = floor.rtp_counts().get(rtp_channel_id(supervisor), [])
        return any(received > 20 and sent > 20 for received, sent in counts)
    wait_for(f"RTP both ways on {supervisor}", supervisor_rtp, timeout=20)
    # the caller and the seat are still talking to each other, untouched
    assert held_call.proc.poll() is None and held_call.seat_channel in floor.channels()
