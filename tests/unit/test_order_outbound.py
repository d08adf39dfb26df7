"""The lifecycle and the outbox joined (SQLite and PostgreSQL: the ``store`` fixture): one map from
actions to event types, each transition's events published in its transaction (a failing publish
leaves the order unchanged, a refused transition publishes nothing), payloads without a
confidential caller's identity, and an order system's pushes applied as its unit's actions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.config.integration import INBOUND_CHANGES, ORDER_EVENTS, Integration
from hotline.config.site import OrdersSection
from hotline.exceptions import IllegalTransition, NotYourOrder
from hotline.outbox.services import OutboxService
from hotline.store import Store
from hotline.store.models import AuditRow, OrderEventRow, OutboxEventRow
from hotline.work_orders.inbound import ACTION_OF
from hotline.work_orders.lifecycle import ROWS, State, Urgency
from hotline.work_orders.outbound import EVENTS_OF
from hotline.work_orders.services import WorkOrderService
from hotline.work_orders.transitions import Actor
from tests.unit.conftest import MakeCall

SEAT = Actor("seat1001", "seat")
RENSHE = Actor("renshe1", "unit", "renshe")
TOKEN = "tok-gongdan-1"
INTEGRATION = Integration.model_validate({"systems": [{"name": "gongdan", "token": TOKEN}]})
NUMBER = "13912345678"


def test_every_action_maps_to_known_event_types_and_every_type_is_used() -> None:
    actions = set(ROWS) | {"create", "report_duty"}
    assert set(EVENTS_OF) == actions
    used = {kind for kinds in EVENTS_OF.values() for kind in kinds}
    assert used == set(ORDER_EVENTS)
    assert EVENTS_OF["evaluate"] == ("evaluated", "closed") and EVENTS_OF["reopen"] == ("evaluated", "reopened")


def test_every_inbound_change_is_a_unit_action() -> None:
    assert set(ACTION_OF) == set(INBOUND_CHANGES)
    assert all("unit" in ROWS[action].who for action in ACTION_OF.values())


def build(store: Store, **orders: Any) -> tuple[WorkOrderService, OutboxService]:
    outbox = OutboxService(INTEGRATION, "puyang", store)
    service = WorkOrderService(store, orders=OrdersSection.model_validate(orders), outbox=outbox)
    outbox.inbound_hook = service.inbound   # as hotline.compose wires it
    return service, outbox


def file(store: Store, make_call: MakeCall, category: str, call_id: str = "1700000000.1") -> str:
    store.upsert_call(make_call(call_id, caller_number=NUMBER))
    return str(store.create_work_order(call_ids=[call_id], title="欠薪", description="工资拖欠",
                                       category=category, created_by="1001")["id"])


def published(store: Store, order_id: str) -> list[tuple[int, str, dict[str, Any]]]:
    with store.session() as session:
        rows = session.scalars(select(OutboxEventRow).where(OutboxEventRow.order_id == order_id)
                               .order_by(OutboxEventRow.seq))
        return [(r.seq, r.event_type, r.payload) for r in rows]


def trail(store: Store, order_id: str) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(OrderEventRow.action).where(OrderEventRow.work_order_id == order_id)
                                    .order_by(OrderEventRow.id)))


async def test_a_refused_transition_publishes_nothing(store: Store, make_call: MakeCall) -> None:
    service, _ = build(store)
    oid = file(store, make_call, "help")
    await service.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT)
    await service.act(oid, "dispatch", SEAT, {"unit": "renshe"})
    for actor, action, error in ((Actor("x", "unit", "zhujian"), "sign", NotYourOrder),
                                 (RENSHE, "reply", IllegalTransition)):
        with pytest.raises(error):
            await service.act(oid, action, actor, {"result": "r"})
    assert [(seq, kind) for seq, kind, _ in published(store, oid)] == [(1, "created"), (2, "dispatched")]


async def test_a_failing_publish_leaves_the_order_unchanged(store: Store, make_call: MakeCall,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    service, outbox = build(store)
    oid = file(store, make_call, "help")
    await service.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT)
    await service.act(oid, "dispatch", SEAT, {"unit": "renshe"})
    await service.act(oid, "sign", RENSHE, {})
    await service.act(oid, "reply", RENSHE, {"result": "已支付"})
    await service.act(oid, "verify", SEAT, {})
    real = outbox.publish

    def second_fails(order_id: str, event_type: str, payload: dict[str, Any], *,
                     session: Session | None = None) -> dict[str, Any]:
        if event_type == "closed":   # evaluate publishes evaluated, then closed: the first is rolled back too
            raise OSError("disk full")
        return real(order_id, event_type, payload, session=session)

    monkeypatch.setattr(outbox, "publish", second_fails)
    with pytest.raises(OSError):
        await service.act(oid, "evaluate", SEAT, {"rating": "satisfied"})
    order, _ = await service.order(oid)
    assert (order.state, order.rating, order.closure) == (State.verified, None, None)
    assert trail(store, oid)[-1] == "verify"
    assert [kind for _, kind, _ in published(store, oid)][-1] == "verified"
    monkeypatch.setattr(outbox, "publish", real)
    await service.act(oid, "evaluate", SEAT, {"rating": "satisfied"})
    assert [kind for _, kind, _ in published(store, oid)][-2:] == ["evaluated", "closed"]


async def test_payloads_carry_the_order_and_never_a_confidential_callers_identity(store: Store,
                                                                                  make_call: MakeCall) -> None:
    service, _ = build(store)
    secret = file(store, make_call, "complaint", "1700000000.1")     # 投诉: confidential by default
    open_ = file(store, make_call, "help", "1700000000.2")
    for oid in (secret, open_):
        await service.start(oid, urgency=Urgency.key, subject="wages", area=None, actor=SEAT)
        await service.act(oid, "dispatch", SEAT, {"unit": "renshe", "co_units": ["hualong"]})
    for _, _, payload in published(store, secret):
        text = json.dumps(payload, ensure_ascii=False)
        assert NUMBER not in text and "5678" not in text and "1700000000" not in text and "caller" not in text
    (_, created, p1), (_, dispatched, p2) = published(store, open_)
    assert (created, dispatched) == ("created", "dispatched")
    assert p1["order"]["caller"] == {"call_ids": ["1700000000.2"], "number": "139****5678"}
    assert p1["order"]["category"] == "help" and p1["order"]["title"] == "欠薪" and not p1["order"]["confidential"]
    assert "caller" not in p2["order"]       # identity only on created
    assert (p2["action"], p2["from_state"], p2["to_state"], p2["actor"]) == (
        "dispatch", "created", "dispatched", "seat1001")
    assert (p2["order"]["unit"], p2["order"]["co_units"], p2["order"]["urgency"], p2["order"]["subject"]) == (
        "renshe", ["hualong"], "key", "wages")
    assert p2["order"]["due"] is not None and p2["order"]["return_due"] is not None


async def test_units_seeing_numbers_gives_the_order_system_the_full_number(store: Store,
                                                                           make_call: MakeCall) -> None:
    service, _ = build(store, units_see_numbers=True)
    oid = file(store, make_call, "help")
    await service.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT)
    assert published(store, oid)[0][2]["order"]["caller"]["number"] == NUMBER
    with store.session() as session:   # the full number handed out is audited, in the same transaction
        [row] = session.scalars(select(AuditRow).where(AuditRow.action == "read.caller_number"))
        assert (row.user, row.role, row.target, row.detail["call_ids"]) == (
            "outbox", "system", f"work_order:{oid}", ["1700000000.1"])


async def test_a_masked_number_is_not_audited(store: Store, make_call: MakeCall) -> None:
    service, _ = build(store)
    oid = file(store, make_call, "help")
    await service.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT)
    with store.session() as session:
        assert session.scalars(select(AuditRow)).all() == []


def push(change: str, oid: str, key: str, **data: Any) -> bytes:
    return json.dumps({"idempotency_key": key, "order_id": oid, "change": change,
                       "at": "2026-12-01T09:30:00+08:00", "data": data}).encode()


async def test_a_push_signs_and_replies_and_a_replay_changes_nothing(store: Store, make_call: MakeCall) -> None:
    service, outbox = build(store)
    oid = file(store, make_call, "help")
    await service.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT)
    await service.act(oid, "dispatch", SEAT, {"unit": "renshe"})

    async def send(body: bytes) -> tuple[dict[str, Any], bool]:
        return await outbox.receive("gongdan", body, authorization=f"Bearer {TOKEN}", signature=None)

    signed, replayed = await send(push("signed", oid, "GD-1:signed"))
    assert (signed["applied"], signed["state"], signed["unit"], replayed) == (True, "signed", "renshe", False)
    replied, _ = await send(push("replied", oid, "GD-1:replied", result="已协调支付"))
    assert (replied["http_status"], replied["state"]) == (202, "replied")
    before = (published(store, oid), trail(store, oid))
    again, replayed = await send(push("signed", oid, "GD-1:signed", note="again"))
    assert (again, replayed) == (signed, True)
    assert (published(store, oid), trail(store, oid)) == before
    events = await service.trail(oid)
    assert [(e["action"], e["actor"], e["role"], e["unit"]) for e in events[-2:]] == [
        ("sign", "gongdan", "unit", "renshe"), ("reply", "gongdan", "unit", "renshe")]
    assert events[-1]["fields"]["via"] == "gongdan" and events[-1]["fields"]["external_key"] == "GD-1:replied"
    assert [kind for _, kind, _ in published(store, oid)] == ["created", "dispatched", "signed", "replied"]


async def test_a_system_limited_to_units_acts_only_for_them(store: Store, make_call: MakeCall) -> None:
    service, outbox = build(store)
    service = WorkOrderService(store, outbox=outbox, inbound_units={"gongdan": ["zhujian"]})
    outbox.inbound_hook = service.inbound
    oid = file(store, make_call, "help")
    await service.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT)
    await service.act(oid, "dispatch", SEAT, {"unit": "renshe"})
    answer, _ = await outbox.receive("gongdan", push("signed", oid, "GD-3:signed"),
                                     authorization=f"Bearer {TOKEN}", signature=None)
    assert (answer["http_status"], answer["error_id"], answer["details"]["unit"]) == (403, "not-your-order", "zhujian")
    await service.act(oid, "return", RENSHE, {"return_reason": "非本单位", "leader_opinion": "同意",
                                              "suggestion": "转住建局", "contact_phone": "0393-1"})
    await service.act(oid, "redispatch", SEAT, {"unit": "zhujian"})
    answer, _ = await outbox.receive("gongdan", push("signed", oid, "GD-4:signed"),
                                     authorization=f"Bearer {TOKEN}", signature=None)
    assert (answer["applied"], answer["unit"]) == (True, "zhujian")


async def test_a_refused_push_is_stored_and_replayed_and_changes_nothing(store: Store, make_call: MakeCall) -> None:
    service, outbox = build(store)
    oid = file(store, make_call, "help")
    await service.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT)

    async def send(body: bytes) -> tuple[dict[str, Any], bool]:
        return await outbox.receive("gongdan", body, authorization=f"Bearer {TOKEN}", signature=None)

    for replay in (False, True):   # not dispatched yet: no unit may sign
        answer, replayed = await send(push("signed", oid, "GD-2:signed"))
        assert (answer["http_status"], answer["error_id"], replayed) == (409, "illegal-transition", replay)
    await service.act(oid, "dispatch", SEAT, {"unit": "renshe"})
    answer, _ = await send(push("returned", oid, "GD-2:returned", return_reason="非本单位职责",
                                leader_opinion="同意", suggestion="转住建局"))
    assert (answer["http_status"], answer["error_id"], answer["details"]["field"]) == (
        400, "missing-order-field", "contact_phone")
    order, _ = await service.order(oid)
    assert order.state == State.dispatched
    assert [kind for _, kind, _ in published(store, oid)] == ["created", "dispatched"]
    assert trail(store, oid) == ["create", "dispatch"]
