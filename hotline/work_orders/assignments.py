"""The order KPIs computed by the database: the assignment rows (table ``work_order_assignments``,
migration 0010) and grouped SQL over them.

An assignment is one dispatch of an order to a 主办 unit (:mod:`hotline.work_orders.kpis`). Its
row is written in the transaction of the event that changes it (:func:`record`, called by
:class:`hotline.work_orders.store.OrderStore` for every stored event), with the same rules as
the in-memory reference :func:`hotline.work_orders.kpis.assignments_of` over the event trail:
a dispatch or redispatch opens a row for its unit (the order's subject and area, "" for none); a
return marks the order's latest row returned; a reply sets its last reply time; 不满意 (reopen)
marks it reopened and unsatisfied; ``evaluate`` closes it with the rating, on time when the last
reply came before the order's deadline (extensions included; a closed order's deadline never
changes again). Events before the first dispatch change nothing.

:func:`grouped` counts per unit, subject, area, day or month (in the site's zone) with one
``GROUP BY`` (SQLAlchemy Core, the same on SQLite and PostgreSQL); the counts feed the pure
formulas of :class:`hotline.work_orders.kpis.Kpis`, so the ratios are the README's. A day or a
month is a set of whole UTC quarter hours (``bucket``): the database groups by bucket, and the
buckets are summed into the site's days or months here (a year is at most 35,136 buckets).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, not_, select
from sqlalchemy.orm import Session

from hotline.store.models import OrderAssignmentRow
from hotline.work_orders.kpis import DIMENSIONS, SATISFIED, Kpis, total
from hotline.work_orders.transitions import Event, Order

BUCKET_SECONDS = 900
_A = OrderAssignmentRow


def bucket_of(at: dt.datetime) -> int:
    """The UTC quarter hour of ``at`` (aware), counted from the epoch."""
    return int(at.timestamp()) // BUCKET_SECONDS


def record(session: Session, event: Event, order: Order, subject: str | None, area: str | None) -> None:
    """Bring the order's assignment rows up to date with ``event`` (just applied: ``order`` is the
    order after it), in the caller's transaction."""
    action = event.action
    if action in ("dispatch", "redispatch"):
        session.add(OrderAssignmentRow(
            work_order_id=event.order_id, unit=str(event.fields["unit"]), subject=subject or "", area=area or "",
            dispatched_at=event.at, bucket=bucket_of(event.at), returned=False, closed=False, on_time=False,
            rating=None, reopened=False, last_reply_at=None))
        return
    if action not in ("return", "reply", "reopen", "evaluate"):
        return
    session.flush()
    row = session.scalars(select(_A).where(_A.work_order_id == event.order_id)
                          .order_by(_A.id.desc()).limit(1)).one_or_none()
    if row is None:
        return
    if action == "return":
        row.returned = True
    elif action == "reply":
        row.last_reply_at = event.at
    elif action == "reopen":
        row.reopened, row.rating = True, "unsatisfied"
    else:
        row.closed, row.rating = True, str(event.fields["rating"])
        row.on_time = row.last_reply_at is not None and order.due is not None and row.last_reply_at < order.due


def _counts() -> list[ColumnElement[Any]]:
    kept = not_(_A.returned)

    def n(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return [func.count(), n(_A.returned), n(and_(kept, _A.closed)), n(and_(kept, _A.closed, _A.on_time)),
            n(and_(kept, _A.rating.is_not(None))), n(and_(kept, _A.rating.in_([r.value for r in SATISFIED]))),
            n(and_(kept, _A.reopened))]


def _kpis(dispatched: int, returned: int, closed: int, on_time: int, evaluated: int, satisfied: int,
          reopened: int) -> Kpis:
    return Kpis(dispatched=dispatched, returned=returned, kept=dispatched - returned, closed=closed,
                closed_on_time=on_time, evaluated=evaluated, satisfied=satisfied, reopened=reopened)


def grouped(session: Session, dimension: str, tz: ZoneInfo, *, since: dt.datetime | None = None,
            until: dt.datetime | None = None) -> dict[str, Kpis]:
    """The KPI counts per value of ``dimension`` of the assignments dispatched in [since, until),
    keys sorted; one grouped query."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}, not {dimension!r}")
    key = _A.bucket if dimension in ("day", "month") else getattr(_A, dimension)
    query = select(key, *_counts()).group_by(key)
    if since is not None:
        query = query.where(_A.dispatched_at >= since)
    if until is not None:
        query = query.where(_A.dispatched_at < until)
    rows = session.execute(query).all()
    if dimension not in ("day", "month"):
        return {str(r[0]): _kpis(*map(int, r[1:])) for r in sorted(rows, key=lambda r: str(r[0]))}
    fmt = "%Y-%m-%d" if dimension == "day" else "%Y-%m"
    labelled: dict[str, list[Kpis]] = {}
    for r in rows:
        label = dt.datetime.fromtimestamp(int(r[0]) * BUCKET_SECONDS, tz).strftime(fmt)
        labelled.setdefault(label, []).append(_kpis(*map(int, r[1:])))
    return {label: total(labelled[label]) for label in sorted(labelled)}

