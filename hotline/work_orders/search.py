"""Searching work orders: by id, caller number, unit, subject, area, lifecycle state and date.

One query over ``work_orders`` joined to its lifecycle (an order without one counts as
``created``) and, for a number, to its calls. Newest first, paged (``limit`` at most
:data:`hotline.store.store.MAX_PAGE`). ``involving`` is a unit user's view: the orders its unit
holds (主办) or helps with (协办), each item saying which (``party``); with ``or_reported`` (the
duty office's users) also every emergency item reported to the duty office (``party``: ``duty``).

Each item carries what a list shows without reading the order again (the unit portal draws its
list from one search): state, urgency, units, deadlines, and ``alert``, the 督办 flag of the
running deadline (``warn`` or ``flag_overdue`` recorded for it by the sweep; an extended or redone
deadline starts clean). A page is three queries whatever its size: the orders with their lifecycle,
their calls, their 督办 events.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, cast, func, or_, select
from sqlalchemy.orm import Session

from hotline.spine.numbers import person_key
from hotline.store.models import CallRow, OrderEventRow, OrderLifecycleRow, WorkOrderCallRow, WorkOrderRow
from hotline.store.rows import order_call_ids, work_order_dict
from hotline.store.store import MAX_PAGE, Store
from hotline.work_orders.lifecycle import WITH_UNIT, State, Urgency

ALERTS = ("warn", "flag_overdue")   # the sweep's events; flag_overdue wins over warn
_UNIT_ID = re.compile(r"[a-z][a-z0-9_-]{0,31}")   # the config's unit ids: no quote, no backslash


@dataclass(frozen=True)
class OrderQuery:
    id: str | None = None           # an order id or its beginning (WO-20261201-)
    number: str | None = None       # a caller number of one of its calls
    unit: str | None = None         # the 主办 unit holding it
    involving: str | None = None    # a unit holding it (主办) or helping (协办): a unit user's view
    or_reported: bool = False       # the duty office's view: also any order reported to it (应急)
    subject: str | None = None
    area: str | None = None
    state: State | None = None
    start: dt.datetime | None = None  # created at or after
    end: dt.datetime | None = None    # created before
    limit: int = 50
    offset: int = 0


def search(store: Store, q: OrderQuery) -> dict[str, Any]:
    """``{"items": [order + "state", "urgency", "unit", "co_units", "subject", "area", "dispatch_due",
    "return_due", "due", "alert", "reported_at" (+ "party": main/co/duty with ``involving``)], "total"}``
    (``reported_at``: when an emergency item was reported to the duty office, else null)."""
    if not 0 < q.limit <= MAX_PAGE:
        raise ValueError(f"limit must be 1..{MAX_PAGE}")
    query = _filtered(q)
    with store.session() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        page = session.execute(query.order_by(WorkOrderRow.created_at.desc(), WorkOrderRow.id.desc())
                               .limit(q.limit).offset(q.offset)).all()
        alerts = _alerts(session, [life for _, life, _ in page if life is not None])
        calls = order_call_ids(session, [order.id for order, _, _ in page])
        items = []
        for order, life, reported in page:
            item = work_order_dict(session, order, calls[order.id])
            item.update(_lifecycle_fields(life))
            item["alert"] = alerts.get(order.id)
            item["reported_at"] = _iso(reported)
            if q.involving is not None:
                item["party"] = _party(q.involving, life)
            items.append(item)
    return {"items": items, "total": total}


def _filtered(q: OrderQuery) -> Any:
    state = func.coalesce(OrderLifecycleRow.state, State.created.value)
    reports = (select(OrderEventRow.work_order_id.label("order_id"), func.min(OrderEventRow.at).label("at"))
               .where(OrderEventRow.action == "report_duty").group_by(OrderEventRow.work_order_id).subquery())
    query = select(WorkOrderRow, OrderLifecycleRow, reports.c.at).outerjoin(
        OrderLifecycleRow, OrderLifecycleRow.work_order_id == WorkOrderRow.id).outerjoin(
        reports, reports.c.order_id == WorkOrderRow.id)
    if q.id:
        query = query.where(WorkOrderRow.id.startswith(q.id, autoescape=True))
    if q.number:
        calls = (select(WorkOrderCallRow.work_order_id)
                 .join(CallRow, CallRow.call_id == WorkOrderCallRow.call_id)
                 .where(CallRow.caller_key == person_key(q.number)))   # the person, any form of the number
        query = query.where(WorkOrderRow.id.in_(calls))
    for column, value in ((OrderLifecycleRow.unit, q.unit), (OrderLifecycleRow.subject, q.subject),
                          (OrderLifecycleRow.area, q.area)):
        if value is not None:
            query = query.where(column == value)
    if q.involving is not None:
        mine = [OrderLifecycleRow.unit == q.involving, helps(q.involving)]
        query = query.where(or_(*mine, reports.c.at.is_not(None)) if q.or_reported else or_(*mine))
    if q.state is not None:
        query = query.where(state == q.state.value)
    if q.start is not None:
        query = query.where(WorkOrderRow.created_at >= q.start)
    if q.end is not None:
        query = query.where(WorkOrderRow.created_at < q.end)
    return query


def _party(unit: str, life: OrderLifecycleRow | None) -> str:
    if life is not None and life.unit == unit:
        return "main"
    return "co" if life is not None and unit in life.co_units else "duty"


def _iso(value: dt.datetime | None) -> str | None:
    """A stored time (UTC) as ISO 8601; SQLite hands back naive UTC from an aggregate."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


