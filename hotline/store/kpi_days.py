"""The call KPI day rollup (``call_kpi_days``): the tally of the call records per local day of the
site, dimension, member and queue, so a report per day (or over whole days) reads one row per
member and day instead of 24 (issue 15: a quarter per day by seat).

The same tallies as the hourly rollup (:func:`hotline.store.kpi_rollup.contributions`), keyed by the
local day of ``arrived_at`` in the store's zone (days since 1970-01-01 of the local date): exact in
any zone, DST or a half-hour offset, since each record falls in exactly one local day.

Never the only copy: kept in the transaction of each record's upsert next to the hourly rollup
(:func:`hotline.store.kpi_rollup.on_upsert`), rebuilt from ``call_records`` by :func:`rebuild`
(``hotline rollups rebuild``, migration 0021's backfill). The rows' zone is the one they were
rebuilt in (the store's then), kept in ``meta`` (:func:`zone`): each upsert keeps the rows in that
zone, and a report in another zone does not read them (:class:`hotline.metrics.kpi_query.KpiQuery`)
until a rebuild moves them to the store's zone of the day.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, bindparam, case, delete, func, insert, literal, null, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from hotline.store import kpi_rollup as hours
from hotline.store.base import UtcDateTime
from hotline.store.models import CallKpiDayRow, CallRow, MetaRow
from queue_manager.metrics import SHORT_ABANDON_S, SERVICE_LEVEL_S, RecordLike

log = logging.getLogger(__name__)
TABLE = CallKpiDayRow.__tablename__
ZONE_KEY = "call_kpi_days.timezone"   # meta: the zone of the rows' days
EPOCH_DAY = date(1970, 1, 1)
REBUILD_DAYS = 7   # local days per statement of a rebuild


def day_of(at: datetime, tz: tzinfo) -> int:
    """The local date of ``at`` as days since 1970-01-01."""
    return (at.astimezone(tz).date() - EPOCH_DAY).days


def day_start(day: int, tz: tzinfo) -> datetime:
    """The first instant (UTC) of local day ``day``: local midnight, or the first existing instant
    after it when the zone skips midnight."""
    # fold=0 (PEP 495): an ambiguous midnight is its earlier instant, a skipped one the transition itself
    return datetime.combine(EPOCH_DAY + timedelta(days=day), time(0), tzinfo=tz).astimezone(UTC)


def zone(connection: Connection | Session) -> str | None:
    """The zone the day rows are kept in (None: no rebuild yet, the rows are not kept)."""
    return connection.execute(select(MetaRow.value).where(MetaRow.key == ZONE_KEY)).scalar()


def kept_zone(session: Session, store_tz: ZoneInfo) -> ZoneInfo | None:
    """The zone to keep the day rows in on an upsert, or None (not kept). A zone this host's zone
    database does not have (another node's, or a test's own zone database) stops the rows being
    kept: its ``meta`` key is removed, so no report reads them until a rebuild; a record's upsert
    never fails on it (the hourly rollup, always kept, answers meanwhile)."""
    key = zone(session)
    if key is None or key == store_tz.key:
        return None if key is None else store_tz
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("call_kpi_days kept in zone %r, unknown here: no longer kept until `hotline rollups "
                    "rebuild`", key)
        session.execute(delete(MetaRow).where(MetaRow.key == ZONE_KEY))
        return None


def contributions(r: RecordLike, tz: tzinfo) -> dict[hours.Key, list[int]]:
    """What one record adds to the day rollup: the hourly rollup's rows, keyed by the local day."""
    day = day_of(r.arrived_at, tz)
    return {(dim, day, key, queue): v for (dim, _, key, queue), v in hours.contributions(r).items()}


def on_upsert(session: Session, insert_of: Any, old: RecordLike | None, new: RecordLike, tz: tzinfo) -> None:
    """Move the day rollup from ``old`` (the row before the upsert, or None) to ``new``."""
    deltas = contributions(new, tz)
    if old is not None:
        for key, vector in contributions(old, tz).items():
            now = deltas.get(key, [0] * len(hours.COUNTS))
            deltas[key] = [a - b for a, b in zip(now, vector)]
    changed = {k: v for k, v in deltas.items() if any(v)}
    if changed:
        hours.apply(session, insert_of, changed, CallKpiDayRow)


