"""Searching work orders on SQLite and PostgreSQL: by id prefix, caller number, unit, subject,
state and date; query parameters refused by name."""

from __future__ import annotations

import datetime as dt

import pytest
from multidict import MultiDict

from hotline.config.site import Deadlines
from hotline.exceptions import InvalidRequest
from hotline.store import Store
from hotline.work_orders.lifecycle import State, Urgency
from hotline.work_orders.schemas import parse_search
from hotline.work_orders.search import OrderQuery, search
from hotline.work_orders.store import OrderStore
from hotline.work_orders.transitions import Actor, Clock, Event
from hotline.work_orders.workdays import WorkingCalendar
from tests.unit.conftest import MakeCall

TZ = dt.timezone(dt.timedelta(hours=8))
SEAT = Actor("seat1001", "seat")


@pytest.fixture
def three(store: Store, make_call: MakeCall) -> list[str]:
    store.upsert_call(make_call("c1", caller_number="13900000001"))
    store.upsert_call(make_call("c2", caller_number="13900000002"))
    ids = [str(store.create_work_order(call_ids=[c], title="t", description="d", category="help",
                                       created_by="1001")["id"]) for c in ("c1", "c2", "c2")]
    life = OrderStore(store, Clock(WorkingCalendar(), Deadlines()))
    now = dt.datetime(2026, 12, 1, 10, tzinfo=TZ)
    life.start(ids[0], urgency=Urgency.normal, subject="wages", area="hualong", actor=SEAT, now=now)
    life.act(ids[0], "dispatch", SEAT, {"unit": "renshe"}, now)
    life.start(ids[1], urgency=Urgency.key, subject="roads", area=None, actor=SEAT, now=now)
    return ids   # ids[2] never entered the lifecycle: created


@pytest.mark.parametrize(("query", "expected"), [
    (OrderQuery(), [2, 1, 0]),
    (OrderQuery(number="13900000002"), [2, 1]),
    (OrderQuery(unit="renshe"), [0]),
    (OrderQuery(subject="roads"), [1]),
    (OrderQuery(state=State.created), [2, 1]),
    (OrderQuery(state=State.dispatched), [0]),
    (OrderQuery(limit=1, offset=1), [1]),
    (OrderQuery(end=dt.datetime(2000, 1, 1, tzinfo=TZ)), []),
])
def test_search(store: Store, three: list[str], query: OrderQuery, expected: list[int]) -> None:
    found = search(store, query)
    assert [i["id"] for i in found["items"]] == [three[n] for n in expected]
    if query.limit == 50:
        assert found["total"] == len(expected)


def test_search_by_id_prefix_and_the_lifecycle_columns(store: Store, three: list[str]) -> None:
    found = search(store, OrderQuery(id=three[0]))
    (item,) = found["items"]
    assert (item["state"], item["unit"], item["subject"], item["area"]) == ("dispatched", "renshe", "wages", "hualong")
    assert item["due"] is not None
    assert search(store, OrderQuery(id=three[0][:12]))["total"] == 3


