"""The HTTP API over a real SQLite store, through aiohttp's test server."""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.orm import Session

from hotline.api.app import StatusProvider
from hotline.records.call import CallRecord, Outcome
from hotline.store import Store
from apikit import api_app

MakeCall = Callable[..., CallRecord]
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@asynccontextmanager
async def serve(store: Store, status: StatusProvider = lambda: {"ami": {"ok": True}}
                ) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(api_app(store, status=status))) as client:
        yield client


@pytest.fixture
async def client(sqlite_store: Store) -> AsyncIterator[TestClient[Any, Any]]:
    async with serve(sqlite_store) as c:
        yield c


@pytest.fixture
def calls(sqlite_store: Store, make_call: MakeCall) -> list[CallRecord]:
    """Four calls an hour apart, oldest first."""
    records = [
        make_call("c0", arrived_at=T0, outcome=Outcome.answered, extra={"note": "咨询社保"}),
        make_call("c1", arrived_at=T0 + timedelta(hours=1), outcome=Outcome.abandoned_in_queue),
        make_call("c2", arrived_at=T0 + timedelta(hours=2), dialled_number="96196"),
        make_call("c3", arrived_at=T0 + timedelta(hours=3), outcome=Outcome.failed),
    ]
    for record in records:
        sqlite_store.upsert_call(record)
    return records


async def get_json(client: TestClient[Any, Any], path: str, status: int) -> Any:
    response = await client.get(path)
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    return await response.json()


async def assert_error(response: Any, status: int, error_id: str, field: str | None = None) -> dict[str, Any]:
    assert response.status == status, await response.text()
    body: dict[str, Any] = await response.json()
    assert set(body) == {"error_id", "message", "details"}
    assert body["error_id"] == error_id
    if field is not None:
        assert body["details"]["field"] == field
    return body


# --- /status ------------------------------------------------------------------------


async def _async_status() -> dict[str, Any]:
    return {"ami": {"ok": True, "connected_since": "2026-11-23T01:00:00+00:00"},
            "fastagi": {"ok": False, "error": "port 4573 in use"}}


@pytest.mark.parametrize(("status", "expected_code", "expected_body"), [
    (lambda: {"ami": {"ok": True}, "fastagi": {"ok": True}}, 200,
     {"ami": {"ok": True}, "fastagi": {"ok": True}, "database": {"ok": True}}),
    (_async_status, 503,
     {"ami": {"ok": True, "connected_since": "2026-11-23T01:00:00+00:00"},
      "fastagi": {"ok": False, "error": "port 4573 in use"}, "database": {"ok": True}}),
    (lambda: {}, 200, {"database": {"ok": True}}),
], ids=["all-ok-sync", "one-down-async", "database-only"])
async def test_status_reports_every_component(sqlite_store: Store, status: StatusProvider,
                                              expected_code: int, expected_body: dict[str, Any]) -> None:
    async with serve(sqlite_store, status) as client:
        assert await get_json(client, "/status", expected_code) == expected_body


async def test_status_is_503_when_the_database_is_down(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'missing' / 'hotline.db'}")
    try:
        async with serve(store) as client:
            body = await get_json(client, "/status", 503)
            assert body == {"ami": {"ok": True}, "database": {"ok": False}}
            await assert_error(await client.get("/api/calls"), 503, "store-unavailable")
    finally:
        store.close()


# --- /api/calls ---------------------------------------------------------------------


async def test_list_calls_defaults(client: TestClient[Any, Any], calls: list[CallRecord]) -> None:
    body = await get_json(client, "/api/calls", 200)
    assert body == {"items": [r.to_dict() for r in reversed(calls)], "total": 4, "limit": 50, "offset": 0}
    assert body["items"][-1]["extra"] == {"note": "咨询社保"}


