"""``/api/revisits`` and ``/api/revisit-refusals`` on the app as the controller builds it (SQLite,
fake AMI, users): a seat lists tasks (numbers masked), gives a number the rule refuses (422
``number-not-allowed``, audited), gives an allowed one, and rates by hand (the order is evaluated)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hotline.api.app import SERVICES
from hotline.audit.services import AuditService
from hotline.store import Store
from hotline.work_orders.lifecycle import Urgency
from hotline.work_orders.transitions import Actor
from authkit import bearer, login, serve, site_with_users
from conftest import MakeCall

SEAT = Actor("s1001", "seat")
UNIT = Actor("renshe1", "unit", "renshe")
REVISITS = {"enabled": True, "area_code": "0393"}
ORDERS = {"units": [{"id": "renshe", "name": "市人社局", "leader": {"name": "王", "phone": "13800000001"}}]}


def hours_around_now() -> dict[str, str]:
    """回访 hours that hold the test's real time in site time (the default 08:30-20:30 made the
    dialler place nothing when the suite ran in the evening in Shanghai)."""
    local = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    start = max(dt.datetime.combine(local.date(), dt.time(0), local.tzinfo), local - dt.timedelta(hours=1))
    return {"start": start.time().isoformat(), "end": dt.time(23, 59, 59).isoformat()}


async def test_a_seat_works_a_revisit_task(sqlite_store: Store, tmp_path: Path, make_call: MakeCall) -> None:
    store = sqlite_store
    site = site_with_users(revisits=REVISITS, orders=ORDERS)
    store.upsert_call(make_call("1700000000.1", caller_number="anonymous"))
    oid = str(store.create_work_order(call_ids=["1700000000.1"], title="欠薪", description="工资拖欠",
                                      category="help", created_by="1001")["id"])
    async with serve(store, tmp_path, site=site) as client:
        services = client.app[SERVICES]
        orders = services.work_orders
        await orders.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT)
        for action, actor, fields in (("dispatch", SEAT, {"unit": "renshe"}), ("sign", UNIT, {}),
                                      ("reply", UNIT, {"result": "已发放"}), ("verify", SEAT, {})):
            await orders.act(oid, action, actor, fields)
        await services.revisits.tick()
        seat = bearer(await login(client, "s1001"))
        r = await client.get(f"/api/revisits?work_order_id={oid}", headers=seat)
        body: dict[str, Any] = await r.json()
        assert r.status == 200, body
        task = body["items"][0]
        assert (task["status"], task["skip_reason"], task["number"]) == ("skipped", "no_number", None)

        origin = {**seat, "Origin": str(client.make_url(""))}
        r = await client.post(f"/api/revisits/{task['id']}/number", json={"number": "01012345678"}, headers=origin)
        refused = await r.json()
        assert r.status == 422 and refused["error_id"] == "number-not-allowed", refused
        assert refused["details"]["reason"] == "long_distance" and refused["details"]["value"] == "010****5678"
        audit = await AuditService(store).list(action="revisits.number-refused")
        assert [(a["user"], a["status"]) for a in audit] == [("s1001", 422)], "the refusal audited, a seat's too"

        r = await client.post(f"/api/revisits/{task['id']}/number", json={"number": "13800138000"}, headers=origin)
        renumbered = await r.json()
        assert r.status == 200 and renumbered["status"] == "pending" and renumbered["number"] == "138****8000"

        r = await client.post(f"/api/revisits/{task['id']}/rating", json={"rating": "soso"}, headers=origin)
        assert r.status == 400 and (await r.json())["details"]["field"] == "rating"
        r = await client.post(f"/api/revisits/{task['id']}/rating", json={"rating": "unsatisfied"}, headers=origin)
        rated = await r.json()
        assert r.status == 200 and (rated["status"], rated["seat"]) == ("rated", "s1001"), rated
        order, _ = await orders.order(oid)
        assert (order.state.value, order.redo_count) == ("signed", 1), "不满意 by hand reopens it too"
        r = await client.post(f"/api/revisits/{task['id']}/rating", json={"rating": "satisfied"}, headers=origin)
        assert r.status == 409 and (await r.json())["error_id"] == "revisit-closed"
        r = await client.get("/api/revisits/999", headers=seat)
        assert r.status == 404 and (await r.json())["error_id"] == "no-such-revisit"
        r = await client.get("/api/revisits?status=nope", headers=seat)
        assert r.status == 400 and (await r.json())["details"]["field"] == "status"

        r = await client.post("/api/revisit-refusals", json={"number": "+86 139 0013 9000", "reason": "不愿接听"},
                              headers=origin)
        assert r.status == 201 and (await r.json())["number"] == "13900139000"
        boss = bearer(await login(client, "boss"))
        r = await client.get("/api/revisit-refusals", headers=boss)
        assert [i["number"] for i in (await r.json())["items"]] == ["13900139000"]
        r = await client.get("/api/revisit-refusals", headers=seat)
        assert r.status == 403


async def test_a_seat_claims_a_task_and_releases_it(sqlite_store: Store, tmp_path: Path, make_call: MakeCall) -> None:
    """Claimed: the dialler leaves it alone, another seat may not release or rate it, a supervisor
    may; released: dialled again."""
    store = sqlite_store
    site = site_with_users(revisits={**REVISITS, "hours": hours_around_now()}, orders=ORDERS)
    store.upsert_call(make_call("1700000000.2", caller_number="13800138000"))
    oid = str(store.create_work_order(call_ids=["1700000000.2"], title="欠薪", description="工资拖欠",
                                      category="help", created_by="1001")["id"])
    async with serve(store, tmp_path, site=site) as client:
        services = client.app[SERVICES]
        orders, revisits = services.work_orders, services.revisits
        await orders.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT)
        for action, actor, fields in (("dispatch", SEAT, {"unit": "renshe"}), ("sign", UNIT, {}),
                                      ("reply", UNIT, {"result": "已发放"}), ("verify", SEAT, {})):
            await orders.act(oid, action, actor, fields)
        [task] = await revisits.seed()
        origin = {"Origin": str(client.make_url(""))}
        s1, s2, boss = [{**bearer(await login(client, u)), **origin} for u in ("s1001", "s1002", "boss")]
        r = await client.post(f"/api/revisits/{task.id}/claim", headers=s1)
        claimed = await r.json()
        assert r.status == 200 and (claimed["status"], claimed["seat"]) == ("claimed", "s1001"), claimed
        r = await client.post(f"/api/revisits/{task.id}/claim", headers=s2)
        assert r.status == 409 and (await r.json())["error_id"] == "revisit-closed"
        assert await revisits.tick() == [], "claimed: never dialled"
        r = await client.post(f"/api/revisits/{task.id}/release", headers=s2)
        assert r.status == 409 and (await r.json())["error_id"] == "revisit-claimed"
        r = await client.post(f"/api/revisits/{task.id}/rating", json={"rating": "satisfied"}, headers=s2)
        assert r.status == 409 and (await r.json())["error_id"] == "revisit-claimed"
        r = await client.post(f"/api/revisits/{task.id}/release", headers=boss)
        assert r.status == 200 and (await r.json())["status"] == "pending"
        r = await client.post(f"/api/revisits/{task.id}/release", headers=s1)
        assert r.status == 409 and (await r.json())["error_id"] == "revisit-closed"
        assert [t.id for t in await revisits.tick()] == [task.id], "released: dialled"
