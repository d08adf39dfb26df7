"""The hotspot warning (issue 13 item 4): on the wallboard in headless Chromium (no Asterisk
needed), and in the real controller on the rig (its round on the order service's test clock).

The real API, live hub (memory) and hotspot service on SQLite; a scripted stream of orders filed
through the order service (a week of 供水 and 道路 orders in 华龙区, then a burst of 供水). The
supervisor's open wallboard gets the alert through its event stream when the round raises it
(热点预警: 供水 6 件 / 近7日同期均值 1), acknowledges it with the button (every reader sees who), and
the alert leaves the board when the round clears it. Every wait is on the page's state."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .browser import chromium


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from chromium()


def test_the_wallboard_shows_acknowledges_and_clears_a_hotspot(browser: Any, tmp_path: Path) -> None:
    from aiohttp import web
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from hotline.api.app import build_app
    from hotline.auth.passwords import hash_password
    from hotline.auth.services import AuthService
    from hotline.calls.services import CallTracker, directory_for
    from hotline.compose import build_services
    from hotline.live.hub import LiveHub
    from hotline.store import Store

    s = site([{"name": "boss", "role": "supervisor", "password_hash": hash_password("boss-pass", iterations=1000)}])
    store = Store(f"sqlite:///{tmp_path}/hotline.db", timezone="Asia/Shanghai")
    store.upgrade()
    clock = Clock(local(20, 9, 0))
    hub = LiveHub("")

    async def no_ami(action: dict[str, str], **_: Any) -> Any:
        raise ConnectionError("no AMI in this test")

    directory = directory_for(s)
    services = build_services(s, store, ami_send=no_ami, hub=hub, order_clock=clock,   # the hotspots' clock too
                              tracker=CallTracker(directory, lambda record: None, on_partial=lambda call_id: None),
                              directory=directory, auth=AuthService.for_state_dir(s.users, tmp_path),
                              status=lambda: {}, database_status=lambda: {"ok": True})
    hotspots, orders = services.hotspots, services.work_orders
    loop = asyncio.new_event_loop()
    stream = Stream(store, orders, clock)
    loop.run_until_complete(stream.baseline())
    app = build_app(services)
    runner = web.AppRunner(app, shutdown_timeout=2.0)   # the page's event stream is open until the end
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def on_loop(coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(30)

    try:
        clock.at = local(20, 10, 0)
        on_loop(hotspots.check())                       # nothing hot yet
        wait = WebDriverWait(browser, 20)
        browser.get(f"http://127.0.0.1:{port}/wallboard")
        wait.until(ec.visibility_of_element_located((By.ID, "login-name"))).send_keys("boss")
        browser.find_element(By.ID, "login-password").send_keys("boss-pass")
        browser.find_element(By.ID, "login-submit").click()
        wait.until(ec.visibility_of_element_located((By.ID, "kpis")))
        assert not browser.find_element(By.ID, "hotspots").is_displayed()

        burst = [on_loop(stream.order(local(20, 10, m), "water", "hualong")) for m in range(1, 7)]
        clock.at = local(20, 10, 15)
        assert len(on_loop(hotspots.check()).raised) == 1   # pushed to the open page through the live stream
        item = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#hotspot-list .hotspot")))
        assert item.find_element(By.CSS_SELECTOR, ".text").text == "热点预警: 供水 6 件 / 近7日同期均值 1"
        assert "(6 倍 · 10:15 起)" in item.text and item.get_attribute("data-acked") == "no"   # site time
        [alert] = store_alerts(hotspots)
        assert (alert["first_ref"], alert["last_ref"]) == (burst[0], burst[-1])

        browser.find_element(By.CSS_SELECTOR, f'button[data-action="ack"][data-hotspot="{alert["id"]}"]').click()
        acked = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, '.hotspot[data-acked="yes"]')))
        assert "已确认 boss" in acked.text   # every wallboard is told (the hub's hotspot event)
        assert not browser.find_elements(By.CSS_SELECTOR, 'button[data-action="ack"]')
        assert store_alerts(hotspots)[0]["acked_by"] == "boss"

        clock.at = local(20, 11, 30)                    # the window holds no 供水 order any more
        assert on_loop(hotspots.check()).cleared == [alert["id"]]
        wait.until(lambda d: not d.find_element(By.ID, "hotspots").is_displayed())
    finally:
        browser.get("about:blank")   # closes the event stream
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        store.close()


def store_alerts(service: Any) -> list[dict[str, Any]]:
    return list(service.store.alerts(active=True)) or list(service.store.alerts(active=False))


TZ = dt.timezone(dt.timedelta(hours=8))


def local(day: int, hh: int, mm: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, hh, mm, tzinfo=TZ)


class Clock:
    """The order service's clock (the hotspot round's too), moved by the test."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def site(users: list[dict[str, Any]]) -> Any:
    from hotline.config import parse_site
    leader = {"name": "王局长", "phone": "13800000001"}
    return parse_site({
        "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
        "seats": [{"id": "1001", "name": "坐席1001", "secret": "seat-secret-1001"}],
        "orders": {"units": [{"id": "shuiwu", "name": "水务局", "leader": leader}],
                   "subjects": [{"id": "water", "name": "供水", "unit": "shuiwu"},
                                {"id": "road", "name": "道路", "unit": "shuiwu"}],
                   "areas": [{"id": "hualong", "name": "华龙区"}]},
        "hotspots": {"window_minutes": 60, "baseline_days": 7, "factor": 3.0, "min_count": 5},
        "users": users}, "hotspots.yaml")