@pytest.mark.parametrize(("params", "field"), [
    ({"colour": "red"}, "colour"), ({"state": "lost"}, "state"), ({"id": "x'--"}, "id"),
    ({"number": "abc"}, "number"), ({"unit": "人社"}, "unit"), ({"limit": "0"}, "limit"),
    ({"start": "yesterday"}, "start"),
])
def test_bad_parameters_are_named(params: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_search(MultiDict(params))
    assert info.value.details["field"] == field


def test_a_unit_finds_the_orders_it_holds_or_helps_with(store: Store, make_call: MakeCall) -> None:
    """``involving``: 主办 or 协办 (``party``), on SQLite and PostgreSQL; a unit id is matched whole
    in co_units (not as a prefix, ``_`` not a wildcard)."""
    store.upsert_call(make_call("c1", caller_number="13900000001"))
    life = OrderStore(store, Clock(WorkingCalendar(), Deadlines()))
    now = dt.datetime(2026, 12, 1, 10, tzinfo=TZ)
    dispatches = [("renshe", ["hua_long"]), ("zhujian", ["renshe", "huaxlong"]), ("zhujian", ["hualong"]),
                  ("renshe_2", [])]
    ids = []
    for unit, co in dispatches:
        oid = str(store.create_work_order(call_ids=["c1"], title="t", description="d", category="help",
                                          created_by="1001")["id"])
        life.start(oid, urgency=Urgency.key, subject=None, area=None, actor=SEAT, now=now)
        life.act(oid, "dispatch", SEAT, {"unit": unit, "co_units": co}, now)
        ids.append(oid)

    def found(unit: str) -> dict[str, str]:
        return {i["id"]: i["party"] for i in search(store, OrderQuery(involving=unit))["items"]}
    assert found("renshe") == {ids[0]: "main", ids[1]: "co"}
    assert found("hua_long") == {ids[0]: "co"}
    assert found("hualong") == {ids[2]: "co"} and found("hua") == {}
    assert found("huaxlong") == {ids[1]: "co"}
    both = search(store, OrderQuery(involving="renshe", unit="renshe"))["items"]   # 主办 only
    assert [i["id"] for i in both] == [ids[0]]
    item = search(store, OrderQuery(id=ids[1]))["items"][0]
    assert "party" not in item   # the centre's search: no party
    assert (item["urgency"], item["unit"], item["co_units"], item["alert"]) == (
        "key", "zhujian", ["renshe", "huaxlong"], None)
    assert item["due"] is not None and item["return_due"] is not None and item["dispatch_due"] is not None


def test_each_item_carries_the_alert_of_its_running_deadline(store: Store, three: list[str]) -> None:
    """The 督办 flag of the page's orders (one more query): the sweep's events for the running deadline;
    flag_overdue wins over warn; an extended deadline starts clean."""
    life = OrderStore(store, Clock(WorkingCalendar(), Deadlines()))
    order, _ = life.get(three[0])
    assert order.due is not None and order.dispatch_due is not None
    now = dt.datetime(2026, 12, 7, 10, tzinfo=TZ)

    def flag(action: str, oid: str, due: dt.datetime) -> None:
        life.record(Event(order_id=oid, action=action, actor="system", role="system", unit=None, at=now,
                          from_state=None, to_state=State.created, fields={"deadline": "due", "due": due.isoformat()}))

    def alerts() -> dict[str, str | None]:
        return {i["id"]: i["alert"] for i in search(store, OrderQuery())["items"]}
    flag("warn", three[0], order.due)
    flag("flag_overdue", three[1], order.due)                     # not three[1]'s running deadline
    created, _ = life.get(three[1])
    assert created.dispatch_due is not None
    flag("warn", three[1], created.dispatch_due.astimezone(TZ))   # its dispatch deadline, in site time
    assert alerts() == {three[0]: "warn", three[1]: "warn", three[2]: None}
    flag("flag_overdue", three[0], order.due)
    assert alerts()[three[0]] == "flag_overdue"
    unit = Actor("renshe1", "unit", "renshe")
    life.act(three[0], "sign", unit, {}, now)
    life.act(three[0], "request_extension", unit, {"reason": "r", "days": 2}, now)
    life.act(three[0], "approve_extension", Actor("boss", "supervisor"), {}, now)
    assert alerts()[three[0]] is None


def test_a_page_is_read_in_the_same_few_queries_whatever_its_size(store: Store, make_call: MakeCall) -> None:
    """No query per order (the portal's list is one search): the count, the page, its calls, its alerts."""
    from sqlalchemy import event

    store.upsert_call(make_call("c1", caller_number="13900000001"))
    life = OrderStore(store, Clock(WorkingCalendar(), Deadlines()))
    now = dt.datetime(2026, 12, 1, 10, tzinfo=TZ)
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)
    engine = store._engine   # noqa: SLF001 - the test counts the statements the search sends
    event.listen(engine, "before_cursor_execute", count)
    try:
        sizes = []
        for n in (1, 6):
            while search(store, OrderQuery())["total"] < n:
                oid = str(store.create_work_order(call_ids=["c1"], title="t", description="d", category="help",
                                                  created_by="1001")["id"])
                life.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT, now=now)
                life.act(oid, "dispatch", SEAT, {"unit": "renshe"}, now)
            statements.clear()
            found = search(store, OrderQuery(involving="renshe"))
            assert len(found["items"]) == n and all(i["call_ids"] == ["c1"] for i in found["items"])
            sizes.append(len([s for s in statements if s.lstrip().upper().startswith("SELECT")]))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert sizes[0] == sizes[1] <= 4, sizes