@pytest.mark.parametrize(("query", "ids", "total"), [
    (f"start={quote((T0 + timedelta(hours=1)).isoformat())}", ["c3", "c2", "c1"], 3),
    ("start=2026-11-23T10:00:00%2B08:00&end=2026-11-23T11:00:00.001%2B08:00", ["c2", "c1"], 2),
    ("end=2026-11-23T02:30:00Z", ["c1", "c0"], 2),
    ("dialled_number=96196", ["c2"], 1),
    ("outcome=abandoned_in_queue", ["c1"], 1),
    ("limit=2", ["c3", "c2"], 4),
    ("limit=2&offset=3", ["c0"], 4),
    ("outcome=&dialled_number=&start=", ["c3", "c2", "c1", "c0"], 4),  # empty means absent
])
async def test_list_calls_filters(client: TestClient[Any, Any], calls: list[CallRecord], query: str,
                                  ids: list[str], total: int) -> None:
    body = await get_json(client, f"/api/calls?{query}", 200)
    assert [item["call_id"] for item in body["items"]] == ids
    assert body["total"] == total


@pytest.mark.parametrize(("query", "field", "in_message"), [
    ("limit=0", "limit", "between 1 and 500"),
    ("limit=501", "limit", "between 1 and 500"),
    ("limit=ten", "limit", "integer"),
    ("limit=5_0", "limit", "integer"),
    ("offset=-1", "offset", "negative"),
    ("start=yesterday", "start", "ISO 8601"),
    ("start=2026-11-23T10:00:00+08:00", "start", "encode '+' as %2B"),
    ("start=2026-11-23T10:00:00", "start", "UTC offset"),
    ("start=2026-11-23T10:00:00Z&end=2026-11-23T09:00:00Z", "end", "after start"),
    ("outcome=lost", "outcome", "answered"),
    ("dialled_number=12345abc", "dialled_number", "digits"),
    ("dialed_number=12345", "dialed_number", "unknown query parameter"),
    ("limit=1&limit=2", "limit", "more than once"),
])
async def test_list_calls_bad_parameters(client: TestClient[Any, Any], query: str, field: str,
                                         in_message: str) -> None:
    body = await assert_error(await client.get(f"/api/calls?{query}"), 400, "invalid-request", field)
    assert in_message in body["message"]


async def test_get_call(client: TestClient[Any, Any], calls: list[CallRecord]) -> None:
    assert await get_json(client, "/api/calls/c0", 200) == calls[0].to_dict()
    body = await assert_error(await client.get("/api/calls/nope"), 404, "no-such-call")
    assert body["details"] == {"call_id": "nope"}


# --- /api/work-orders ---------------------------------------------------------------

ORDER = {"call_ids": ["c1", "c0"], "title": "道路积水", "description": "路口积水严重，请尽快处理",
         "category": "help", "created_by": "1001"}


async def test_create_and_get_work_order(client: TestClient[Any, Any], calls: list[CallRecord]) -> None:
    response = await client.post("/api/work-orders", json=ORDER)
    assert response.status == 201, await response.text()
    created = await response.json()
    assert response.headers["Location"] == f"/api/work-orders/{created['id']}"
    assert {k: created[k] for k in ORDER} == {**ORDER, "call_ids": ["c0", "c1"]}
    assert (created["status"], created["caller_confidential"]) == ("open", False)
    assert await get_json(client, response.headers["Location"], 200) == created


async def test_complaint_is_confidential_by_default(client: TestClient[Any, Any],
                                                    calls: list[CallRecord]) -> None:
    response = await client.post("/api/work-orders", json={**ORDER, "category": "complaint"})
    assert (await response.json())["caller_confidential"] is True
    response = await client.post("/api/work-orders",
                                 json={**ORDER, "category": "consult", "caller_confidential": True})
    assert (await response.json())["caller_confidential"] is True


async def test_unknown_work_order(client: TestClient[Any, Any]) -> None:
    body = await assert_error(await client.get("/api/work-orders/WO-20261123-999999"), 404, "no-such-work-order")
    assert body["details"] == {"work_order_id": "WO-20261123-999999"}


