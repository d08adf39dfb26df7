"""Applying one action of the lifecycle table to an order: pure, the clock and calendar given.

:func:`apply` takes an :class:`Order` (the state the store keeps), an :class:`Actor`, the
action's fields and ``now``; it returns the new order and the :class:`Event` to store with it
(the audit trail), or raises with a stable id and changes nothing: ``order-closed`` (any action
on a closed order), ``illegal-transition`` (not from this state, not for this role, the return
window passed), ``not-your-order`` (a unit on another unit's order, or a 协办 action by a unit
that is not a 协办 unit of the order), ``missing-order-field``,
``date-outside-calendar``. The store saves both in one transaction, with the event's outbound
events (:mod:`hotline.work_orders.outbound`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from hotline.config.site import Deadlines
from hotline.exceptions import IllegalTransition, InvalidRequest, MissingOrderField, NotYourOrder, OrderClosed
from hotline.work_orders.lifecycle import (ROWS, SUPERVISION_KINDS, Closure, Rating, Row, State, Urgency, may)
from hotline.work_orders.workdays import WorkingCalendar

MAX_EXTENSION_DAYS = 30


@dataclass(frozen=True)
class Actor:
    """Who acts: ``role`` is seat, supervisor, admin, unit or system; ``unit`` a unit user's unit."""

    name: str
    role: str
    unit: str | None = None


@dataclass(frozen=True)
class Order:
    """The lifecycle part of a work order (what the store keeps besides its text and calls)."""

    id: str
    state: State
    urgency: Urgency
    created_at: dt.datetime
    unit: str | None = None
    co_units: tuple[str, ...] = ()
    dispatch_due: dt.datetime | None = None
    dispatched_at: dt.datetime | None = None
    return_due: dt.datetime | None = None
    due: dt.datetime | None = None
    closure: Closure | None = None
    rating: Rating | None = None
    redo_count: int = 0
    extension_days: int = 0          # asked and not yet decided


@dataclass(frozen=True)
class Event:
    order_id: str
    action: str
    actor: str
    role: str
    unit: str | None
    at: dt.datetime
    from_state: State | None
    to_state: State
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Clock:
    """What deadlines need: the calendar and the site's limits."""

    calendar: WorkingCalendar
    deadlines: Deadlines


def new_order(order_id: str, urgency: Urgency, now: dt.datetime, clock: Clock) -> Order:
    """A created order: due for dispatch within ``dispatch_days`` working days."""
    due = clock.calendar.add_working_days(now, clock.deadlines.dispatch_days)
    return Order(id=order_id, state=State.created, urgency=urgency, created_at=now, dispatch_due=due)


def row_for(action: str, fields: dict[str, Any]) -> Row:
    """The table row of an API action (``evaluate`` with rating unsatisfied is the ``reopen`` row)."""
    if action == "evaluate" and fields.get("rating") == Rating.unsatisfied.value:
        return ROWS["reopen"]
    row = ROWS.get(action)
    if row is None:
        raise InvalidRequest("action", f"unknown action (one of: {', '.join(sorted(ROWS))})", action)
    return row


def apply(order: Order, action: str, actor: Actor, fields: dict[str, Any], now: dt.datetime,
          clock: Clock) -> tuple[Order, Event]:
    """The order after ``action`` and the event recording it; raises and changes nothing if not allowed."""
    row = row_for(action, fields)
    if order.state == State.closed:
        raise OrderClosed(order.id, row.action, order.state.value)
    if order.state not in row.sources:
        raise IllegalTransition(order.id, row.action, order.state.value)
    if not may(actor.role, row):
        raise IllegalTransition(order.id, row.action, order.state.value,
                                f"a {actor.role} may not (only {', '.join(sorted(row.who))})")
    if actor.role == "unit" and not _holds(order, actor.unit, row):
        raise NotYourOrder(order.id, actor.unit)
    for name in row.required:
        if _blank(fields.get(name)):
            raise MissingOrderField(row.action, name)
    changed = _effect(order, row, fields, now, clock)
    event = Event(order_id=order.id, action=row.action, actor=actor.name, role=actor.role, unit=actor.unit,
                  at=now, from_state=order.state, to_state=changed.state, fields=dict(fields))
    return changed, event


