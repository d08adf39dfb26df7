"""The audit log: what is recorded (a table), the middleware over a real SQLite store, the route."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hotline.api.app import build_app
from hotline.audit.services import action_name, body_detail, should_audit, target_of
from hotline.auth.services import AuthService
from hotline.config.site import Role
from hotline.store import Store

from authkit import bearer, login, site_with_users
from apikit import api_services


@pytest.mark.parametrize(("method", "path", "role", "own", "seat", "audited"), [
    ("POST", "/api/work-orders", Role.supervisor, "1003", None, True),
    ("DELETE", "/api/calls/1.2/conference/seat", Role.admin, None, None, True),
    ("GET", "/api/calls", Role.supervisor, "1003", None, False),
    ("POST", "/api/work-orders", Role.seat, "1001", None, False),
    ("POST", "/api/seats/1001/pause", Role.seat, "1001", "1001", False),     # own seat
    ("POST", "/api/seats/1001/pause", Role.supervisor, "1003", "1001", True),
    ("GET", "/api/seats/1001", Role.supervisor, "1003", "1001", True),       # another user's seat, even a read
    ("GET", "/api/seats/1003", Role.supervisor, "1003", "1003", False),
    ("POST", "/wallboard", Role.admin, None, None, False),
])
def test_what_is_audited(method: str, path: str, role: Role, own: str | None, seat: str | None,
                         audited: bool) -> None:
    assert should_audit(method, path, role, own, seat) is audited


@pytest.mark.parametrize(("method", "route", "action"), [
    ("POST", "/api/seats/{seat_id}/pause", "seats.pause"),
    ("POST", "/api/seats/{seat_id}/spy", "seats.spy"),
    ("POST", "/api/work-orders", "work-orders"),
    ("DELETE", "/api/calls/{call_id}/conference/{party}", "calls.conference.delete"),
    ("GET", "/api/seats/{seat_id}", "seats.get"),
])
def test_action_names(method: str, route: str, action: str) -> None:
    assert action_name(method, route) == action


@pytest.mark.parametrize(("info", "target"), [
    ({}, None), ({"seat_id": "1001"}, "seat:1001"), ({"call_id": "1.2", "party": "seat"}, "call:1.2/party:seat"),
])
def test_targets(info: dict[str, str], target: str | None) -> None:
    assert target_of(info) == target


@pytest.mark.parametrize(("body", "query", "detail"), [
    (b"", {}, {}),
    (b'{"reason": "break"}', {}, {"body": {"reason": "break"}}),
    (b'{"name": "a", "password": "p"}', {}, {"body": {"name": "a", "password": "***"}}),
    (b"not json", {"x": "1"}, {"query": {"x": "1"}, "body_bytes": 8}),
    (b"[1, 2]", {}, {"body": [1, 2]}),
])
def test_body_detail(body: bytes, query: dict[str, str], detail: dict[str, Any]) -> None:
    assert body_detail(body, query) == detail


async def _app(store: Any, tmp_path: Path) -> web.Application:
    """The real app; seats 1001 and 1002 logged in (through the service: no audit row), so a
    pause is accepted."""
    site = site_with_users()
    services = api_services(store, status=lambda: {}, site=site, auth=AuthService.for_state_dir(site.users, tmp_path))
    for seat in ("1001", "1002"):
        await services.seats.login(seat)
    return build_app(services)


async def test_supervisor_writes_are_recorded_with_their_status(sqlite_store: Store, tmp_path: Path) -> None:
    async with TestClient(TestServer(await _app(sqlite_store, tmp_path))) as client:
        boss, seat = await login(client, "boss"), await login(client, "s1001")
        assert (await client.post("/api/seats/1001/pause", json={"reason": "break"}, headers=bearer(boss))).status == 200
        assert (await client.post("/api/seats/1002/pause", json={"reason": "nap"}, headers=bearer(boss))).status == 422
        bad = await client.post("/api/work-orders", json={"title": "x"}, headers=bearer(boss))
        assert bad.status == 400
        await client.post("/api/seats/1001/pause", json={"reason": "break"}, headers=bearer(seat))   # own seat
        await client.get("/api/calls", headers=bearer(boss))                                         # a read
        page = await (await client.get("/api/audit", headers=bearer(boss))).json()
        rows = [(r["user"], r["role"], r["action"], r["target"], r["status"], r["detail"]) for r in page["items"]]
        assert rows == [
            ("boss", "supervisor", "work-orders", None, 400, {"body": {"title": "x"}}),
            ("boss", "supervisor", "seats.pause", "seat:1002", 422, {"body": {"reason": "nap"}}),
            ("boss", "supervisor", "seats.pause", "seat:1001", 200, {"body": {"reason": "break"}}),
        ]
        assert datetime.fromisoformat(page["items"][0]["at"]).utcoffset() is not None
        only = await (await client.get("/api/audit?action=seats.pause&limit=1", headers=bearer(boss))).json()
        assert [r["target"] for r in only["items"]] == ["seat:1002"]
        assert (await (await client.get("/api/audit?user=s1001", headers=bearer(boss))).json())["items"] == []
        bad_limit = await client.get("/api/audit?limit=x", headers=bearer(boss))
        assert bad_limit.status == 400


class _BrokenStore:
    """Audit writes fail (the database is down); everything else is the real store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add_audit(self, **_: Any) -> int:
        raise OSError("database down")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


async def test_a_failed_audit_write_does_not_fail_the_request(sqlite_store: Store, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    async with TestClient(TestServer(await _app(_BrokenStore(sqlite_store), tmp_path))) as client:
        boss = await login(client, "boss")
        with caplog.at_level(logging.ERROR, logger="hotline.audit.middleware"):
            response = await client.post("/api/seats/1001/pause", json={"reason": "break"}, headers=bearer(boss))
        assert response.status == 200
        assert "audit write failed for POST /api/seats/1001/pause by boss" in caplog.text
