"""The call KPI rollup (``call_kpi_hours``): per UTC hour, dimension, member and queue, the tally of
the call records (:class:`queue_manager.metrics.Tally`), so a KPI over months reads thousands of
rollup rows instead of millions of records (issue 15).

Exact by construction: a rollup row is the sum of its records' :func:`queue_manager.metrics.tally_of`
(integer counts and millisecond sums), the same function the pure reference adds up; a read adds
rollup rows and the tallies of the raw records at the range's ragged edges.

Never the only copy: :func:`on_upsert` moves a record's counts in the transaction of the record's
upsert (the old row's contribution out, the new one in: a replay moves nothing, a late leg moves
its counts exactly once), and :func:`rebuild` recomputes every row from ``call_records``
(``hotline rollups rebuild``, and migration 0014's backfill).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, func, literal, null, select, text, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from hotline.store.base import UtcDateTime
from hotline.store.models import CallKpiHourRow, CallRow
from queue_manager.metrics import SHORT_ABANDON_S, SERVICE_LEVEL_S, RecordLike, tally_of

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
DIMS = ("all", "queue", "seat", "dialled_number")
COUNTS = ("calls", "offered", "answered", "answered_in_sl", "abandoned", "short_abandons", "wait_ms", "talk_ms")
KPI_COLUMNS = (CallRow.arrived_at, CallRow.queued_at, CallRow.outcome, CallRow.wait_seconds,
               CallRow.talk_seconds, CallRow.queue, CallRow.seat, CallRow.dialled_number, CallRow.extra)
TABLE = CallKpiHourRow.__tablename__
REBUILD_HOURS = 24 * 7   # records read per step of a rebuild: a week (memory stays bounded)

Key = tuple[str, int, str, str]   # dim, slot, member, queue (both encoded)


def slot_of(at: datetime) -> int:
    """Whole UTC hours since the epoch (exact: integer arithmetic on the timedelta)."""
    return (at - EPOCH) // HOUR


def slot_start(slot: int) -> datetime:
    return EPOCH + slot * HOUR


def encode(value: str | None) -> str:
    return "" if value is None else "=" + value


def decode(value: str) -> str | None:
    return None if value == "" else value[1:]


def member(r: RecordLike, dim: str) -> str | None:
    return None if dim == "all" else getattr(r, dim)


def contributions(r: RecordLike) -> dict[Key, list[int]]:
    """What one record adds to the rollup: one row per dimension (``talk_ms`` without wrap-up; the
    ``seat`` rows count the seat's own talk, :func:`queue_manager.metrics.talk_of`)."""
    slot, queue = slot_of(r.arrived_at), encode(r.queue)
    out: dict[Key, list[int]] = {}
    for dim in DIMS:
        t = tally_of(r, own_talk=dim == "seat")
        out[(dim, slot, encode(member(r, dim)), queue)] = [
            t.calls, t.offered, t.answered, t.answered_in_sl, t.abandoned, t.short_abandons, t.wait_ms, t.handle_ms]
    return out


def old_record(session: Session, call_id: str) -> Any:
    """The stored record's KPI fields, locked until the transaction ends (PostgreSQL)."""
    return session.execute(select(*KPI_COLUMNS).where(CallRow.call_id == call_id).with_for_update()).first()


def on_upsert(session: Session, insert_of: Any, old: RecordLike | None, new: RecordLike) -> None:
    """Move the rollup from ``old`` (the row before the upsert, or None) to ``new``."""
    deltas = contributions(new)
    if old is not None:
        for key, vector in contributions(old).items():
            now = deltas.get(key, [0] * len(COUNTS))
            deltas[key] = [a - b for a, b in zip(now, vector)]
    changed = {k: v for k, v in deltas.items() if any(v)}
    if changed:
        apply(session, insert_of, changed)


def apply(session: Session, insert_of: Any, deltas: dict[Key, list[int]], table: Any = CallKpiHourRow) -> None:
    """Add ``deltas`` to the rollup ``table`` (one upsert; the hourly one, or the day one whose
    second key column is the day); rows left with no call are deleted."""
    keys = list(table.__table__.primary_key.columns)
    rows = [{**{c.name: v for c, v in zip(keys, k)}, **dict(zip(COUNTS, v))} for k, v in deltas.items()]
    statement = insert_of(table).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={c: getattr(table, c) + statement.excluded[c] for c in COUNTS})
    session.execute(statement)
    if any(v[0] < 0 for v in deltas.values()):
        gone = [k for k, v in deltas.items() if v[0] < 0]
        session.execute(delete(table).where(table.calls == 0, tuple_(*keys).in_(gone)))


