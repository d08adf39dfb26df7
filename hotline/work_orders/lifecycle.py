"""The lifecycle of a work order as one table: states, actions, from -> to, who, required fields.

Pure data (the README shows the same table; ``test_lifecycle`` checks they agree). The rules
that a table row cannot say (the return window, the unit that holds the order, the rating
that picks the evaluation row, a key item's leader approval) are in
:mod:`hotline.work_orders.transitions`, which applies a row to an order.

Who: ``seat`` (the centre's agents, 话务员), ``supervisor`` (the centre's 督办/审核; ``admin``
may do all a supervisor may), ``unit`` (the 主办 unit of the order, 承办单位; on a ``co_unit`` row one of its 协办 units
instead, never the 主办), ``system``
(the periodic 督办 task: warnings and escalations computed from deadlines).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class State(str, Enum):
    created = "created"                          # 新建: filed by a seat, not yet dispatched
    dispatched = "dispatched"                    # 已转办: with its 主办 unit, not yet signed
    signed = "signed"                            # 已签收: the unit works on it (also after 重办)
    returned = "returned"                        # 已回退: the unit says it is not theirs
    extension_requested = "extension_requested"  # 申请延期: waiting for a supervisor
    replied = "replied"                          # 已答复: the unit's result, waiting for the centre
    verified = "verified"                        # 已审核: the centre checked it, waiting for the caller
    closed = "closed"                            # 已办结: answered on the call, not accepted, or evaluated


OPEN_STATES = frozenset(State) - {State.closed}
WITH_UNIT = frozenset({State.dispatched, State.signed, State.extension_requested})
"""States in which the order is the unit's: its deadline runs, 督办 applies."""


class Urgency(str, Enum):
    normal = "normal"        # 一般: normal_days working days
    key = "key"              # 重点、热点、难点: key_days working days, leader approval recorded
    emergency = "emergency"  # 应急: emergency_hours clock hours, reported to the duty office at once


class Rating(str, Enum):
    satisfied = "satisfied"                  # 满意
    basically_satisfied = "basically_satisfied"  # 基本满意
    unsatisfied = "unsatisfied"              # 不满意: reopened to the unit (重办)


class Closure(str, Enum):
    answered = "answered"    # 直接答复: solved on the call (three-way included)
    rejected = "rejected"    # 不予受理, with the reason
    evaluated = "evaluated"  # 办结 after the caller's evaluation


RETURN_FIELDS = ("return_reason", "leader_opinion", "suggestion", "contact_phone")
"""回退理由, 领导意见, 建议, 联系电话: all four required to return an order (Puyang)."""

CENTRE = frozenset({"seat", "supervisor"})
SUPERVISOR = frozenset({"supervisor"})
UNIT = frozenset({"unit"})
SYSTEM = frozenset({"system"})


@dataclass(frozen=True)
class Row:
    action: str
    sources: frozenset[State]
    target: State | None          # None: the state does not change (a recorded event)
    who: frozenset[str]
    required: tuple[str, ...] = ()
    note: str = ""
    co_unit: bool = False          # who ``unit`` means a 协办 unit of the order, not its 主办


def _from(*states: State) -> frozenset[State]:
    return frozenset(states)


TABLE: tuple[Row, ...] = (
    Row("answer", _from(State.created), State.closed, CENTRE, ("answer",), "直接答复 on the call"),
    Row("reject", _from(State.created), State.closed, CENTRE, ("reason",), "不予受理 with its reason"),
    Row("dispatch", _from(State.created), State.dispatched, CENTRE, ("unit",),
        "转办 to one 主办 unit (co_units: 协办); within dispatch_days of creation"),
    Row("sign", _from(State.dispatched), State.signed, UNIT, (), "签收"),
    Row("return", _from(State.dispatched, State.signed), State.returned, UNIT, RETURN_FIELDS,
        "回退 within return_days of dispatch"),
    Row("redispatch", _from(State.returned), State.dispatched, CENTRE, ("unit",), "重新派单"),
    Row("request_extension", _from(State.signed), State.extension_requested, UNIT, ("reason", "days"),
        "申请延期 with a written reason"),
    Row("approve_extension", _from(State.extension_requested), State.signed, SUPERVISOR, (),
        "the deadline moves by the days asked"),
    Row("refuse_extension", _from(State.extension_requested), State.signed, SUPERVISOR, ("reason",),
        "the deadline stays"),
    Row("reply", _from(State.signed), State.replied, UNIT, ("result",),
        "答复 (to the caller and the platform); a key item also needs leader_approval"),
    Row("send_back", _from(State.replied), State.signed, SUPERVISOR, ("reason",),
        "办理质量差: back to the unit, same deadline"),
    Row("verify", _from(State.replied), State.verified, CENTRE, (), "回访核实"),
    Row("evaluate", _from(State.verified), State.closed, CENTRE, ("rating",),
        "满意 / 基本满意: 办结"),
    Row("reopen", _from(State.verified), State.signed, CENTRE, ("rating",),
        "不满意: 重办, redo_days more working days (POST evaluate with rating unsatisfied)"),
    Row("supervise", WITH_UNIT, None, SUPERVISOR, ("kind", "note"), "联合督办 / 现场督办 recorded"),
    Row("contribute", WITH_UNIT, None, UNIT, ("opinion",), "协办意见: a 协办 unit's contribution to the 主办",
        co_unit=True),
    Row("warn", WITH_UNIT | {State.created}, None, SYSTEM, ("deadline",), "临期预警 (warn_hours)"),
    Row("flag_overdue", WITH_UNIT | {State.created}, None, SYSTEM, ("deadline",),
        "超期: escalated to the unit's leader"),
)

ROWS = {row.action: row for row in TABLE}
CREATE_FIELDS = ("call_ids", "category", "subject", "area", "urgency")
"""``create`` (no state -> created, by seat or supervisor): from calls or a voice message;
``caller_confidential`` defaults to true for 投诉 and 举报. An emergency item is reported to the
duty office at once (a ``report_duty`` event with the creation)."""

SUPERVISION_KINDS = ("joint", "on_site")  # 联合督办, 现场督办


def may(role: str, row: Row) -> bool:
    """Whether ``role`` may take ``row`` (an admin may do whatever a supervisor or seat may)."""
    if role == "admin":
        return bool(row.who & (CENTRE | SUPERVISOR))
    return role in row.who
