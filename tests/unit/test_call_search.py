"""Calls searchable by caller number, dialled number, seat, queue, outcome, date and through their
work orders (order id, unit, subject, lifecycle state), on SQLite and PostgreSQL; keyset pages
cover every call once, ties included."""

from __future__ import annotations

import datetime as dt

from hotline.records.call import Outcome
from hotline.store import Store
from hotline.store.call_search import CallQuery, order_ids_of, pages_after, search_calls
from hotline.store.models import OrderLifecycleRow

from conftest import MakeCall

T0 = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)


def _seed(store: Store, make_call: MakeCall) -> dict[str, str]:
    calls = [("c1", "13800000001", "1001", "hotline", 0), ("c2", "13800000002", "1002", "hotline", 1),
             ("c3", "13800000001", "1002", "haimen", 2), ("c4", "13900000004", None, "hotline", 3)]
    for cid, number, seat, queue, minutes in calls:
        store.upsert_call(make_call(cid, caller_number=number, seat=seat, queue=queue,
                                    arrived_at=T0 + dt.timedelta(minutes=minutes),
                                    outcome=Outcome.answered if seat else Outcome.abandoned_in_queue))
    o1 = store.create_work_order(call_ids=["c1", "c2"], title="t", description="d", category="complaint",
                                 created_by="1001")["id"]
    o2 = store.create_work_order(call_ids=["c3"], title="t", description="d", category="praise",
                                 created_by="1002")["id"]
    with store.session() as session:
        session.add(OrderLifecycleRow(work_order_id=o1, state="signed", urgency="normal", subject="wages",
                                      area=None, unit="renshe", co_units=[], redo_count=0, extension_days=0,
                                      updated_at=T0))
    return {"o1": o1, "o2": o2}


def _ids(store: Store, **q: object) -> list[str]:
    records, total = search_calls(store, CallQuery(**q))   # type: ignore[arg-type]
    assert total == len(records)
    return [r.call_id for r in records]


def test_every_filter(store: Store, make_call: MakeCall) -> None:
    orders = _seed(store, make_call)
    assert _ids(store) == ["c4", "c3", "c2", "c1"]                       # newest first
    assert _ids(store, number="13800000001") == ["c3", "c1"]
    assert _ids(store, seat="1002") == ["c3", "c2"]
    assert _ids(store, queue="haimen") == ["c3"]
    assert _ids(store, outcome="abandoned_in_queue") == ["c4"]
    assert _ids(store, start=T0 + dt.timedelta(minutes=1), end=T0 + dt.timedelta(minutes=3)) == ["c3", "c2"]
    assert _ids(store, work_order_id=orders["o1"]) == ["c2", "c1"]
    assert _ids(store, work_order_id="WO-") == ["c3", "c2", "c1"]        # an id's beginning
    assert _ids(store, unit="renshe") == ["c2", "c1"]
    assert _ids(store, subject="wages", number="13800000002") == ["c2"]
    assert _ids(store, state="signed") == ["c2", "c1"]
    assert _ids(store, state="created") == ["c3"]                        # an order never started
    assert _ids(store, unit="zhujian") == []
    assert order_ids_of(store, ["c1", "c3", "c4"]) == {"c1": [orders["o1"]], "c3": [orders["o2"]], "c4": []}


def test_keyset_pages_cover_every_call_once_with_ties(store: Store, make_call: MakeCall) -> None:
    for n in range(23):   # groups of three calls arriving at the same instant
        store.upsert_call(make_call(f"t.{n:02d}", arrived_at=T0 + dt.timedelta(seconds=n // 3)))
    seen: list[str] = []
    after = None
    while True:
        page = pages_after(store, CallQuery(), after, size=4)
        assert len(page) <= 4
        seen += [r.call_id for r in page]
        if len(page) < 4:
            break
        after = (page[-1].arrived_at, page[-1].call_id)
    assert seen == [r.call_id for r in search_calls(store, CallQuery(), limit=50)[0]]
    assert sorted(seen) == [f"t.{n:02d}" for n in range(23)]