REBUILD_SQL = """
INSERT INTO {table} (dim, {col}, key, queue, calls, offered, answered, answered_in_sl, abandoned,
                            short_abandons, wait_ms, talk_ms)
SELECT d.dim, r.slot, CASE d.dim WHEN 'all' THEN '' WHEN 'queue' THEN r.q WHEN 'seat' THEN r.s ELSE r.dn END,
       r.q, count(*), sum(r.off), sum(r.ans), sum(CASE WHEN r.ans = 1 AND r.w <= :sl THEN 1 ELSE 0 END),
       sum(r.ab), sum(CASE WHEN r.ab = 1 AND r.w < :short THEN 1 ELSE 0 END),
       sum(CASE WHEN r.ans = 1 THEN CAST(round(r.w * 1000) AS BIGINT) ELSE 0 END),
       sum(CASE WHEN r.ans = 0 THEN 0 WHEN d.dim = 'seat' THEN CAST(round(r.own * 1000) AS BIGINT)
                ELSE CAST(round(r.talk * 1000) AS BIGINT) END)
FROM (SELECT {slot} AS slot, coalesce('=' || queue, '') AS q, coalesce('=' || seat, '') AS s,
             coalesce('=' || dialled_number, '') AS dn, coalesce(wait_seconds, 0) AS w,
             coalesce(talk_seconds, 0) AS talk, coalesce({own}, talk_seconds, 0) AS own,
             CASE WHEN queued_at IS NOT NULL THEN 1 ELSE 0 END AS off,
             CASE WHEN queued_at IS NOT NULL AND outcome = 'answered' THEN 1 ELSE 0 END AS ans,
             CASE WHEN queued_at IS NOT NULL AND outcome = 'abandoned_in_queue' THEN 1 ELSE 0 END AS ab
      FROM call_records WHERE arrived_at >= :a AND arrived_at < :b) r
CROSS JOIN (SELECT 'all' AS dim UNION ALL SELECT 'queue' UNION ALL SELECT 'seat' UNION ALL SELECT 'dialled_number') d
GROUP BY 1, 2, 3, 4
"""
# the seat's own talk (queue_manager.metrics.talk_of): extra's seat_talk_seconds, on answered calls only
OWN_TALK_SQL = {"postgresql": "CASE WHEN outcome = 'answered' "
                              "THEN CAST(extra ->> 'seat_talk_seconds' AS DOUBLE PRECISION) END",
                "sqlite": "CASE WHEN outcome = 'answered' THEN json_extract(extra, '$.seat_talk_seconds') END"}
# the UTC hour of arrived_at: exact on both backends (SQLite keeps naive UTC text, cut to the hour first)
SLOT_SQL = {"postgresql": "CAST(floor(extract(epoch FROM arrived_at) / 3600) AS INTEGER)",
            "sqlite": "CAST(strftime('%s', substr(arrived_at, 1, 13) || ':00:00') AS INTEGER) / 3600"}