# the rebuild of call_kpi_hours with the local day of each record: a CASE over the days' first instants
DAY_SQL = "CASE {whens} END"


def rebuild(connection: Connection, tz: tzinfo) -> int:
    """Recompute the day rollup from ``call_records`` (in the caller's transaction); records read.
    Set-based like :func:`hotline.store.kpi_rollup.rebuild`: one ``INSERT .. SELECT`` per week of
    local days, each record's day told by the days' first instants (so any zone is exact)."""
    connection.execute(delete(CallKpiDayRow))
    connection.execute(delete(MetaRow).where(MetaRow.key == ZONE_KEY))
    connection.execute(insert(MetaRow).values(key=ZONE_KEY, value=getattr(tz, "key", str(tz))))
    lo, hi, n = connection.execute(select(func.min(CallRow.arrived_at), func.max(CallRow.arrived_at),
                                          func.count())).one()
    if lo is None:
        return 0
    dialect = "postgresql" if connection.dialect.name == "postgresql" else "sqlite"
    first, last = day_of(lo, tz), day_of(hi, tz)
    for week in range(first, last + 1, REBUILD_DAYS):
        days = range(week, min(week + REBUILD_DAYS, last + 1))
        whens = " ".join(f"WHEN arrived_at < :s{i + 1} THEN {d}" for i, d in enumerate(days))
        starts = {f"s{i + 1}": day_start(d + 1, tz) for i, d in enumerate(days)}   # the next day's first instant
        params: dict[str, Any] = {**starts, "a": day_start(days[0], tz), "b": starts[f"s{len(days)}"]}
        sql = hours.REBUILD_SQL.format(table=TABLE, col="day", slot=DAY_SQL.format(whens=whens),
                                       own=hours.OWN_TALK_SQL[dialect])
        statement = text(sql).bindparams(*(bindparam(k, type_=UtcDateTime()) for k in params))
        connection.execute(statement, {**params, "sl": SERVICE_LEVEL_S, "short": SHORT_ABANDON_S})
    return int(n)


def read(connection: Connection | Session, dim: str, lo: int, hi: int, *, bucket: bool,
         wrapup_ms: dict[str, int] | None = None, key: str | None = None, queue: str | None = None,
         group: str | None = "key", limit: int | None = None) -> Sequence[Any]:
    """Day rows of ``dim`` for the local days [lo, hi) summed per member (and per day when
    ``bucket``): ``(day, member, *COUNTS)``, ``talk_ms`` the handle time; the arguments as
    :func:`hotline.store.kpi_rollup.read`."""
    t = CallKpiDayRow
    wrap = case({hours.encode(q): ms for q, ms in (wrapup_ms or {}).items()}, value=t.queue, else_=0) \
        if wrapup_ms else literal(0)
    sums = [func.sum(getattr(t, c)) for c in hours.COUNTS[:-1]] + [func.sum(t.talk_ms + t.answered * wrap)]
    where = and_(t.dim == dim, t.day >= lo, t.day < hi,
                 *([t.key == hours.encode(key)] if key is not None else []),
                 *([t.queue == hours.encode(queue)] if queue is not None else []))
    member = t.key if group == "key" else t.queue if group == "queue" else None
    b = t.day if bucket else None
    by = [c for c in (b, member) if c is not None]
    query = select(null() if b is None else b, null() if member is None else member, *sums).where(where)
    query = query.group_by(*by) if by else query.having(func.count() > 0)
    return connection.execute(query.limit(limit + 1) if limit is not None else query).all()


def all_rows(connection: Connection | Session) -> list[tuple[Any, ...]]:
    """Every day row, ordered (for comparing a rebuilt rollup with the maintained one)."""
    t = CallKpiDayRow
    return [tuple(r) for r in connection.execute(
        select(t.dim, t.day, t.key, t.queue, *(getattr(t, c) for c in hours.COUNTS))
        .order_by(t.dim, t.day, t.key, t.queue))]
