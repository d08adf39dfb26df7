"""Searching work orders: by id, caller number, unit, subject, area, lifecycle state and date.

One query over ``work_orders`` joined to its lifecycle (an order without one counts as
``created``) and, for a number, to its calls. Newest first, paged (``limit`` at most
:data:`hotline.store.store.MAX_PAGE`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select

from hotline.store.models import CallRow, OrderEventRow, OrderLifecycleRow, WorkOrderCallRow, WorkOrderRow
from hotline.store.rows import work_order_dict
from hotline.store.store import MAX_PAGE, Store
from hotline.work_orders.lifecycle import State, Urgency


@dataclass(frozen=True)
class OrderQuery:
    id: str | None = None           # an order id or its beginning (WO-20261201-)
    number: str | None = None       # a caller number of one of its calls
    unit: str | None = None         # the 主办 unit holding it
    subject: str | None = None
    area: str | None = None
    state: State | None = None
    start: dt.datetime | None = None  # created at or after
    end: dt.datetime | None = None    # created before
    limit: int = 50
    offset: int = 0
    # the duty office's view: ``unit``'s orders or any order reported to the duty office (应急)
    or_reported: bool = False


def search(store: Store, q: OrderQuery) -> dict[str, Any]:
    """``{"items": [order + "state", "unit", "subject", "area", "due", "urgency", "reported_at"], "total"}``
    (``reported_at``: when an emergency item was reported to the duty office, else null)."""
    if not 0 < q.limit <= MAX_PAGE:
        raise ValueError(f"limit must be 1..{MAX_PAGE}")
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
                 .where(CallRow.caller_number == q.number))
        query = query.where(WorkOrderRow.id.in_(calls))
    if q.or_reported:
        query = query.where(or_(OrderLifecycleRow.unit == q.unit, reports.c.at.is_not(None)))
    for column, value in ((None if q.or_reported else OrderLifecycleRow.unit, q.unit),
                          (OrderLifecycleRow.subject, q.subject), (OrderLifecycleRow.area, q.area)):
        if column is not None and value is not None:
            query = query.where(column == value)
    if q.state is not None:
        query = query.where(state == q.state.value)
    if q.start is not None:
        query = query.where(WorkOrderRow.created_at >= q.start)
    if q.end is not None:
        query = query.where(WorkOrderRow.created_at < q.end)
    with store.session() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        page = session.execute(query.order_by(WorkOrderRow.created_at.desc(), WorkOrderRow.id.desc())
                               .limit(q.limit).offset(q.offset)).all()
        items = []
        for order, life, reported in page:
            item = work_order_dict(session, order)
            item.update({"state": life.state if life else State.created.value, "unit": life.unit if life else None,
                         "subject": life.subject if life else None, "area": life.area if life else None,
                         "due": life.due.isoformat() if life and life.due else None,
                         "urgency": life.urgency if life else Urgency.normal.value,
                         "reported_at": _iso(reported)})
            items.append(item)
    return {"items": items, "total": total}


def _iso(value: dt.datetime | None) -> str | None:
    """A stored time (UTC) as ISO 8601; SQLite hands back naive UTC from an aggregate."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