def rebuild(connection: Connection) -> int:
    """Recompute the whole rollup from ``call_records`` (in the caller's transaction); the number
    of records read. Set-based: one ``INSERT .. SELECT .. GROUP BY`` per week of arrivals (the
    database adds up; memory stays flat on any history), the same sums as :func:`contributions`:
    waits and talks as whole ms (records keep seconds rounded to the ms, so no rounding tie), the
    service level and short abandon bounds of :func:`queue_manager.metrics.tally_of`."""
    connection.execute(delete(CallKpiHourRow))
    lo, hi, n = connection.execute(select(func.min(CallRow.arrived_at), func.max(CallRow.arrived_at),
                                          func.count())).one()
    if lo is None:
        return 0
    dialect = "postgresql" if connection.dialect.name == "postgresql" else "sqlite"
    sql = text(REBUILD_SQL.format(table=TABLE, col="slot", slot=SLOT_SQL[dialect], own=OWN_TALK_SQL[dialect])) \
        .bindparams(bindparam("a", type_=UtcDateTime()), bindparam("b", type_=UtcDateTime()))
    for first in range(slot_of(lo), slot_of(hi) + 1, REBUILD_HOURS):
        connection.execute(sql, {"a": slot_start(first), "b": slot_start(first + REBUILD_HOURS),
                                 "sl": SERVICE_LEVEL_S, "short": SHORT_ABANDON_S})
    return int(n)


def raw(connection: Connection | Session, start: datetime, end: datetime,
        only: dict[str, str] | None = None) -> Iterator[Any]:
    """The KPI fields of the records that arrived in [start, end) (``only``: column -> value)."""
    query = select(*KPI_COLUMNS).where(CallRow.arrived_at >= start, CallRow.arrived_at < end,
                                       *(getattr(CallRow, c) == v for c, v in (only or {}).items()))
    yield from connection.execute(query.execution_options(yield_per=10_000))


def read(connection: Connection | Session, dim: str, lo: int, hi: int, *, bucket: str | None,
         offset_h: int = 0, wrapup_ms: dict[str, int] | None = None, key: str | None = None,
         queue: str | None = None, group: str | None = "key", limit: int | None = None) -> Sequence[Any]:
    """Rollup rows of ``dim`` for the hours [lo, hi) summed per member and bucket: ``(bucket, member,
    *COUNTS)`` where ``talk_ms`` has become the handle time (talk + the queue's wrap-up per answered
    call). ``bucket``: None (one per member), ``"hour"`` (the slot) or ``"day"`` (the local day
    number ``(slot + offset_h) // 24``: the caller keeps ``offset_h`` constant over [lo, hi)).
    ``key``/``queue``: only the rows of that member / queue; ``group``: the member is the row's
    ``key``, its ``queue``, or None (one group); ``limit``: at most that many rows (+1, so the
    caller sees it was exceeded without the database sending every row)."""
    t = CallKpiHourRow
    wrap = case({encode(q): ms for q, ms in (wrapup_ms or {}).items()}, value=t.queue, else_=0) \
        if wrapup_ms else literal(0)
    sums = [func.sum(getattr(t, c)) for c in COUNTS[:-1]] + [func.sum(t.talk_ms + t.answered * wrap)]
    where = and_(t.dim == dim, t.slot >= lo, t.slot < hi,
                 *([t.key == encode(key)] if key is not None else []),
                 *([t.queue == encode(queue)] if queue is not None else []))
    member = t.key if group == "key" else t.queue if group == "queue" else None
    b = None if bucket is None else t.slot if bucket == "hour" else (t.slot + offset_h) // 24
    by = [c for c in (b, member) if c is not None]
    query = select(null() if b is None else b, null() if member is None else member, *sums).where(where)
    query = query.group_by(*by) if by else query.having(func.count() > 0)
    return connection.execute(query.limit(limit + 1) if limit is not None else query).all()


def known(connection: Connection | Session, dim: str, value: str) -> bool:
    """Whether any record ever counted under ``value`` of ``dim`` (a seat since removed from the site)."""
    t = CallKpiHourRow
    return connection.execute(select(t.slot).where(t.dim == dim, t.key == encode(value)).limit(1)).first() \
        is not None


def all_rows(connection: Connection | Session) -> list[tuple[Any, ...]]:
    """Every rollup row, ordered (for comparing a rebuilt rollup with the maintained one)."""
    t = CallKpiHourRow
    return [tuple(r) for r in connection.execute(
        select(t.dim, t.slot, t.key, t.queue, *(getattr(t, c) for c in COUNTS))
        .order_by(t.dim, t.slot, t.key, t.queue))]