class Stream:
    """Orders filed and started (subject, area) through the order service at the clock's time."""

    def __init__(self, store: Any, orders: Any, clock: Clock) -> None:
        from hotline.records.call import CallRecord, Outcome
        self.clock, self.orders = clock, orders
        store.upsert_call(CallRecord(call_id="1795000000.1", dialled_number="12345", caller_number="13800138000",
                                     arrived_at=local(1, 9, 0), outcome=Outcome.answered))

    async def order(self, at: dt.datetime, subject: str, area: str) -> str:
        from hotline.work_orders.schemas import WorkOrderCreate
        self.clock.at = at
        filed = await self.orders.create(WorkOrderCreate.model_validate_json(json.dumps({
            "call_ids": ["1795000000.1"], "title": "停水", "description": "小区停水", "category": "help",
            "created_by": "1001", "subject": subject, "area": area})))
        return str(filed["id"])

    async def baseline(self) -> None:
        """11-13 .. 11-19, 09:30-10:30: one 供水 and three 道路 orders in 华龙区 a day."""
        for day in range(13, 20):
            for minute, subject in ((40, "water"), (45, "road"), (50, "road"), (55, "road")):
                await self.order(local(day, 9, minute), subject, "hualong")


def test_the_controller_raises_and_clears_a_hotspot_from_filed_orders(stack: Any) -> None:
    """The real controller on the order service's test clock (its hotspot round then runs every
    0.5 s): six 劳动工资 orders filed through the API within the hour, with no baseline, reach the
    floor (min_count 5) and raise one alert that supervisors read (a seat is forbidden); two hours
    later on the clock it is cleared. Waits on the API's state, never a sleep."""
    from hotline.work_orders.testclock import ENV as CLOCK_ENV

    from .rig import http_json, wait_for

    clock_file = stack.workdir / "hotspot-clock"

    def at(when: dt.datetime) -> None:
        clock_file.write_text(when.isoformat() + "\n", encoding="utf-8")

    at(dt.datetime(2026, 11, 25, 9, 0, tzinfo=TZ))
    try:
        stack.stop_controller()
        stack.start_controller(env={CLOCK_ENV: str(clock_file)})
        r = stack.call("12345", "13900002201", talk_ms=1500)
        assert r.returncode == 0, r.stdout[-800:]
        call_id = stack.record_for("13900002201")["call_id"]
        ids = []
        for minute in range(1, 7):
            at(dt.datetime(2026, 11, 25, 10, minute, tzinfo=TZ))
            code, filed = http_json("POST", f"{stack.api}/api/work-orders", {
                "call_ids": [call_id], "title": "拖欠工资", "description": "工地拖欠工资", "category": "complaint",
                "created_by": "1001", "subject": "wage"})
            assert code == 201, filed
            ids.append(filed["id"])
        at(dt.datetime(2026, 11, 25, 10, 10, tzinfo=TZ))

        def active() -> list[dict[str, Any]] | None:
            code, body = http_json("GET", f"{stack.api}/api/hotspots", user="boss")
            assert code == 200, body
            return [a for a in body["active"] if a["key"] == "wage"] or None

        # A round may raise it between the 5th order and the 6th (the floor is 5): the alert keeps what
        # it was raised with (count, first and last order) and a later round updates its last_count.
        [alert] = wait_for("the hotspot round to raise 劳动工资 and count all 6 orders",
                           lambda: (a := active()) and a[0]["last_count"] == 6 and a)
        raised_with = alert["count"]
        assert raised_with in (5, 6), alert
        assert (alert["ratio"], alert["first_ref"], alert["last_ref"], alert["label"], alert["peak_count"]) == (
            None, ids[0], ids[raised_with - 1], "劳动工资", 6)
        code, body = http_json("GET", f"{stack.api}/api/hotspots", user="seat1001")
        assert code == 403 and body["error_id"] == "forbidden"

        at(dt.datetime(2026, 11, 25, 12, 30, tzinfo=TZ))

        def cleared() -> dict[str, Any] | None:
            _, body = http_json("GET", f"{stack.api}/api/hotspots", user="boss")
            return next((a for a in body["recent"] if a["id"] == alert["id"]), None)

        assert wait_for("the hotspot round to clear it", cleared)["active"] is False
    finally:
        stack.stop_controller()
        stack.start_controller()
