"""Reading the seat state log (``seat_states``) for a window (occupancy, issue 15), at any history
size: the changes inside the window (index on ``at``) and, per seat, the last change before it
(the state the window opens with), found per seat through ``(seat_id, at)`` (a skip scan over
the seats, then one index probe each), never by reading the history before the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from hotline.store.base import UtcDateTime
from hotline.store.models import SeatStateRow

# every seat id by a recursive skip scan of ix_seat_states_seat_at, then each seat's last change
# before :start (SQLite and PostgreSQL: neither skips through an index for DISTINCT by itself)
_OPENING = text("""
WITH RECURSIVE seats(id) AS (
    SELECT min(seat_id) FROM seat_states
    UNION ALL
    SELECT (SELECT min(seat_id) FROM seat_states WHERE seat_id > seats.id) FROM seats WHERE seats.id IS NOT NULL)
SELECT s.seat_id, s.state, s.at FROM seats
JOIN seat_states s ON s.id = (SELECT x.id FROM seat_states x WHERE x.seat_id = seats.id AND x.at < :start
                              ORDER BY x.at DESC, x.id DESC LIMIT 1)
""").bindparams(bindparam("start", type_=UtcDateTime())).columns(
    SeatStateRow.seat_id, SeatStateRow.state, SeatStateRow.at)


def states(session: Session, start: datetime, end: datetime) -> list[tuple[str, str, datetime]]:
    """(seat_id, state, at) ordered by time: every change in [start, end) and, per seat, the last
    change before ``start``."""
    inside = session.execute(
        select(SeatStateRow.seat_id, SeatStateRow.state, SeatStateRow.at)
        .where(SeatStateRow.at >= start, SeatStateRow.at < end)
        .order_by(SeatStateRow.at, SeatStateRow.id)).all()
    before = session.execute(_OPENING, {"start": start}).all()
    return sorted(((r[0], r[1], r[2]) for r in (*before, *inside)), key=lambda r: r[2])


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# the time in whole µs since the epoch of a stored UtcDateTime (SQLite keeps naive UTC text with 6 digits)
_US = {"sqlite": "(CAST(strftime('%s', substr({x}, 1, 19)) AS INTEGER) * 1000000"
                 " + CAST(substr({x}, 21, 6) AS INTEGER))",
       "postgresql": "CAST(round(extract(epoch FROM {x}) * 1000000) AS BIGINT)"}
_TIMES = """
WITH RECURSIVE seats(id) AS (
    SELECT min(seat_id) FROM seat_states
    UNION ALL
    SELECT (SELECT min(seat_id) FROM seat_states WHERE seat_id > seats.id) FROM seats WHERE seats.id IS NOT NULL),
changes AS (
    SELECT s.seat_id, s.state, s.at, s.id FROM seats
    JOIN seat_states s ON s.id = (SELECT x.id FROM seat_states x WHERE x.seat_id = seats.id AND x.at < :start
                                  ORDER BY x.at DESC, x.id DESC LIMIT 1)
    UNION ALL
    SELECT seat_id, state, at, id FROM seat_states WHERE at >= :start AND at < :end),
spans AS (
    SELECT seat_id, state, CASE WHEN us > :start_us THEN us ELSE :start_us END AS lo,
           coalesce(lead(us) OVER (PARTITION BY seat_id ORDER BY at, id), :end_us) AS hi
    FROM (SELECT seat_id, state, at, id, {us} AS us FROM changes) c)
SELECT seat_id, state, sum(CASE WHEN hi > lo THEN hi - lo ELSE 0 END)
FROM spans GROUP BY seat_id, state
"""


def times(session: Session, start: datetime, end: datetime) -> dict[str, dict[str, float]]:
    """Seconds each seat spent in each state within [start, end): what
    :func:`queue_manager.metrics.seat_times` makes of :func:`states`, added up by the database in
    whole µs (a window of months is hundreds of thousands of changes: none crosses to Python)."""
    dialect = "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"
    us = _US[dialect]
    sql = text(_TIMES.format(us=us.format(x="at"))) \
        .bindparams(bindparam("start", type_=UtcDateTime()), bindparam("end", type_=UtcDateTime()))
    bounds = {"start_us": _us(start), "end_us": _us(end)}
    out: dict[str, dict[str, float]] = {}
    for seat, state, total in session.execute(sql, {"start": start, "end": end, **bounds}):
        seat_out = out.setdefault(seat, {})
        if total:
            seat_out[state] = int(total) / 1_000_000
    return out


def _us(at: datetime) -> int:
    """Whole µs since the epoch, exactly (timedelta arithmetic)."""
    return (at - _EPOCH) // timedelta(microseconds=1)
