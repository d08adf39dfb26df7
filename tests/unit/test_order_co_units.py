"""协办 units over HTTP (issue 11, item 1): a co-unit finds the orders it helps with (marked 协办),
reads them and records its 协办意见 (``contribute``), the one action it has; the 主办 reads it in
the trail. Refusals carry their stable ids and change nothing: the wrong party or role, the wrong
state, hostile input (named by its field)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from hotline.auth.passwords import hash_password
from hotline.config import parse_site
from hotline.config.site import SiteConfig
from hotline.store import Store
from hotline.work_orders.services import WorkOrderService

from apikit import Api
from authkit import FAST, serve
from conftest import MakeCall

TZ = dt.timezone(dt.timedelta(hours=8))
PASSWORDS = {"s1001": "seat-pass-1001", "boss": "boss-pass-1", "renshe1": "unit-pass-renshe",
             "zhujian1": "unit-pass-zhujian", "hualong1": "unit-pass-hualong"}
UNITS = {"renshe": "市人社局", "zhujian": "市住建局", "hualong": "华龙区"}
OPINION = "已核实：该企业在本区登记，欠薪属实"


def site() -> SiteConfig:
    users = [{"name": "s1001", "role": "seat", "seat": "1001"}, {"name": "boss", "role": "supervisor"},
             *({"name": f"{u}1", "role": "unit", "unit": u} for u in UNITS)]
    leader = {"name": "王局长", "phone": "13800000001"}
    return parse_site({
        "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
        "seats": [{"id": "1001", "name": "坐席1001", "secret": "seat-secret-1001"}],
        "orders": {"units": [{"id": u, "name": n, "leader": leader} for u, n in UNITS.items()]},
        "users": [{**u, "password_hash": hash_password(PASSWORDS[u["name"]], iterations=FAST)} for u in users]})


async def _dispatched(api: Api, co_units: list[str]) -> str:
    status, order = await api.call("s1001", "POST", "/api/work-orders", {
        "call_ids": ["c1"], "title": "欠薪", "description": "工资拖欠", "category": "help", "created_by": "1001"})
    assert status == 201, order
    oid = str(order["id"])
    assert (await api.call("s1001", "POST", f"/api/work-orders/{oid}/start", {"urgency": "normal"}))[0] == 201
    status, event = await api.call("s1001", "POST", f"/api/work-orders/{oid}/dispatch",
                                   {"unit": "renshe", "co_units": co_units})
    assert status == 200, event
    return oid


@pytest.fixture
def store_with_call(sqlite_store: Store, make_call: MakeCall) -> Store:
    sqlite_store.upsert_call(make_call("c1", caller_number="13912345678"))
    return sqlite_store


@pytest.fixture
async def api(store_with_call: Store, tmp_path: Path) -> Any:
    s = site()
    service = WorkOrderService(store_with_call, orders=s.orders, now=lambda: dt.datetime(2026, 12, 1, 10, tzinfo=TZ))
    async with serve(store_with_call, tmp_path, s, work_orders=service) as client:
        yield Api(client, PASSWORDS)


async def test_a_co_unit_finds_reads_and_contributes(api: Api) -> None:
    helped = await _dispatched(api, ["hualong"])
    alone = await _dispatched(api, [])
    for user, expected in (("renshe1", {helped: "main", alone: "main"}), ("hualong1", {helped: "co"}),
                           ("zhujian1", {})):
        status, found = await api.call(user, "GET", "/api/work-orders")
        assert status == 200 and {i["id"]: i["party"] for i in found["items"]} == expected, user
        assert found["total"] == len(expected)
        for item in found["items"]:   # what the portal's list shows, without reading each order
            assert "call_ids" not in item and item["state"] == "dispatched" and item["urgency"] == "normal"
            assert item["due"] and item["alert"] is None and item["unit"] == "renshe"
    status, found = await api.call("hualong1", "GET", "/api/work-orders?unit=hualong")   # 主办 only
    assert status == 200 and found["total"] == 0
    status, body = await api.call("hualong1", "GET", "/api/work-orders?unit=renshe")
    assert (status, body["error_id"]) == (403, "not-your-order")
    status, body = await api.call("hualong1", "GET", f"/api/work-orders/{helped}/lifecycle")
    assert status == 200 and body["lifecycle"]["co_units"] == ["hualong"]

    status, event = await api.call("hualong1", "POST", f"/api/work-orders/{helped}/contribute", {"opinion": OPINION})
    assert status == 200, event
    assert (event["action"], event["actor"], event["unit"]) == ("contribute", "hualong1", "hualong")
    assert (event["from_state"], event["to_state"], event["fields"]) == ("dispatched", "dispatched",
                                                                         {"opinion": OPINION})
    status, body = await api.call("renshe1", "GET", f"/api/work-orders/{helped}/lifecycle")   # the 主办's trail
    assert status == 200 and body["lifecycle"]["state"] == "dispatched"
    assert [(e["action"], e["unit"], e["fields"]) for e in body["events"]][-1] == (
        "contribute", "hualong", {"opinion": OPINION})


@pytest.mark.parametrize(("user", "status", "error_id"), [
    ("renshe1", 403, "not-your-order"),      # the 主办 has its own actions, not a 协办意见
    ("zhujian1", 403, "not-your-order"),     # not a party of the order
    ("s1001", 409, "illegal-transition"),    # the table: a unit's action
    ("boss", 409, "illegal-transition"),
])
async def test_only_a_co_unit_contributes(api: Api, user: str, status: int, error_id: str) -> None:
    oid = await _dispatched(api, ["hualong"])
    before = await api.trail(oid)
    got, body = await api.call(user, "POST", f"/api/work-orders/{oid}/contribute", {"opinion": OPINION})
    assert (got, body["error_id"]) == (status, error_id)
    assert await api.trail(oid) == before


async def test_a_co_unit_has_no_other_action(api: Api) -> None:
    oid = await _dispatched(api, ["hualong"])
    before = await api.trail(oid)
    for action, body in (("sign", {}), ("request-extension", {"reason": "r", "days": 2}), ("reply", {"result": "r"})):
        status, refused = await api.call("hualong1", "POST", f"/api/work-orders/{oid}/{action}", body)
        assert status in (403, 409) and refused["error_id"] in ("not-your-order", "illegal-transition"), action
    status, refused = await api.call("hualong1", "POST", f"/api/work-orders/{oid}/sign", {})
    assert (status, refused["error_id"]) == (403, "not-your-order")
    assert await api.trail(oid) == before


@pytest.mark.parametrize(("body", "status", "error_id", "field"), [
    ({}, 400, "missing-order-field", "opinion"),
    ({"opinion": "   "}, 400, "missing-order-field", "opinion"),
    ({"opinion": "长" * 2001}, 400, "invalid-request", "opinion"),
    ({"opinion": 42}, 400, "invalid-request", "opinion"),
    ({"opinion": ["a"]}, 400, "invalid-request", "opinion"),
    ({"opinion": OPINION, "state": "closed"}, 400, "invalid-request", "state"),
    ({"opinion": OPINION, "unit": "hualong"}, 400, "invalid-request", "unit"),   # another action's field
    ({"opinion": OPINION, "days": 30}, 400, "invalid-request", "days"),
])
async def test_hostile_input_is_named_and_changes_nothing(api: Api, body: dict[str, Any], status: int,
                                                          error_id: str, field: str) -> None:
    oid = await _dispatched(api, ["hualong"])
    before = await api.trail(oid)
    got, refused = await api.call("hualong1", "POST", f"/api/work-orders/{oid}/contribute", body)
    assert (got, refused["error_id"], refused["details"]["field"]) == (status, error_id, field)
    assert await api.trail(oid) == before


async def test_no_contribution_once_the_order_left_the_unit(api: Api) -> None:
    """After the 主办's reply the order is the centre's: a 协办意见 is refused; a returned order has no
    协办 any more (the centre re-dispatches it)."""
    replied = await _dispatched(api, ["hualong"])
    assert (await api.call("renshe1", "POST", f"/api/work-orders/{replied}/sign", {}))[0] == 200
    assert (await api.call("renshe1", "POST", f"/api/work-orders/{replied}/reply", {"result": "已支付"}))[0] == 200
    before = await api.trail(replied)
    status, body = await api.call("hualong1", "POST", f"/api/work-orders/{replied}/contribute", {"opinion": OPINION})
    assert (status, body["error_id"]) == (409, "illegal-transition")
    assert await api.trail(replied) == before
    returned = await _dispatched(api, ["hualong"])
    status, _ = await api.call("renshe1", "POST", f"/api/work-orders/{returned}/return", {
        "return_reason": "不属本单位职责", "leader_opinion": "同意", "suggestion": "转华龙区",
        "contact_phone": "13800000001"})
    assert status == 200
    status, body = await api.call("hualong1", "POST", f"/api/work-orders/{returned}/contribute", {"opinion": OPINION})
    assert (status, body["error_id"]) == (409, "illegal-transition")
    status, found = await api.call("hualong1", "GET", "/api/work-orders")
    assert {i["id"] for i in found["items"]} == {replied}
