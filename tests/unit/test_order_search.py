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
from hotline.work_orders.transitions import Actor, Clock
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
