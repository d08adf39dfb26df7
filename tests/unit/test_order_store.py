"""The work-order lifecycle in the store, on SQLite and a real PostgreSQL: a transition and its
event row are written together; a refused action writes nothing; the 督办 queries."""

from __future__ import annotations

import datetime as dt

import pytest

from hotline.config.site import Deadlines
from hotline.exceptions import IllegalTransition, MissingOrderField, NoSuchWorkOrder, NotYourOrder, OrderClosed
from hotline.store import Store
from hotline.work_orders.lifecycle import State, Urgency
from hotline.work_orders.store import OrderStore
from hotline.work_orders.transitions import Actor, Clock
from hotline.work_orders.workdays import WorkingCalendar
from tests.unit.conftest import MakeCall

TZ = dt.timezone(dt.timedelta(hours=8))
SEAT = Actor("seat1001", "seat")
SUP = Actor("boss", "supervisor")
RENSHE = Actor("renshe1", "unit", "renshe")
OTHER = Actor("zhujian1", "unit", "zhujian")
RETURN = {"return_reason": "不属本单位职责", "leader_opinion": "同意", "suggestion": "转住建局",
          "contact_phone": "13800000001"}


def at(m: int, d: int, h: int = 10) -> dt.datetime:
    return dt.datetime(2026, m, d, h, tzinfo=TZ)


@pytest.fixture
def orders(store: Store, make_call: MakeCall) -> tuple[OrderStore, str]:
    store.upsert_call(make_call("1700000000.1"))
    filed = store.create_work_order(call_ids=["1700000000.1"], title="欠薪", description="工资拖欠三个月",
                                    category="complaint", created_by="1001")
    return OrderStore(store, Clock(WorkingCalendar(), Deadlines())), str(filed["id"])


def test_transitions_and_their_trail(orders: tuple[OrderStore, str]) -> None:
    os_, oid = orders
    order, events = os_.start(oid, urgency=Urgency.normal, subject="wages", area="hualong", actor=SEAT,
                              now=at(12, 1))
    assert order.state == State.created and [e.action for e in events] == ["create"]
    os_.act(oid, "dispatch", SEAT, {"unit": "renshe", "co_units": ["hualong"]}, at(12, 1, 11))
    os_.act(oid, "return", RENSHE, RETURN, at(12, 2))
    os_.act(oid, "redispatch", SUP, {"unit": "zhujian"}, at(12, 2, 15))
    os_.act(oid, "sign", OTHER, {}, at(12, 2, 16))
    order, meta = os_.get(oid)
    assert (order.state, order.unit, order.due) == (State.signed, "zhujian", at(12, 10, 0))
    assert order.due is not None and order.due.tzinfo is not None
    assert meta == {"subject": "wages", "area": "hualong"}
    trail = os_.events(oid)
    assert [(e["action"], e["actor"], e["from_state"], e["to_state"]) for e in trail] == [
        ("create", "seat1001", None, "created"),
        ("dispatch", "seat1001", "created", "dispatched"),
        ("return", "renshe1", "dispatched", "returned"),
        ("redispatch", "boss", "returned", "dispatched"),
        ("sign", "zhujian1", "dispatched", "signed"),
    ]
    assert trail[2]["fields"] == RETURN and trail[2]["unit"] == "renshe"
    assert dt.datetime.fromisoformat(trail[0]["at"]) == at(12, 1)


def test_an_extension_survives_the_round_trip_through_utc(orders: tuple[OrderStore, str]) -> None:
    os_, oid = orders
    os_.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT, now=at(12, 1))
    os_.act(oid, "dispatch", SEAT, {"unit": "renshe"}, at(12, 1, 11))      # due end of Tue 8
    os_.act(oid, "sign", RENSHE, {}, at(12, 1, 12))
    os_.act(oid, "request_extension", RENSHE, {"reason": "等待检测", "days": 2}, at(12, 2))
    order, _ = os_.act(oid, "approve_extension", SUP, {}, at(12, 2, 9))
    assert order.due == at(12, 11, 0)                                        # Wed 9, Thu 10


@pytest.mark.parametrize(("action", "actor", "fields", "error"), [
    ("sign", OTHER, {}, NotYourOrder),
    ("return", RENSHE, {**RETURN, "contact_phone": ""}, MissingOrderField),
    ("reply", RENSHE, {"result": "x"}, IllegalTransition),
])
def test_a_refused_action_writes_nothing(orders: tuple[OrderStore, str], action: str, actor: Actor,
                                         fields: dict[str, str], error: type[Exception]) -> None:
    os_, oid = orders
    os_.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT, now=at(12, 1))
    os_.act(oid, "dispatch", SEAT, {"unit": "renshe"}, at(12, 1, 11))
    before = (os_.get(oid), os_.events(oid))
    with pytest.raises(error):
        os_.act(oid, action, actor, fields, at(12, 2))
    assert (os_.get(oid), os_.events(oid)) == before


def test_closed_orders_refuse_and_leave_the_open_list(orders: tuple[OrderStore, str]) -> None:
    os_, oid = orders
    os_.start(oid, urgency=Urgency.emergency, subject=None, area=None, actor=SEAT, now=at(12, 1))
    assert [o.id for o in os_.open_orders()] == [oid]
    os_.act(oid, "answer", SEAT, {"answer": "已当场答复"}, at(12, 1, 10))
    with pytest.raises(OrderClosed):
        os_.act(oid, "request_extension", RENSHE, {"reason": "x", "days": 1}, at(12, 2))
    assert os_.open_orders() == []


def test_an_order_filed_before_the_lifecycle_is_created(orders: tuple[OrderStore, str]) -> None:
    os_, oid = orders
    order, _ = os_.get(oid)
    assert (order.state, order.urgency) == (State.created, Urgency.normal)
    order, _ = os_.act(oid, "dispatch", SEAT, {"unit": "renshe"}, at(12, 1, 11))
    assert order.state == State.dispatched and [e["action"] for e in os_.events(oid)] == ["dispatch"]


def test_unknown_order(orders: tuple[OrderStore, str]) -> None:
    os_, _ = orders
    with pytest.raises(NoSuchWorkOrder):
        os_.act("WO-20990101-000001", "dispatch", SEAT, {"unit": "renshe"}, at(12, 1))
    with pytest.raises(NoSuchWorkOrder):
        os_.start("WO-20990101-000001", urgency=Urgency.normal, subject=None, area=None, actor=SEAT, now=at(12, 1))


def test_an_order_starts_once(orders: tuple[OrderStore, str]) -> None:
    os_, oid = orders
    os_.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT, now=at(12, 1))
    with pytest.raises(IllegalTransition) as info:
        os_.start(oid, urgency=Urgency.key, subject=None, area=None, actor=SEAT, now=at(12, 1, 11))
    assert info.value.error_id == "illegal-transition"
    assert [e["action"] for e in os_.events(oid)] == ["create"]