@pytest.mark.parametrize(("body", "field", "value"), [
    (b"{not json", "body", None),
    (b'["c0"]', "body", "['c0']"),
    ({**ORDER, "priority": "high"}, "priority", "'high'"),
    ({k: v for k, v in ORDER.items() if k != "title"}, "title", None),
    ({**ORDER, "title": "   "}, "title", "'   '"),  # the value as sent
    ({**ORDER, "title": "a\nb"}, "title", "'a\\nb'"),
    ({**ORDER, "category": "gossip"}, "category", "'gossip'"),
    ({**ORDER, "category": "投诉"}, "category", "'投诉'"),
    ({**ORDER, "created_by": "seat-1"}, "created_by", "'seat-1'"),
    ({**ORDER, "created_by": 1001}, "created_by", "1001"),
    ({**ORDER, "call_ids": []}, "call_ids", "[]"),
    ({**ORDER, "call_ids": "c0"}, "call_ids", "'c0'"),
    ({**ORDER, "call_ids": ["c0", 7]}, "call_ids[1]", "7"),
    ({**ORDER, "caller_confidential": "yes"}, "caller_confidential", "'yes'"),
    ({**ORDER, "call_ids": ["c0", "ghost"]}, "call_ids", "'ghost'"),
    ({**ORDER, "call_ids": ["c0", "c0"]}, "call_ids", "'c0'"),
])
async def test_bad_work_order_bodies(client: TestClient[Any, Any], calls: list[CallRecord],
                                     body: Any, field: str, value: str | None) -> None:
    if isinstance(body, bytes):
        response = await client.post("/api/work-orders", data=body,
                                     headers={"Content-Type": "application/json"})
    else:
        response = await client.post("/api/work-orders", json=body)
    error = await assert_error(response, 400, "invalid-request", field)
    assert error["details"]["value"] == value


async def test_oversized_body_is_413(client: TestClient[Any, Any]) -> None:
    response = await client.post("/api/work-orders", data=io.BytesIO(b"x" * (1024 ** 2 + 1)),
                                 headers={"Content-Type": "application/json"})
    await assert_error(response, 413, "request-too-large")


# --- errors of the application itself ----------------------------------------------


async def test_unknown_route_and_method(client: TestClient[Any, Any]) -> None:
    body = await assert_error(await client.get("/api/nothing"), 404, "no-such-route")
    assert body["details"] == {"method": "GET", "path": "/api/nothing"}
    response = await client.delete("/api/calls")
    await assert_error(response, 405, "method-not-allowed")
    assert response.headers["Allow"] == "GET,HEAD"


class BrokenStore(Store):
    def get_call(self, call_id: str) -> CallRecord:
        raise RuntimeError(f"bug while reading {call_id} with password hunter2")


async def test_unexpected_error_is_500_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = BrokenStore(f"sqlite:///{tmp_path / 'hotline.db'}")
    try:
        async with serve(store) as client:
            with caplog.at_level(logging.ERROR, logger="hotline.api.app"):
                body = await assert_error(await client.get("/api/calls/c9"), 500, "internal-error")
    finally:
        store.close()
    assert "hunter2" not in str(body)
    assert "Traceback" in caplog.text and "hunter2" in caplog.text


class SlowStore(Store):
    """Once armed, every session blocks its thread until released, as a slow database would."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.armed = False
        self.release = threading.Event()

    def session(self) -> AbstractContextManager[Session]:
        if self.armed:
            self.release.wait(10)
        return super().session()


async def test_a_slow_store_does_not_block_the_loop(tmp_path: Path) -> None:
    store = SlowStore(f"sqlite:///{tmp_path / 'hotline.db'}")
    store.upgrade()
    try:
        async with serve(store) as client:
            store.armed = True
            slow = asyncio.create_task(client.get("/api/calls"))
            await asyncio.sleep(0.05)
            await get_json(client, "/openapi.json", 200)
            assert not slow.done()
            store.release.set()
            assert (await slow).status == 200
    finally:
        store.release.set()
        store.close()
