"""Exports of any search (``format=csv|xlsx`` on ``GET /api/calls`` and ``GET /api/work-orders``):
complete, read a page at a time (a few thousand calls), numbers masked by the API's role rule
and a full-number export audited once; a call's orders and an order's calls (both directions)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from aiohttp.test_utils import TestClient

import hotline.calls.export as call_export
import hotline.work_orders.export as order_export
from hotline.records.call import Outcome
from hotline.store import Store
from hotline.store.models import CallRow
from hotline.store.rows import call_values
from hotline.store.store import MAX_PAGE

from authkit import bearer, login, serve
from conftest import MakeCall

T0 = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
N = 3000


def _bulk_calls(store: Store, make_call: MakeCall, n: int) -> None:
    with store.session() as session:
        for i in range(n):
            record = make_call(f"1700000000.{i}", caller_number=f"139{i:08d}", seat="1001" if i % 2 else "1002",
                               arrived_at=T0 + dt.timedelta(seconds=i // 2), outcome=Outcome.answered)
            session.add(CallRow(**call_values(record), created_at=T0, updated_at=T0))


async def _download(client: TestClient[Any, Any], user: str, url: str) -> tuple[dict[str, str], bytes]:
    r = await client.get(url, headers=bearer(await login(client, user)))
    assert r.status == 200, await r.text()
    return dict(r.headers), await r.read()


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


async def test_a_call_export_is_complete_paged_and_audited_once(
        sqlite_store: Store, make_call: MakeCall, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _bulk_calls(sqlite_store, make_call, N)
    pages: list[int] = []
    real = call_export.pages_after

    def spy(*args: Any) -> Any:
        found = real(*args)
        pages.append(len(found))
        return found
    monkeypatch.setattr(call_export, "pages_after", spy)
    async with serve(sqlite_store, tmp_path) as client:
        headers, data = await _download(client, "boss", "/api/calls?format=csv&reason=monthly%20check")
        table = _csv(data)
        assert table[0] == list(call_export.header(sqlite_store.timezone))
        ids = [row[0] for row in table[1:]]
        assert table[0][1] == "来电时间(北京时间 UTC+8)"
        assert min(r[1] for r in table[1:]) == "2026-12-01 09:00:00"   # T0 (01:00 UTC) in Beijing
        assert len(ids) == N and set(ids) == {f"1700000000.{i}" for i in range(N)}
        assert all(row[2].startswith("139") and "*" not in row[2] for row in table[1:])   # a supervisor: full
        # read a page at a time: never more than one page of calls in hand
        assert max(pages) == MAX_PAGE and len(pages) == N // MAX_PAGE + 1 and sum(pages) == N
        assert "calls-" in headers["Content-Disposition"] and "UTF-8''%E6%9D%A5" in headers["Content-Disposition"]
        audits = sqlite_store.list_audit(action="read.caller_number")
        assert len(audits) == 1 and audits[0]["target"] == "export:calls"
        assert audits[0]["detail"]["export"] == "csv" and audits[0]["detail"]["reason"] == "monthly check"

        # a seat: full numbers of its own calls only, as the JSON API; the export is audited once too
        pages.clear()
        _, data = await _download(client, "s1001", "/api/calls?format=xlsx&seat=1001&end=2026-12-01T01:05:00%2B00:00")
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        rows = [list(r) for r in book["来电记录"].iter_rows(values_only=True)][1:]
        book.close()
        assert len(rows) == 300 and all(r[5] == "1001" and "*" not in r[2] for r in rows)
        _, data = await _download(client, "s1001", "/api/calls?format=csv&seat=1002&end=2026-12-01T01:00:05%2B00:00")
        masked = _csv(data)[1:]
        assert len(masked) == 5 and all("****" in r[2] for r in masked)
        assert len(sqlite_store.list_audit(action="read.caller_number")) == 3


async def test_a_bad_export_query_is_a_json_error(sqlite_store: Store, tmp_path: Path) -> None:
    async with serve(sqlite_store, tmp_path) as client:
        token = await login(client, "boss")
        for url, field in (("/api/calls?format=pdf", "format"), ("/api/calls?format=csv&number=abc", "number"),
                           ("/api/work-orders?format=doc", "format"),
                           ("/api/work-orders?format=csv&format=xlsx", "format")):
            r = await client.get(url, headers=bearer(token))
            body = await r.json()
            assert (r.status, body["error_id"], body["details"]["field"]) == (400, "invalid-request", field), url
        assert sqlite_store.list_audit(action="read.caller_number") == []


async def test_orders_export_every_page_and_links_run_both_ways(
        sqlite_store: Store, make_call: MakeCall, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(order_export, "PAGE", 3)
    sqlite_store.upsert_call(make_call("c1", caller_number="13912345678"))
    sqlite_store.upsert_call(make_call("c2", caller_number="13912345679"))
    ids = [sqlite_store.create_work_order(call_ids=["c1", "c2"] if n % 2 else ["c1"], title=f"=cmd|{n}",
                                          description="d", category=("criticism", "praise")[n % 2],
                                          created_by="1001")["id"] for n in range(8)]
    async with serve(sqlite_store, tmp_path) as client:
        headers, data = await _download(client, "boss", "/api/work-orders?format=csv")
        table = _csv(data)
        assert table[0] == list(order_export.header(sqlite_store.timezone))
        assert sorted(r[0] for r in table[1:]) == sorted(ids)                  # 8 orders over 3 pages
        assert {r[2] for r in table[1:]} == {"批评", "表扬"}
        assert all(r[3].startswith("'=cmd|") for r in table[1:])              # injection-safe
        assert {r[-1] for r in table[1:]} == {"c1", "c1 c2"}
        assert "%E5%B7%A5%E5%8D%95" in headers["Content-Disposition"]         # 工单
        token = await login(client, "s1001")
        r = await client.get("/api/calls/c2/work-orders", headers=bearer(token))
        body = await r.json()
        assert r.status == 200 and [o["id"] for o in body["items"]] == [i for n, i in enumerate(ids) if n % 2]
        assert all("c2" in o["call_ids"] for o in body["items"])               # and back
        r = await client.get("/api/calls/nope/work-orders", headers=bearer(token))
        assert (r.status, (await r.json())["error_id"]) == (404, "no-such-call")


async def test_a_unit_exports_its_own_orders_without_call_ids(sqlite_store: Store, make_call: MakeCall,
                                                              tmp_path: Path) -> None:
    from hotline.work_orders.services import WorkOrderService
    from apikit import Api
    from test_order_api import PASSWORDS, _now, _order, site

    sqlite_store.upsert_call(make_call("c1", caller_number="13912345678"))
    s = site()
    service = WorkOrderService(sqlite_store, orders=s.orders, now=_now)
    async with serve(sqlite_store, tmp_path, s, work_orders=service) as client:
        api = Api(client, PASSWORDS)
        mine = await _order(api, "criticism")          # dispatched to renshe
        await api.call("s1001", "POST", "/api/work-orders", {"call_ids": ["c1"], "title": "other", "description": "d",
                                                             "category": "praise", "created_by": "1001"})
        await api.call("renshe1", "GET", "/api/me")
        r = await client.get("/api/work-orders?format=csv", headers=bearer(api.tokens["renshe1"]))
        assert r.status == 200
        rows = _csv(await r.read())[1:]
        assert [row[0] for row in rows] == [mine] and rows[0][-1] == "" and rows[0][5] == "renshe"
        r = await client.get("/api/work-orders?format=csv&unit=zhujian", headers=bearer(api.tokens["renshe1"]))
        assert (r.status, (await r.json())["error_id"]) == (403, "not-your-order")