def _holds(order: Order, unit: str | None, row: Row) -> bool:
    """Whether ``unit`` is the party of ``order`` that ``row`` is for: a 协办 unit on a ``co_unit``
    row (its contribution), the 主办 unit on every other."""
    if row.co_unit:
        return unit is not None and unit in order.co_units
    return unit == order.unit


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _effect(order: Order, row: Row, fields: dict[str, Any], now: dt.datetime, clock: Clock) -> Order:
    """The order after ``row``; the checks a row cannot express first (they raise before any change)."""
    target = row.target or order.state
    update: dict[str, Any] = {"state": target}
    if row.action in ("dispatch", "redispatch"):
        update.update(_dispatch(order, fields, now, clock))
    elif row.action == "return":
        if order.return_due is not None and now >= order.return_due:
            raise IllegalTransition(order.id, row.action, order.state.value,
                                    f"the return window ended at {order.return_due.isoformat()}")
        update["unit"] = None
        update["co_units"] = ()
    elif row.action == "request_extension":
        update["extension_days"] = _days(fields.get("days"))
    elif row.action == "approve_extension":
        assert order.due is not None and order.extension_days > 0
        update["due"] = _extend(order.due.astimezone(now.tzinfo), order.extension_days, clock)
        update["extension_days"] = 0
    elif row.action == "refuse_extension":
        update["extension_days"] = 0
    elif row.action == "reply":
        if order.urgency == Urgency.key and _blank(fields.get("leader_approval")):
            raise MissingOrderField("reply", "leader_approval")
    elif row.action in ("evaluate", "reopen"):
        update.update(_evaluate(order, row, fields, now, clock))
    elif row.action in ("answer", "reject"):
        update["closure"] = Closure.answered if row.action == "answer" else Closure.rejected
    elif row.action == "supervise" and fields.get("kind") not in SUPERVISION_KINDS:
        raise InvalidRequest("kind", f"one of {', '.join(SUPERVISION_KINDS)}", fields.get("kind"))
    elif row.co_unit and (extra := sorted(set(fields) - set(row.required))):   # its opinion, nothing else
        raise InvalidRequest(extra[0], f"not a field of {row.action} (only {', '.join(row.required)})",
                             fields[extra[0]])
    return dataclasses.replace(order, **update)


def _dispatch(order: Order, fields: dict[str, Any], now: dt.datetime, clock: Clock) -> dict[str, Any]:
    unit = fields["unit"]
    co_units = tuple(fields.get("co_units") or ())
    if unit in co_units:
        raise InvalidRequest("co_units", "the 主办 unit is not also a 协办 unit", unit)
    d = clock.deadlines
    if order.urgency == Urgency.emergency:
        due = clock.calendar.add_hours(now, d.emergency_hours)
    else:
        days = d.key_days if order.urgency == Urgency.key else d.normal_days
        due = clock.calendar.add_working_days(now, days)
    return {"unit": unit, "co_units": co_units, "dispatched_at": now, "due": due,
            "return_due": clock.calendar.add_working_days(now, d.return_days)}


def _evaluate(order: Order, row: Row, fields: dict[str, Any], now: dt.datetime, clock: Clock) -> dict[str, Any]:
    try:
        rating = Rating(fields["rating"])
    except ValueError:
        raise InvalidRequest("rating", f"one of {', '.join(r.value for r in Rating)}", fields["rating"]) from None
    if row.action == "evaluate":
        return {"rating": rating, "closure": Closure.evaluated}
    return {"rating": rating, "redo_count": order.redo_count + 1,
            "due": clock.calendar.add_working_days(now, clock.deadlines.redo_days)}


def _days(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_EXTENSION_DAYS:
        raise InvalidRequest("days", f"working days, 1..{MAX_EXTENSION_DAYS}", value)
    return value


def _extend(due: dt.datetime, days: int, clock: Clock) -> dt.datetime:
    """``days`` more working days after the day a deadline falls in (a midnight due ends the day before);
    ``due`` in the site's time zone (the store gives it back in UTC)."""
    return clock.calendar.add_working_days(due - dt.timedelta(microseconds=1), days)
