"""Seat and queue routes through aiohttp's test server: a real SeatService and an in-memory
LiveHub, Asterisk replaced by a recording ``send`` (as in test_seat_service.py)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hotline.ami.port import AmiPort
from hotline.config import parse_site
from hotline.live.hub import LiveHub
from hotline.seats.services import SeatService
from hotline.store import Store
from apikit import api_app

T = 1795444600.0

SITE: dict[str, Any] = {
    "site": {"name": "测试热线", "hotline_number": "12345", "default_queue": "hotline"},
    "trunks": [{"name": "carrier", "host": "192.0.2.10", "match": ["192.0.2.0/28"]}],
    "queues": [{"name": "hotline", "title": "市热线"}, {"name": "wrapq", "wrapup": 30}],
    "seats": [
        {"id": "1001", "name": "坐席 1001", "secret": "s3cret-1001", "queues": ["hotline", "wrapq"]},
        {"id": "1002", "name": "坐席 1002", "secret": "s3cret-1002", "queues": ["hotline"]},
    ],
}


class FakeAmi:
    def __init__(self) -> None:
        self.actions: list[dict[str, str]] = []
        self.down = False

    async def send(self, action: dict[str, str], timeout: float | None = None, as_list: bool | None = None) -> Any:
        if self.down:
            raise ConnectionError("not connected")
        self.actions.append(dict(action))
        return {"Response": "Success", "Message": "OK"}


class Env:
    def __init__(self, client: TestClient[Any, Any], seats: SeatService, hub: LiveHub, ami: FakeAmi) -> None:
        self.client, self.seats, self.hub, self.ami = client, seats, hub, ami

    async def call(self, method: str, path: str, status: int, **kwargs: Any) -> Any:
        response = await self.client.request(method, path, **kwargs)
        assert response.status == status, await response.text()
        assert response.content_type == "application/json"
        return await response.json()

    async def error(self, method: str, path: str, status: int, error_id: str, field: str | None = None,
                    **kwargs: Any) -> dict[str, Any]:
        body: dict[str, Any] = await self.call(method, path, status, **kwargs)
        assert set(body) == {"error_id", "message", "details"}
        assert body["error_id"] == error_id
        if field is not None:
            assert body["details"]["field"] == field
        return body


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    store = Store(f"sqlite:///{tmp_path / 'hotline.db'}")
    store.upgrade()
    site = parse_site(copy.deepcopy(SITE))
    ami, hub = FakeAmi(), LiveHub("")
    seats = SeatService(site, AmiPort(ami.send), hub, clock=lambda: T)
    seats.publish_all()
    app = api_app(store, site=site, seats=seats, live=hub)
    try:
        async with TestClient(TestServer(app)) as client:
            yield Env(client, seats, hub, ami)
    finally:
        seats.stop()
        store.close()


async def test_list_seats(env: Env) -> None:
    body = await env.call("GET", "/api/seats", 200)
    assert [(s["seat_id"], s["state"], s["name"]) for s in body["items"]] == [
        ("1001", "logged_out", "坐席 1001"), ("1002", "logged_out", "坐席 1002")]
    assert body["pause_reasons"] == [{"code": "break", "name": "小休"}, {"code": "training", "name": "培训"},
                                     {"code": "admin", "name": "整理"}, {"code": "meal", "name": "用餐"}]
    assert await env.call("GET", "/api/seats/1002", 200) == env.seats.view("1002")


async def test_a_seat_day(env: Env) -> None:
    login = await env.call("POST", "/api/seats/1001/login", 200)
    assert (login["state"], login["queues"]) == ("idle", ["hotline", "wrapq"])
    assert [a["Action"] for a in env.ami.actions] == ["QueueAdd", "QueueAdd"]
    paused = await env.call("POST", "/api/seats/1001/pause", 200, json={"reason": "小休"})
    assert (paused["state"], paused["reason"], paused["reason_name"]) == ("paused", "break", "小休")
    assert env.ami.actions[-1] == {"Action": "QueuePause", "Interface": "PJSIP/1001", "Paused": "true",
                                   "Reason": "break"}
    # a second pause changes the reason
    again = await env.call("POST", "/api/seats/1001/pause", 200, json={"reason": "training"})
    assert (again["state"], again["reason_name"]) == ("paused", "培训")
    unpaused = await env.call("POST", "/api/seats/1001/unpause", 200)
    assert (unpaused["state"], unpaused["reason"]) == ("idle", None)
    out = await env.call("POST", "/api/seats/1001/logout", 200)
    assert (out["state"], out["queues"]) == ("logged_out", [])
    assert [a["Action"] for a in env.ami.actions][-2:] == ["QueueRemove", "QueueRemove"]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "error_id", "field"), [
    ("GET", "/api/seats/9999", {}, 404, "no-such-seat", "seat_id"),
    ("POST", "/api/seats/9999/login", {}, 404, "no-such-seat", "seat_id"),
    ("POST", "/api/seats/9999/logout", {}, 404, "no-such-seat", "seat_id"),
    ("POST", "/api/seats/9999/unpause", {}, 404, "no-such-seat", "seat_id"),
    # the unknown seat is named before the body is looked at
    ("POST", "/api/seats/9999/pause", {"json": {"nonsense": 1}}, 404, "no-such-seat", "seat_id"),
    ("POST", "/api/seats/1001/pause", {"json": {"reason": "nap"}}, 422, "unknown-pause-reason", "reason"),
    ("POST", "/api/seats/1001/pause", {"json": {}}, 400, "invalid-request", "reason"),
    ("POST", "/api/seats/1001/pause", {}, 400, "invalid-request", "reason"),
    ("POST", "/api/seats/1001/pause", {"json": {"reason": "break", "until": "12:00"}}, 400, "invalid-request",
     "until"),
    ("POST", "/api/seats/1001/pause", {"json": {"reason": 1}}, 400, "invalid-request", "reason"),
    ("POST", "/api/seats/1001/pause", {"json": {"reason": ""}}, 400, "invalid-request", "reason"),
    ("POST", "/api/seats/1001/pause", {"data": b"{not json", "headers": {"Content-Type": "application/json"}},
     400, "invalid-request", None),
    # 1001 is logged out: the state machine answers, nothing is sent
    ("POST", "/api/seats/1001/pause", {"json": {"reason": "break"}}, 409, "seat-not-logged-in", None),
    ("POST", "/api/seats/1001/logout", {}, 409, "seat-not-logged-in", None),
    ("POST", "/api/seats/1001/unpause", {}, 409, "seat-not-paused", None),
    ("GET", "/api/queues/nope", {}, 404, "no-such-queue", "queue"),
], ids=["get-unknown", "login-unknown", "logout-unknown", "unpause-unknown", "pause-unknown-bad-body",
        "unknown-reason", "no-reason", "no-body", "extra-field", "reason-not-text", "reason-empty", "not-json",
        "pause-logged-out", "logout-logged-out", "unpause-not-paused", "no-such-queue"])
async def test_errors(env: Env, method: str, path: str, kwargs: dict[str, Any], status: int, error_id: str,
                      field: str | None) -> None:
    await env.error(method, path, status, error_id, field, **kwargs)
    assert env.ami.actions == []
    assert all(s["state"] == "logged_out" for s in env.seats.views())


async def test_login_twice_is_409(env: Env) -> None:
    await env.call("POST", "/api/seats/1002/login", 200)
    body = await env.error("POST", "/api/seats/1002/login", 409, "seat-already-logged-in")
    assert body["details"] == {"seat_id": "1002", "state": "idle"}


async def test_ami_down_is_503(env: Env) -> None:
    env.ami.down = True
    await env.error("POST", "/api/seats/1002/login", 503, "call-control-unavailable")
    assert env.seats.view("1002")["state"] == "logged_out"


async def test_queues(env: Env) -> None:
    await env.call("POST", "/api/seats/1002/login", 200)
    env.seats.on_ami_event({"Event": "QueueCallerJoin", "Queue": "hotline", "CallerIDNum": "13812345678",
                            "Uniqueid": "1795444590.1", "Linkedid": "1795444590.1", "Position": "1", "Count": "1"})
    body = await env.call("GET", "/api/queues", 200)
    assert [q["name"] for q in body["items"]] == ["hotline", "wrapq"]
    hotline = await env.call("GET", "/api/queues/hotline", 200)
    assert hotline == {"name": "hotline", "title": "市热线", "waiting": 1, "longest_wait_since": T,
                       "entries": [{"call_id": "1795444590.1", "caller": "138****5678", "since": T, "position": 1,
                                    "priority": 0}],
                       "logged_in": 1, "available": 1}
    assert body["items"][0] == hotline
    wrapq = await env.call("GET", "/api/queues/wrapq", 200)
    assert (wrapq["waiting"], wrapq["logged_in"], wrapq["available"]) == (0, 0, 0)


async def test_live(env: Env) -> None:
    await env.call("POST", "/api/seats/1001/login", 200)
    body = await env.call("GET", "/api/live", 200)
    assert body["live"] == {"ok": True, "backend": "memory", "error": None}
    assert [(s["seat_id"], s["state"]) for s in body["seats"]] == [("1001", "idle"), ("1002", "logged_out")]
    assert [(q["name"], q["logged_in"]) for q in body["queues"]] == [("hotline", 1), ("wrapq", 1)]
    assert body["kpi"] == {} and isinstance(body["ts"], float)