def helps(unit: str) -> ColumnElement[bool]:
    """The order's ``co_units`` (a JSON list of unit ids) holds ``unit``. Unit ids are slugs (no
    quote, no backslash), so ``"<unit>"`` occurs in the list's JSON text only as a whole element:
    one expression for SQLite and PostgreSQL (``json``), no migration."""
    if not _UNIT_ID.fullmatch(unit):
        raise ValueError(f"not a unit id: {unit!r}")
    return cast(OrderLifecycleRow.co_units, String).contains(f'"{unit}"', autoescape=True)


def _lifecycle_fields(life: OrderLifecycleRow | None) -> dict[str, Any]:
    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value is not None else None
    if life is None:   # filed before the lifecycle: created, normal
        return {"state": State.created.value, "urgency": Urgency.normal.value, "unit": None, "co_units": [],
                "subject": None, "area": None, "dispatch_due": None, "return_due": None, "due": None}
    return {"state": life.state, "urgency": life.urgency, "unit": life.unit, "co_units": list(life.co_units),
            "subject": life.subject, "area": life.area, "dispatch_due": iso(life.dispatch_due),
            "return_due": iso(life.return_due), "due": iso(life.due)}


def running_due(life: OrderLifecycleRow) -> dt.datetime | None:
    """The deadline that runs in the order's state (as :func:`hotline.work_orders.supervision.running_deadline`)."""
    if life.state == State.created.value:
        return life.dispatch_due
    return life.due if life.state in {s.value for s in WITH_UNIT} else None


def _alerts(session: Session, lives: list[OrderLifecycleRow]) -> dict[str, str]:
    """order id -> the 督办 flag recorded for its running deadline, for a page in one query."""
    running = {life.work_order_id: due for life in lives if (due := running_due(life)) is not None}
    if not running:
        return {}
    query = (select(OrderEventRow.work_order_id, OrderEventRow.action, OrderEventRow.fields)
             .where(OrderEventRow.work_order_id.in_(list(running)), OrderEventRow.action.in_(ALERTS)))
    found: dict[str, str] = {}
    for order_id, action, fields in session.execute(query):
        due = fields.get("due") if isinstance(fields, dict) else None
        if isinstance(due, str) and dt.datetime.fromisoformat(due) == running[order_id]:
            if found.get(order_id) != "flag_overdue":
                found[order_id] = action
    return found
