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
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, ColumnExpressionArgument, Row, SQLColumnExpression, and_, case, func, not_, select
from sqlalchemy.orm import Session

from hotline.store.models import OrderAssignmentRow, OrderKpiDayRow
from hotline.work_orders.kpis import DIMENSIONS, SATISFIED, Kpis
from hotline.work_orders.transitions import Event, Order

BUCKET_SECONDS = 900
_A = OrderAssignmentRow


def bucket_of(at: dt.datetime) -> int:
    """The UTC quarter hour of ``at`` (aware), counted from the epoch."""
    return int(at.timestamp()) // BUCKET_SECONDS


COUNTS = ("dispatched", "returned", "closed", "closed_on_time", "evaluated", "satisfied", "reopened")
ROLLED = ("unit", "subject", "area")
_SATISFIED = frozenset(r.value for r in SATISFIED)


def _share(row: OrderAssignmentRow) -> tuple[int, ...]:
    """What one assignment adds to each of :data:`COUNTS` (the formulas of ``kpis.kpis``)."""
    kept = not row.returned
    return (1, int(row.returned), int(kept and row.closed), int(kept and row.closed and row.on_time),
            int(kept and row.rating is not None), int(kept and row.rating in _SATISFIED), int(kept and row.reopened))


def record(session: Session, event: Event, order: Order, subject: str | None, area: str | None, *,
           tz: ZoneInfo, insert: Callable[[type[Any]], Any]) -> None:
    """Bring the order's assignment rows, and the day counts of the assignment's dispatch day
    (``tz``), up to date with ``event`` (just applied: ``order`` is the order after it), in the
    caller's transaction. ``insert``: the backend's INSERT with its upserts (``Store.insert``)."""
    action = event.action
    if action in ("dispatch", "redispatch"):
        row = OrderAssignmentRow(
            work_order_id=event.order_id, unit=str(event.fields["unit"]), subject=subject or "", area=area or "",
            dispatched_at=event.at, bucket=bucket_of(event.at), returned=False, closed=False, on_time=False,
            rating=None, reopened=False, last_reply_at=None)
        session.add(row)
        _roll(session, row, _share(row), tz, insert)
        return
    if action not in ("return", "reply", "reopen", "evaluate"):
        return
    session.flush()
    found = session.scalars(select(_A).where(_A.work_order_id == event.order_id)
                            .order_by(_A.id.desc()).limit(1)).one_or_none()
    if found is None:
        return
    before = _share(found)
    if action == "return":
        found.returned = True
    elif action == "reply":
        found.last_reply_at = event.at
    elif action == "reopen":
        found.reopened, found.rating = True, "unsatisfied"
    else:
        found.closed, found.rating = True, str(event.fields["rating"])
        found.on_time = (found.last_reply_at is not None and order.due is not None
                         and found.last_reply_at < order.due)
    delta = tuple(a - b for a, b in zip(_share(found), before, strict=True))
    if any(delta):
        _roll(session, found, delta, tz, insert)


def _roll(session: Session, row: OrderAssignmentRow, delta: tuple[int, ...], tz: ZoneInfo,
          insert: Callable[[type[Any]], Any]) -> None:
    """Add ``delta`` to the day counts of the row's unit, subject and area (in that order: two
    transactions lock the rows they share in the same order, so they never deadlock)."""
    day = row.dispatched_at.astimezone(tz).date().isoformat()
    for dimension in ROLLED:
        values = dict(zip(COUNTS, delta, strict=True))
        stmt = insert(OrderKpiDayRow).values(dimension=dimension, day=day, key=getattr(row, dimension), **values)
        session.execute(stmt.on_conflict_do_update(
            index_elements=["dimension", "day", "key"],
            set_={c: getattr(OrderKpiDayRow, c) + stmt.excluded[c] for c in COUNTS}))


def _counts() -> list[ColumnElement[Any]]:
    kept = not_(_A.returned)

    def n(condition: ColumnExpressionArgument[bool]) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return [func.count(), n(_A.returned), n(and_(kept, _A.closed)), n(and_(kept, _A.closed, _A.on_time)),
            n(and_(kept, _A.rating.is_not(None))), n(and_(kept, _A.rating.in_([r.value for r in SATISFIED]))),
            n(and_(kept, _A.reopened))]


