"""The work-order lifecycle: the table, each transition's effect on state and deadlines, the
refusals (stable ids, nothing changed), and 督办 alerts against a given clock."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from hotline.config.site import Deadlines
from hotline.exceptions import (DateOutsideCalendar, HotlineError, IllegalTransition, InvalidRequest,
                                MissingOrderField, NotYourOrder, OrderClosed)
from hotline.work_orders.lifecycle import RETURN_FIELDS, ROWS, TABLE, Closure, Rating, State, Urgency, may
from hotline.work_orders.supervision import alert, is_overdue
from hotline.work_orders.transitions import Actor, Clock, Order, apply, new_order
from hotline.work_orders.workdays import WorkingCalendar

TZ = dt.timezone(dt.timedelta(hours=8))
CLOCK = Clock(WorkingCalendar(), Deadlines())  # chinesecalendar only: 2027 is outside
SEAT = Actor("seat1001", "seat")
SUP = Actor("boss", "supervisor")
ADMIN = Actor("root", "admin")
RENSHE = Actor("renshe1", "unit", "renshe")
OTHER = Actor("zhujian1", "unit", "zhujian")
HUALONG = Actor("hualong1", "unit", "hualong")   # the 协办 unit of dispatched()
RETURN = {"return_reason": "不属本单位职责", "leader_opinion": "同意退回", "suggestion": "转住建局",
          "contact_phone": "13800000001"}


def at(m: int, d: int, h: int = 10, y: int = 2026) -> dt.datetime:
    return dt.datetime(y, m, d, h, tzinfo=TZ)


def run(order: Order, *steps: tuple[str, Actor, dict[str, Any], dt.datetime]) -> Order:
    for action, actor, fields, now in steps:
        order, event = apply(order, action, actor, fields, now, CLOCK)
        assert event.order_id == order.id and event.actor == actor.name and event.at == now
        assert event.to_state == order.state
    return order


def created(urgency: Urgency = Urgency.normal, when: dt.datetime | None = None) -> Order:
    return new_order("WO-20261201-000001", urgency, when or at(12, 1), CLOCK)


def dispatched(urgency: Urgency = Urgency.normal) -> Order:
    return run(created(urgency), ("dispatch", SEAT, {"unit": "renshe", "co_units": ["hualong"]}, at(12, 1, 11)))


def test_created_is_due_for_dispatch_within_one_working_day() -> None:
    order = created(when=at(12, 4))      # a Friday
    assert order.state == State.created and order.dispatch_due == at(12, 8, 0)


@pytest.mark.parametrize(("urgency", "due"), [
    (Urgency.normal, at(12, 9, 0)),       # Tue 1 Dec + 5 working days: end of Tue 8
    (Urgency.key, at(12, 16, 0)),         # + 10: end of Tue 15
    (Urgency.emergency, at(12, 1, 19)),   # 11:00 + 8 clock hours
])
def test_dispatch_sets_the_deadlines_by_urgency(urgency: Urgency, due: dt.datetime) -> None:
    order = dispatched(urgency)
    assert (order.state, order.unit, order.co_units) == (State.dispatched, "renshe", ("hualong",))
    assert order.due == due
    assert order.return_due == at(12, 4, 0)   # 2 working days: end of Thursday 3


def test_the_whole_loop_with_return_extension_and_redo() -> None:
    order = run(
        dispatched(),
        ("return", RENSHE, RETURN, at(12, 2)),
        ("redispatch", SUP, {"unit": "zhujian"}, at(12, 2, 15)),
        ("sign", OTHER, {}, at(12, 2, 16)),
        ("request_extension", OTHER, {"reason": "需现场勘查", "days": 3}, at(12, 3)),
        ("approve_extension", SUP, {}, at(12, 3, 11)),
    )
    assert order.state == State.signed and order.unit == "zhujian"
    # redispatched Wed 2: + 5 working days = end of Wed 9; + 3 asked: Thu 10, Fri 11, Mon 14
    assert order.due == at(12, 15, 0)
    order = run(order,
                ("reply", OTHER, {"result": "已修复"}, at(12, 10)),
                ("verify", SEAT, {}, at(12, 10, 14)),
                ("evaluate", SEAT, {"rating": "unsatisfied"}, at(12, 10, 15)))
    assert order.state == State.signed and order.redo_count == 1 and order.rating == Rating.unsatisfied
    assert order.due == at(12, 18, 0)       # Thu 10 + 5 working days: end of Thu 17
    order = run(order,
                ("reply", OTHER, {"result": "已重新修复"}, at(12, 15)),
                ("verify", SEAT, {}, at(12, 15, 14)),
                ("evaluate", SEAT, {"rating": "basically_satisfied"}, at(12, 15, 15)))
    assert (order.state, order.closure, order.rating) == (State.closed, Closure.evaluated,
                                                           Rating.basically_satisfied)


def test_answered_and_rejected_close_on_the_call() -> None:
    assert run(created(), ("answer", SEAT, {"answer": "已告知办理流程"}, at(12, 1))).closure == Closure.answered
    order = run(created(), ("reject", ADMIN, {"reason": "不属于受理范围"}, at(12, 1)))
    assert (order.state, order.closure) == (State.closed, Closure.rejected)


def test_refused_extension_keeps_the_deadline() -> None:
    order = run(dispatched(), ("sign", RENSHE, {}, at(12, 1, 12)),
                ("request_extension", RENSHE, {"reason": "等待检测结果", "days": 5}, at(12, 2)))
    assert order.state == State.extension_requested and order.extension_days == 5
    after = run(order, ("refuse_extension", SUP, {"reason": "可按期办结"}, at(12, 2, 11)))
    assert (after.state, after.due, after.extension_days) == (State.signed, order.due, 0)


def test_a_key_reply_needs_the_leader_approval() -> None:
    order = run(dispatched(Urgency.key), ("sign", RENSHE, {}, at(12, 1, 12)))
    with pytest.raises(MissingOrderField) as info:
        apply(order, "reply", RENSHE, {"result": "已办理"}, at(12, 2), CLOCK)
    assert info.value.details["field"] == "leader_approval"
    done, _ = apply(order, "reply", RENSHE, {"result": "已办理", "leader_approval": "张局长已批办"}, at(12, 2), CLOCK)
    assert done.state == State.replied


def test_the_event_records_who_when_what() -> None:
    order = dispatched()
    _, event = apply(order, "return", RENSHE, RETURN, at(12, 2), CLOCK)
    assert (event.action, event.actor, event.role, event.unit) == ("return", "renshe1", "unit", "renshe")
    assert (event.from_state, event.to_state, event.fields) == (State.dispatched, State.returned, RETURN)


def _signed() -> Order:
    return run(dispatched(), ("sign", RENSHE, {}, at(12, 1, 12)))


def _replied() -> Order:
    return run(_signed(), ("reply", RENSHE, {"result": "已办理"}, at(12, 2)))


def _closed() -> Order:
    return run(created(), ("answer", SEAT, {"answer": "已答复"}, at(12, 1)))


@pytest.mark.parametrize("make", [dispatched, _signed,
                                  lambda: run(_signed(), ("request_extension", RENSHE, {"reason": "r", "days": 2},
                                                          at(12, 2)))])
def test_a_co_unit_records_its_opinion_and_nothing_else_changes(make) -> None:  # type: ignore[no-untyped-def]
    """协办意见 (contribute): an event by the 协办 unit; the order, its state and deadlines as they were."""
    order = make()
    after, event = apply(order, "contribute", HUALONG, {"opinion": "已核实企业用工情况"}, at(12, 2, 15), CLOCK)
    assert after == order
    assert (event.action, event.actor, event.role, event.unit) == ("contribute", "hualong1", "unit", "hualong")
    assert (event.from_state, event.to_state, event.fields) == (order.state, order.state,
                                                                 {"opinion": "已核实企业用工情况"})
    assert ROWS["contribute"].co_unit and ROWS["contribute"].target is None


@pytest.mark.parametrize(("make", "action", "actor", "fields", "now", "error", "error_id"), [
    (_closed, "request_extension", RENSHE, {"reason": "x", "days": 2}, at(12, 2), OrderClosed, "order-closed"),
    (_closed, "dispatch", SEAT, {"unit": "renshe"}, at(12, 2), OrderClosed, "order-closed"),
    (created, "sign", RENSHE, {}, at(12, 2), IllegalTransition, "illegal-transition"),
    (created, "evaluate", SEAT, {"rating": "satisfied"}, at(12, 2), IllegalTransition, "illegal-transition"),
    (dispatched, "sign", OTHER, {}, at(12, 2), NotYourOrder, "not-your-order"),
    (dispatched, "sign", SEAT, {}, at(12, 2), IllegalTransition, "illegal-transition"),
    (_signed, "approve_extension", SUP, {}, at(12, 2), IllegalTransition, "illegal-transition"),
    (dispatched, "dispatch", SEAT, {"unit": "renshe"}, at(12, 2), IllegalTransition, "illegal-transition"),
    (dispatched, "return", RENSHE, {**RETURN, "leader_opinion": " "}, at(12, 2), MissingOrderField,
     "missing-order-field"),
    (dispatched, "return", RENSHE, {k: v for k, v in RETURN.items() if k != "contact_phone"}, at(12, 2),
     MissingOrderField, "missing-order-field"),
    (dispatched, "return", RENSHE, RETURN, at(12, 4, 0), IllegalTransition, "illegal-transition"),  # window over
    (created, "dispatch", SEAT, {"unit": "renshe", "co_units": ["renshe"]}, at(12, 2), InvalidRequest,
     "invalid-request"),
    (created, "dispatch", SEAT, {"unit": "renshe"}, at(12, 28), DateOutsideCalendar, "date-outside-calendar"),
    (_signed, "request_extension", RENSHE, {"reason": "x", "days": 0}, at(12, 2), InvalidRequest, "invalid-request"),
    (_signed, "supervise", SEAT, {"kind": "joint", "note": "x"}, at(12, 2), IllegalTransition, "illegal-transition"),
    # 协办意见: only a 协办 unit of the order, only while the order is with the 主办
    (_signed, "contribute", RENSHE, {"opinion": "x"}, at(12, 2), NotYourOrder, "not-your-order"),   # the 主办
    (_signed, "contribute", OTHER, {"opinion": "x"}, at(12, 2), NotYourOrder, "not-your-order"),
    (_signed, "contribute", SUP, {"opinion": "x"}, at(12, 2), IllegalTransition, "illegal-transition"),
    (_signed, "contribute", HUALONG, {"opinion": " "}, at(12, 2), MissingOrderField, "missing-order-field"),
    (_replied, "contribute", HUALONG, {"opinion": "x"}, at(12, 2), IllegalTransition, "illegal-transition"),
    (_closed, "contribute", HUALONG, {"opinion": "x"}, at(12, 2), OrderClosed, "order-closed"),
    (_signed, "sign", HUALONG, {}, at(12, 2), IllegalTransition, "illegal-transition"),
    (_signed, "reply", HUALONG, {"result": "x"}, at(12, 2), NotYourOrder, "not-your-order"),   # the 主办's
    (dispatched, "return", HUALONG, RETURN, at(12, 2), NotYourOrder, "not-your-order"),
    (_signed, "supervise", SUP, {"kind": "phone", "note": "x"}, at(12, 2), InvalidRequest, "invalid-request"),
    (_signed, "warn", ADMIN, {"deadline": "due"}, at(12, 2), IllegalTransition, "illegal-transition"),
    (_signed, "fly", SUP, {}, at(12, 2), InvalidRequest, "invalid-request"),
])
def test_refusals_have_stable_ids_and_change_nothing(make, action: str, actor: Actor, fields: dict[str, Any],
                                                     now: dt.datetime, error: type[HotlineError],
                                                     error_id: str) -> None:  # type: ignore[no-untyped-def]
    order = make()
    before = dataclasses.replace(order)
    with pytest.raises(error) as info:
        apply(order, action, actor, fields, now, CLOCK)
    assert info.value.error_id == error_id
    assert order == before


def test_the_missing_field_is_named() -> None:
    with pytest.raises(MissingOrderField) as info:
        apply(dispatched(), "return", RENSHE, {**RETURN, "suggestion": ""}, at(12, 2), CLOCK)
    assert info.value.details["field"] == "suggestion"


def test_the_table() -> None:
    assert RETURN_FIELDS == tuple(RETURN)
    assert {r.action for r in TABLE} == set(ROWS)
    for row in TABLE:
        assert State.closed not in row.sources, row.action       # nothing leaves closed
        assert row.who, row.action
    assert may("admin", ROWS["approve_extension"]) and may("admin", ROWS["dispatch"])
    assert not may("admin", ROWS["sign"]) and not may("seat", ROWS["approve_extension"])


def test_supervision_alerts_against_a_given_clock() -> None:
    order = _signed()                                # due end of Tue 8 Dec (at(12, 9, 0))
    margin = dt.timedelta(hours=24)
    assert alert(order, at(12, 7, 23), margin) is None
    warned = alert(order, at(12, 8, 1), margin)
    assert warned is not None and (warned.action, warned.deadline, warned.due) == ("warn", "due", at(12, 9, 0))
    overdue = alert(order, at(12, 9, 0), margin)
    assert overdue is not None and overdue.action == "flag_overdue"
    assert is_overdue(order, at(12, 9, 0)) and not is_overdue(order, at(12, 8, 23))
    assert alert(created(), at(12, 3, 0), margin).action == "flag_overdue"  # type: ignore[union-attr]  # end of Wed 2
    assert alert(_closed(), at(12, 31), margin) is None


def test_the_readme_shows_the_same_table() -> None:
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    lines = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[1:-1]]
             for line in readme.splitlines() if line.startswith("| `")}
    for row in TABLE:
        name = "`evaluate` (`reopen`)" if row.action == "reopen" else f"`{row.action}`"
        cells = lines[name]
        sources = {s.value for s in row.sources}
        if row.action == "flag_overdue":
            assert cells[1] == "(as `warn`)"
        else:
            assert {c.strip("` ") for c in cells[1].split(",")} == sources, row.action
        assert cells[2].strip("`") == (row.target.value if row.target else "(same)"), row.action
        who = {w.strip() for w in cells[3].split(",")}
        assert who == set(row.who), row.action
        for field in row.required:
            assert f"`{field}`" in cells[4], (row.action, field)
