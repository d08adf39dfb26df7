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

from sqlalchemy import and_, case, delete, func, insert, literal, null, select, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from hotline.store.models import CallKpiHourRow, CallRow
from queue_manager.metrics import RecordLike, tally_of

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
DIMS = ("all", "queue", "seat", "dialled_number")
COUNTS = ("calls", "offered", "answered", "answered_in_sl", "abandoned", "short_abandons", "wait_ms", "talk_ms")
KPI_COLUMNS = (CallRow.arrived_at, CallRow.queued_at, CallRow.outcome, CallRow.wait_seconds,
               CallRow.talk_seconds, CallRow.queue, CallRow.seat, CallRow.dialled_number)
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
    """What one record adds to the rollup: one row per dimension (``talk_ms`` without wrap-up)."""
    t = tally_of(r)
    vector = [t.calls, t.offered, t.answered, t.answered_in_sl, t.abandoned, t.short_abandons, t.wait_ms,
              t.handle_ms]
    slot, queue = slot_of(r.arrived_at), encode(r.queue)
    return {(dim, slot, encode(member(r, dim)), queue): vector for dim in DIMS}


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


def apply(session: Session, insert_of: Any, deltas: dict[Key, list[int]]) -> None:
    """Add ``deltas`` to the rollup (one upsert); rows left with no call are deleted."""
    rows = [{"dim": k[0], "slot": k[1], "key": k[2], "queue": k[3], **dict(zip(COUNTS, v))}
            for k, v in deltas.items()]
    statement = insert_of(CallKpiHourRow).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[CallKpiHourRow.dim, CallKpiHourRow.slot, CallKpiHourRow.key, CallKpiHourRow.queue],
        set_={c: getattr(CallKpiHourRow, c) + statement.excluded[c] for c in COUNTS})
    session.execute(statement)
    if any(v[0] < 0 for v in deltas.values()):
        gone = [k for k, v in deltas.items() if v[0] < 0]
        session.execute(delete(CallKpiHourRow).where(
            CallKpiHourRow.calls == 0,
            tuple_(CallKpiHourRow.dim, CallKpiHourRow.slot, CallKpiHourRow.key, CallKpiHourRow.queue).in_(gone)))


def rebuild(connection: Connection) -> int:
    """Recompute the whole rollup from ``call_records`` (in the caller's transaction); the number
    of records read. A week of records at a time, so memory stays bounded on any history."""
    connection.execute(delete(CallKpiHourRow))
    lo, hi = connection.execute(select(func.min(CallRow.arrived_at), func.max(CallRow.arrived_at))).one()
    if lo is None:
        return 0
    read = 0
    for first in range(slot_of(lo), slot_of(hi) + 1, REBUILD_HOURS):
        acc: dict[Key, list[int]] = {}
        for r in raw(connection, slot_start(first), slot_start(first + REBUILD_HOURS)):
            read += 1
            for key, vector in contributions(r).items():
                have = acc.get(key)
                if have is None:
                    acc[key] = list(vector)
                else:
                    for i, v in enumerate(vector):
                        have[i] += v
        if acc:
            connection.execute(insert(CallKpiHourRow), [
                {"dim": k[0], "slot": k[1], "key": k[2], "queue": k[3], **dict(zip(COUNTS, v))}
                for k, v in acc.items()])
    return read


def raw(connection: Connection | Session, start: datetime, end: datetime) -> Iterator[Any]:
    """The KPI fields of the records that arrived in [start, end)."""
    query = select(*KPI_COLUMNS).where(CallRow.arrived_at >= start, CallRow.arrived_at < end)
    yield from connection.execute(query.execution_options(yield_per=10_000))


def read(connection: Connection | Session, dim: str, lo: int, hi: int, *, bucket: str | None,
         offset_h: int = 0, wrapup_ms: dict[str, int] | None = None) -> Sequence[Any]:
    """Rollup rows of ``dim`` for the hours [lo, hi) summed per member and bucket: ``(bucket, key,
    *COUNTS)`` where ``talk_ms`` has become the handle time (talk + the queue's wrap-up per answered
    call). ``bucket``: None (one per member), ``"hour"`` (the slot) or ``"day"`` (the local day
    number ``(slot + offset_h) // 24``: the caller keeps ``offset_h`` constant over [lo, hi))."""
    t = CallKpiHourRow
    wrap = case({encode(q): ms for q, ms in (wrapup_ms or {}).items()}, value=t.queue, else_=0) \
        if wrapup_ms else literal(0)
    sums = [func.sum(getattr(t, c)) for c in COUNTS[:-1]] + [func.sum(t.talk_ms + t.answered * wrap)]
    where = and_(t.dim == dim, t.slot >= lo, t.slot < hi)
    if bucket is None:
        return connection.execute(select(null(), t.key, *sums).where(where).group_by(t.key)).all()
    b = t.slot if bucket == "hour" else (t.slot + offset_h) // 24
    return connection.execute(select(b, t.key, *sums).where(where).group_by(b, t.key)).all()


def all_rows(connection: Connection | Session) -> list[tuple[Any, ...]]:
    """Every rollup row, ordered (for comparing a rebuilt rollup with the maintained one)."""
    t = CallKpiHourRow
    return [tuple(r) for r in connection.execute(
        select(t.dim, t.slot, t.key, t.queue, *(getattr(t, c) for c in COUNTS))
        .order_by(t.dim, t.slot, t.key, t.queue))]

