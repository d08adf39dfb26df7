"""The work-order service on a real store: the lifecycle with an injected clock, the outbox it
publishes to (in each transition's transaction), the 督办 sweep (once per deadline, escalation to the unit's leader) and
the KPIs computed from the stored trails."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hotline.config.site import OrdersSection
from sqlalchemy.orm import Session

from hotline.exceptions import NotYourOrder
from hotline.store import Store
from hotline.work_orders.lifecycle import State, Urgency
from hotline.work_orders.services import WorkOrderService, event_payload
from hotline.work_orders.transitions import Actor
from tests.unit.conftest import MakeCall

TZ = dt.timezone(dt.timedelta(hours=8))
SEAT = Actor("seat1001", "seat")
SUP = Actor("boss", "supervisor")
RENSHE = Actor("renshe1", "unit", "renshe")
ORDERS = OrdersSection.model_validate({"units": [
    {"id": "renshe", "name": "市人社局", "leader": {"name": "王局长", "phone": "13800000001"}}]})


class Outbox:
    """Records what the lifecycle publishes (the real outbox: test_order_outbound)."""

    def __init__(self, fail: bool = False) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.pokes = 0
        self.fail = fail

    def publish(self, order_id: str, event_type: str, payload: dict[str, Any], *,
                session: Session | None = None) -> dict[str, Any]:
        assert session is not None   # always in the transition's transaction
        if self.fail:
            raise RuntimeError("outbox down")
        self.published.append((event_type, payload))
        return {}

    def poke(self) -> None:
        self.pokes += 1

    @property
    def actions(self) -> list[str]:
        return [p["action"] for _, p in self.published]


class Clock:
    def __init__(self) -> None:
        self.at = dt.datetime(2026, 12, 1, 10, tzinfo=TZ)

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture
def env(store: Store, make_call: MakeCall) -> tuple[WorkOrderService, Clock, Outbox, str]:
    store.upsert_call(make_call("1700000000.1"))
    oid = str(store.create_work_order(call_ids=["1700000000.1"], title="欠薪", description="工资拖欠",
                                      category="complaint", created_by="1001")["id"])
    clock = Clock()
    outbox = Outbox()
    return WorkOrderService(store, orders=ORDERS, now=clock, outbox=outbox), clock, outbox, oid


async def test_every_transition_reaches_the_outbox(env: tuple[WorkOrderService, Clock, Outbox, str]) -> None:
    service, clock, seen, oid = env
    await service.start(oid, urgency=Urgency.emergency, subject="wages", area=None, actor=SEAT)
    await service.act(oid, "dispatch", SEAT, {"unit": "renshe"})
    with pytest.raises(NotYourOrder):
        await service.act(oid, "sign", Actor("x", "unit", "zhujian"), {})
    assert seen.actions == ["create", "report_duty", "dispatch"]
    assert [k for k, _ in seen.published] == ["created", "reported_duty", "dispatched"]
    assert seen.pokes == 2   # once per committed transaction (start, dispatch), none for the refusal
    trail = await service.trail(oid)
    assert [e["action"] for e in trail] == ["create", "report_duty", "dispatch"]
    assert seen.published[2][1]["to_state"] == "dispatched"
    assert event_payload(await service.act(oid, "sign", RENSHE, {}))["to_state"] == "signed"


async def test_the_sweep_warns_then_flags_once_each(env: tuple[WorkOrderService, Clock, Outbox, str]) -> None:
    service, clock, seen, oid = env
    await service.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT)
    await service.act(oid, "dispatch", SEAT, {"unit": "renshe"})        # due end of Tue 8 Dec
    assert await service.sweep() == []
    clock.at = dt.datetime(2026, 12, 8, 9, tzinfo=TZ)                     # within 24 h
    warned = await service.sweep()
    assert [(e.action, e.fields["deadline"]) for e in warned] == [("warn", "due")]
    assert await service.sweep() == []                                     # once
    clock.at = dt.datetime(2026, 12, 9, 0, 1, tzinfo=TZ)
    (flagged,) = await service.sweep()
    assert flagged.action == "flag_overdue"
    assert flagged.fields["escalated_to"] == {"name": "王局长", "phone": "13800000001"}
    assert await service.sweep() == []
    assert seen.actions[-2:] == ["warn", "flag_overdue"]
    assert [k for k, _ in seen.published][-2:] == ["warned", "overdue"]


async def test_a_failing_publish_refuses_the_transition(store: Store, make_call: MakeCall) -> None:
    store.upsert_call(make_call("1700000000.2"))
    oid = str(store.create_work_order(call_ids=["1700000000.2"], title="t", description="d",
                                      category="help", created_by="1001")["id"])

    outbox = Outbox()
    service = WorkOrderService(store, orders=ORDERS, now=Clock(), outbox=outbox)
    await service.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT)
    outbox.fail = True
    with pytest.raises(RuntimeError, match="outbox down"):
        await service.act(oid, "dispatch", SEAT, {"unit": "renshe"})
    order, _ = await service.order(oid)
    assert order.state == State.created and order.unit is None and order.due is None
    assert [e["action"] for e in await service.trail(oid)] == ["create"]


async def test_kpis_from_the_stored_trails(env: tuple[WorkOrderService, Clock, Outbox, str]) -> None:
    service, clock, _, oid = env
    await service.start(oid, urgency=Urgency.normal, subject="wages", area="hualong", actor=SEAT)
    steps: list[tuple[str, Actor, dict[str, Any]]] = [
        ("dispatch", SEAT, {"unit": "renshe"}), ("sign", RENSHE, {}), ("reply", RENSHE, {"result": "已支付"}),
        ("verify", SEAT, {}), ("evaluate", SEAT, {"rating": "satisfied"})]
    for action, actor, fields in steps:
        await service.act(oid, action, actor, fields)
    report = await service.kpis("unit")
    renshe = report["groups"]["renshe"]
    assert renshe["completion_rate"] == {"numerator": 1, "denominator": 1, "value": 1.0, "empty": False}
    assert renshe["on_time_rate"]["numerator"] == 1
    assert report["total"]["return_rate"]["value"] == 0.0
    assert (await service.kpis("month"))["groups"].keys() == {"2026-12"}
    empty = await service.kpis("unit", since=dt.datetime(2027, 1, 1, tzinfo=TZ))
    assert empty["groups"] == {} and empty["total"]["completion_rate"]["empty"] is True


async def test_the_periodic_task_sweeps_without_a_reader(env: tuple[WorkOrderService, Clock, Outbox, str]) -> None:
    import asyncio
    service, clock, seen, oid = env
    await service.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT)
    clock.at = dt.datetime(2026, 12, 3, 0, tzinfo=TZ)                      # dispatch was due end of Wed 2
    task = asyncio.create_task(service.supervise(interval=0.01))
    try:
        for _ in range(500):
            if "flag_overdue" in seen.actions:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert [p["fields"]["deadline"] for _, p in seen.published if p["action"] == "flag_overdue"] == ["dispatch"]
