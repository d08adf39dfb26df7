"""The order KPIs computed by the database (grouped SQL over ``work_order_assignments``) equal the
in-memory reference (every order's event trail through ``assignments_of`` and ``kpis_by``) on a
random history driven through the real store: every transition, returns and re-dispatches,
extensions approved and refused, replies late and on time (overdue), send-backs, 不满意 and 重办,
orders left open at every stage; on SQLite and on a real PostgreSQL. Also per period (a day
or a month in the site's zone), the daily and monthly report, and migration 0010's backfill of
the same history from the trails."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.config import Config

from hotline.config.site import Deadlines
from hotline.store import Store
from hotline.store.models import OrderAssignmentRow, OrderKpiDayRow, WorkOrderRow
from hotline.work_orders.assignments import COUNTS
from hotline.work_orders.kpis import DIMENSIONS, Assignment, assignments_of, kpis_by
from hotline.work_orders.lifecycle import RETURN_FIELDS, State, Urgency
from hotline.work_orders.reports import period_of, report, report_of
from hotline.work_orders.store import OrderStore
from hotline.work_orders.transitions import Actor, Clock
from hotline.work_orders.workdays import WorkingCalendar

SH = ZoneInfo("Asia/Shanghai")
ORDERS = 1500
UNITS = ("renshe", "zhujian", "jiaotong", "shichang", "hualong")
SUBJECTS = ("wages", "housing", "traffic", "noise", None)
AREAS = ("hualong", "puyang", "qingfeng", None)
SEAT = Actor("seat1001", "seat")
SUP = Actor("boss", "supervisor")
START, END = dt.datetime(2026, 6, 1, tzinfo=SH), dt.datetime(2026, 12, 1, tzinfo=SH)
MIGRATIONS = Path(__file__).resolve().parents[2] / "hotline" / "store" / "migrations"


def _file(store: Store, n: int) -> list[str]:
    ids = [f"WO-R-{i:06d}" for i in range(n)]
    now = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    with store.session() as session:
        session.add_all(WorkOrderRow(id=i, title="t", description="d", category="help", status="open",
                                     created_by="1001", caller_confidential=False, created_at=now, updated_at=now)
                        for i in ids)
    return ids


def _step(rng: random.Random, state: State, unit: str | None, ret_open: bool) -> tuple[str, Actor, dict[str, object]]:
    """A random legal action from ``state`` (the return window still open or not)."""
    u = Actor(f"{unit}1", "unit", unit)
    if state == State.created:
        return rng.choices([("dispatch", SEAT, {"unit": rng.choice(UNITS)}), ("answer", SEAT, {"answer": "已答复"}),
                            ("reject", SEAT, {"reason": "不属受理范围"})], [90, 5, 5])[0]
    if state == State.returned:
        return "redispatch", SUP, {"unit": rng.choice(UNITS)}
    if state in (State.dispatched, State.signed) and ret_open and rng.random() < 0.15:
        return "return", u, {f: "x" for f in RETURN_FIELDS}
    if state == State.dispatched:
        return "sign", u, {}
    if state == State.signed:
        return rng.choices([("reply", u, {"result": "已办", "leader_approval": "同意"}),
                            ("request_extension", u, {"reason": "需协调", "days": rng.randint(1, 5)})], [85, 15])[0]
    if state == State.extension_requested:
        return rng.choice([("approve_extension", SUP, {}), ("refuse_extension", SUP, {"reason": "不予延期"})])
    if state == State.replied:
        return rng.choices([("verify", SEAT, {}), ("send_back", SUP, {"reason": "质量差"})], [90, 10])[0]
    rating = rng.choices(["satisfied", "basically_satisfied", "unsatisfied"], [60, 20, 20])[0]
    return "evaluate", SEAT, {"rating": rating}


def _history(store: Store, seed: int) -> OrderStore:
    rng = random.Random(seed)
    lifecycle = OrderStore(store, Clock(WorkingCalendar(), Deadlines()))
    for oid in _file(store, ORDERS):
        now = START + dt.timedelta(minutes=rng.randrange(150 * 24 * 60))
        order, _ = lifecycle.start(oid, urgency=rng.choices(list(Urgency), [80, 15, 5])[0],
                                   subject=rng.choice(SUBJECTS), area=rng.choice(AREAS), actor=SEAT, now=now)
        while order.state != State.closed and rng.random() > 0.04:   # some left open at any stage
            now += dt.timedelta(minutes=rng.randrange(10, 4 * 24 * 60))   # some late: overdue
            if now >= END:   # the calendar knows 2026
                break
            ret_open = order.return_due is not None and now < order.return_due
            action, actor, fields = _step(rng, order.state, order.unit, ret_open)
            order, _ = lifecycle.act(oid, action, actor, fields, now)
    return lifecycle


def _reference(lifecycle: OrderStore) -> list[Assignment]:
    out = [a for oid, subject, area, due, events in lifecycle.trails()
           for a in assignments_of(oid, subject, area, events, due)]
    return [Assignment(**{**a.__dict__, "dispatched_at": a.dispatched_at.astimezone(SH)}) for a in out]


def _assert_agree(lifecycle: OrderStore, rows: list[Assignment]) -> None:
    everything = dt.datetime(2026, 5, 31, 23, 59, tzinfo=SH)   # not a midnight: the assignment rows counted
    for dimension in DIMENSIONS:
        assert lifecycle.kpis(dimension, SH) == kpis_by(rows, dimension), dimension   # the day counts
        assert lifecycle.kpis(dimension, SH, since=everything) == kpis_by(rows, dimension), dimension
    since, until = dt.datetime(2026, 7, 20, tzinfo=SH), dt.datetime(2026, 9, 10, 8, 15, tzinfo=SH)
    inside = [a for a in rows if since <= a.dispatched_at < until]
    assert lifecycle.kpis("area", SH, since=since, until=until) == kpis_by(inside, "area")
    for kind, when in (("day", "2026-08-15"), ("day", "2026-10-01"), ("month", "2026-09"), ("month", "2026-12")):
        period = period_of(kind, when, SH)
        per_unit = lifecycle.kpis("unit", SH, since=period.start, until=period.end)
        assert report_of(period, per_unit, [("renshe", "人社局")]) == report(period, rows, [("renshe", "人社局")])


def _migrate(store: Store, revision: str, *, down: bool = False) -> None:
    with store._engine.begin() as connection:   # the store's own engine: SQLite foreign keys on
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def _stored(store: Store) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with store.session() as session:
        rows = sorted((r.work_order_id, r.unit, r.dispatched_at, r.returned, r.closed, r.on_time, r.rating,
                       r.reopened) for r in session.query(OrderAssignmentRow))
        days = sorted((d.dimension, d.day, d.key, *(getattr(d, c) for c in COUNTS))
                      for d in session.query(OrderKpiDayRow))
        return rows, days


@pytest.mark.parametrize("seed", [11])
def test_the_database_agrees_with_the_trails_in_memory(store: Store, seed: int) -> None:
    lifecycle = _history(store, seed)
    rows = _reference(lifecycle)
    actions = {e["action"] for _, _, _, _, trail in lifecycle.trails() for e in trail}
    assert {"return", "redispatch", "approve_extension", "refuse_extension", "reopen", "send_back",
            "evaluate"} <= actions   # the history has every path the KPIs count
    total = kpis_by(rows, "month")
    assert sum(k.returned for k in total.values()) > 20 and sum(k.reopened for k in total.values()) > 20
    assert 0 < sum(k.closed_on_time for k in total.values()) < sum(k.closed for k in total.values())
    _assert_agree(lifecycle, rows)

    # migration 0010 fills the same rows from the stored trails
    before = _stored(store)
    _migrate(store, "0008", down=True)
    _migrate(store, "0010")
    after = _stored(store)
    assert after == before and len(after[0]) == len(rows)
    _assert_agree(lifecycle, rows)