def _kpis(dispatched: int, returned: int, closed: int, on_time: int, evaluated: int, satisfied: int,
          reopened: int) -> Kpis:
    return Kpis(dispatched=dispatched, returned=returned, kept=dispatched - returned, closed=closed,
                closed_on_time=on_time, evaluated=evaluated, satisfied=satisfied, reopened=reopened)


def _midnight(when: dt.datetime | None, tz: ZoneInfo) -> tuple[bool, str | None]:
    """Whether ``when`` is None or a midnight in ``tz``, and then its day (None for None)."""
    if when is None:
        return True, None
    local = when.astimezone(tz)
    return local.time() == dt.time(), local.date().isoformat()


def grouped(session: Session, dimension: str, tz: ZoneInfo, *, since: dt.datetime | None = None,
            until: dt.datetime | None = None, days: bool = True) -> dict[str, Kpis]:
    """The KPI counts per value of ``dimension`` of the assignments dispatched in [since, until),
    keys sorted; one grouped query. Whole days in the site's zone (``tz``, the zone the day
    counts were kept in; ``days`` False when it is not) add up the day counts; any other bounds
    count the assignment rows."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}, not {dimension!r}")
    (whole_first, first), (whole_last, last) = _midnight(since, tz), _midnight(until, tz)
    if days and whole_first and whole_last:
        return _from_days(session, dimension, first, last)
    key = _A.bucket if dimension in ("day", "month") else getattr(_A, dimension)
    query = select(key, *_counts()).group_by(key)
    if since is not None:
        query = query.where(_A.dispatched_at >= since)
    if until is not None:
        query = query.where(_A.dispatched_at < until)
    rows = session.execute(query).all()
    if dimension not in ("day", "month"):
        return {str(r[0]): _kpis(*map(int, r[1:])) for r in sorted(rows, key=lambda r: str(r[0]))}
    return _by_period(rows, dimension, tz)


def _from_days(session: Session, dimension: str, first: str | None, last: str | None) -> dict[str, Kpis]:
    """The day counts of [first, last) added up per ``dimension`` (every assignment is in one
    area row of its day, "" for none: the day and month totals come from those)."""
    D = OrderKpiDayRow
    key: SQLColumnExpression[Any] = {"day": D.day, "month": func.substr(D.day, 1, 7)}.get(dimension, D.key)
    query = (select(key, *(func.sum(getattr(D, c)) for c in COUNTS))
             .where(D.dimension == (dimension if dimension in ROLLED else "area"))
             .group_by(key).having(func.sum(D.dispatched) > 0))
    if first is not None:
        query = query.where(D.day >= first)
    if last is not None:
        query = query.where(D.day < last)
    rows = session.execute(query).all()
    return {str(r[0]): _kpis(*map(int, r[1:])) for r in sorted(rows, key=lambda r: str(r[0]))}


def _starts(first: int, last: int, dimension: str, tz: ZoneInfo) -> tuple[list[int], list[str]]:
    """The first bucket and the label of every day or month (in ``tz``) from bucket ``first`` to ``last``."""
    when = dt.datetime.fromtimestamp(first * BUCKET_SECONDS, tz)
    day = dt.datetime(when.year, when.month, 1 if dimension == "month" else when.day, tzinfo=tz)
    starts, labels = [], []
    while bucket_of(day) <= last:
        starts.append(bucket_of(day))
        labels.append(day.strftime("%Y-%m" if dimension == "month" else "%Y-%m-%d"))
        if dimension == "month":
            day = dt.datetime(day.year + day.month // 12, day.month % 12 + 1, 1, tzinfo=tz)
        else:
            following = day.date() + dt.timedelta(days=1)
            day = dt.datetime(following.year, following.month, following.day, tzinfo=tz)
    return starts, labels


def _by_period(rows: Sequence[Row[Any]], dimension: str, tz: ZoneInfo) -> dict[str, Kpis]:
    """The per-bucket counts added up per day or month of the site's zone (up to 35,136 buckets a year)."""
    if not rows:
        return {}
    starts, labels = _starts(min(r[0] for r in rows), max(r[0] for r in rows), dimension, tz)
    sums: dict[int, list[int]] = {}
    for r in rows:
        counts = sums.setdefault(bisect_right(starts, r[0]) - 1, [0] * 7)
        for i in range(7):
            counts[i] += int(r[i + 1])
    return {labels[i]: _kpis(*sums[i]) for i in sorted(sums)}
