"""The work-order lifecycle over HTTP with real users: seats, a supervisor and two unit users.
A unit acts and reads only on its own orders, sees no identity on a confidential order, a full
number only when the site allows it (audited); refusals carry their stable ids."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hotline.auth.passwords import hash_password
from hotline.auth.roles import MIN_ROLE, RANK
from hotline.config import parse_site
from hotline.config.site import Role, SiteConfig
from hotline.store import Store
from hotline.work_orders.http import API_ACTIONS, path_of
from hotline.work_orders.lifecycle import ROWS
from hotline.work_orders.services import WorkOrderService

from apikit import Api
from authkit import FAST, serve
from conftest import MakeCall

TZ = dt.timezone(dt.timedelta(hours=8))
PASSWORDS = {"s1001": "seat-pass-1001", "boss": "boss-pass-1", "renshe1": "unit-pass-renshe",
             "zhujian1": "unit-pass-zhujian"}
RETURN = {"return_reason": "不属本单位职责", "leader_opinion": "同意", "suggestion": "转住建局",
          "contact_phone": "13800000001"}


def site(units_see_numbers: bool = False) -> SiteConfig:
    users = [{"name": "s1001", "role": "seat", "seat": "1001"}, {"name": "boss", "role": "supervisor"},
             {"name": "renshe1", "role": "unit", "unit": "renshe"},
             {"name": "zhujian1", "role": "unit", "unit": "zhujian"}]
    leader = {"name": "王局长", "phone": "13800000001"}
    return parse_site({
        "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
        "seats": [{"id": "1001", "name": "坐席1001", "secret": "seat-secret-1001"}],
        "orders": {"units": [{"id": "renshe", "name": "人社局", "leader": leader},
                             {"id": "zhujian", "name": "住建局", "leader": leader}],
                   "units_see_numbers": units_see_numbers},
        "users": [{**u, "password_hash": hash_password(PASSWORDS[u["name"]], iterations=FAST)} for u in users]})


async def _order(api: Api, category: str) -> str:
    status, order = await api.call("s1001", "POST", "/api/work-orders", {
        "call_ids": ["c1"], "title": "欠薪", "description": "工资拖欠", "category": category, "created_by": "1001"})
    assert status == 201, order
    oid = str(order["id"])
    assert (await api.call("s1001", "POST", f"/api/work-orders/{oid}/start", {"urgency": "normal"}))[0] == 201
    status, event = await api.call("s1001", "POST", f"/api/work-orders/{oid}/dispatch", {"unit": "renshe"})
    assert status == 200 and event["to_state"] == "dispatched", event
    return oid


def _now() -> dt.datetime:
    return dt.datetime(2026, 12, 1, 10, tzinfo=TZ)


@pytest.fixture
def store_with_call(sqlite_store: Store, make_call: MakeCall) -> Store:
    sqlite_store.upsert_call(make_call("c1", caller_number="13912345678"))
    return sqlite_store


async def test_units_act_and_read_only_their_own(store_with_call: Store, tmp_path: Path) -> None:
    s = site()
    service = WorkOrderService(store_with_call, orders=s.orders, now=_now)
    async with serve(store_with_call, tmp_path, s, work_orders=service) as client:
        api = Api(client, PASSWORDS)
        oid = await _order(api, "complaint")
        base = f"/api/work-orders/{oid}"
        status, body = await api.call("zhujian1", "POST", f"{base}/sign", {})
        assert (status, body["error_id"]) == (403, "not-your-order")
        status, body = await api.call("zhujian1", "GET", f"{base}/lifecycle")
        assert (status, body["error_id"]) == (403, "not-your-order")
        status, body = await api.call("renshe1", "GET", f"{base}/lifecycle")
        assert status == 200 and body["lifecycle"]["state"] == "dispatched"
        assert "call_ids" not in body["order"] and "caller_number" not in body["order"]   # confidential
        assert (await api.call("renshe1", "GET", base))[0] == 403            # the centre's read, not a unit's
        trail = len(body["events"])
        status, body = await api.call("renshe1", "POST", f"{base}/return", {**RETURN, "contact_phone": None})
        assert (status, body["error_id"], body["details"]["field"]) == (400, "missing-order-field", "contact_phone")
        status, body = await api.call("renshe1", "POST", f"{base}/return", {**RETURN, "colour": "red"})
        assert (status, body["error_id"], body["details"]["field"]) == (400, "invalid-request", "colour")
        assert len((await api.call("renshe1", "GET", f"{base}/lifecycle"))[1]["events"]) == trail
        status, body = await api.call("s1001", "POST", f"{base}/sign", {})
        assert (status, body["error_id"]) == (409, "illegal-transition")
        assert (await api.call("renshe1", "POST", f"{base}/approve-extension", {}))[0] == 403
        status, event = await api.call("renshe1", "POST", f"{base}/return", RETURN)
        assert status == 200 and event["to_state"] == "returned" and event["fields"] == RETURN
        status, body = await api.call("renshe1", "GET", f"{base}/lifecycle")   # no longer renshe's
        assert (status, body["error_id"]) == (403, "not-your-order")
        status, kpis = await api.call("boss", "GET", "/api/order-kpis?dimension=unit")
        assert status == 200 and kpis["groups"]["renshe"]["return_rate"]["value"] == 1.0
        assert (await api.call("boss", "GET", "/api/order-kpis?dimension=seat"))[0] == 400


@pytest.mark.parametrize(("allowed", "shown"), [(False, "139****5678"), (True, "13912345678")])
async def test_a_unit_sees_a_non_confidential_number_as_the_site_allows(
        store_with_call: Store, tmp_path: Path, allowed: bool, shown: str) -> None:
    s = site(units_see_numbers=allowed)
    service = WorkOrderService(store_with_call, orders=s.orders, now=_now)
    async with serve(store_with_call, tmp_path, s, work_orders=service) as client:
        api = Api(client, PASSWORDS)
        oid = await _order(api, "help")
        status, body = await api.call("renshe1", "GET", f"/api/work-orders/{oid}/lifecycle")
        assert status == 200 and body["order"]["caller_number"] == shown and "call_ids" not in body["order"]
    audited = [a for a in store_with_call.list_audit(user="renshe1") if a["action"] == "read.caller_number"]
    assert len(audited) == (1 if allowed else 0)


def test_the_route_roles_follow_the_lifecycle_table() -> None:
    for action in API_ACTIONS:
        row = ROWS[action]
        lowest = min((Role(w) if w != "system" else Role.admin for w in row.who), key=lambda r: RANK[r])
        assert MIN_ROLE[("POST", path_of(action))] == lowest, action


async def test_a_unit_searches_only_its_own(store_with_call: Store, tmp_path: Path) -> None:
    s = site()
    service = WorkOrderService(store_with_call, orders=s.orders, now=_now)
    async with serve(store_with_call, tmp_path, s, work_orders=service) as client:
        api = Api(client, PASSWORDS)
        mine = await _order(api, "help")
        status, other = await api.call("s1001", "POST", "/api/work-orders", {
            "call_ids": ["c1"], "title": "t", "description": "d", "category": "help", "created_by": "1001"})
        status, found = await api.call("renshe1", "GET", "/api/work-orders")
        assert status == 200 and [i["id"] for i in found["items"]] == [mine]
        assert "call_ids" not in found["items"][0]
        status, found = await api.call("s1001", "GET", "/api/work-orders?number=13912345678")
        assert status == 200 and found["total"] == 2 and "call_ids" in found["items"][0]
        status, body = await api.call("renshe1", "GET", "/api/work-orders?number=13912345678")
        assert (status, body["details"]["field"]) == (400, "number")
        status, body = await api.call("renshe1", "GET", "/api/work-orders?unit=zhujian")
        assert (status, body["error_id"]) == (403, "not-your-order")
