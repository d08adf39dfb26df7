"""Reading the seat state log (``seat_states``) for a window (occupancy, issue 15), at any history
size: the changes inside the window (index on ``at``) and, per seat, the last change before it
(the state the window opens with), found per seat through ``(seat_id, at)`` (a skip scan over
the seats, then one index probe each), never by reading the history before the window."""

from __future__ import annotations

from datetime import datetime

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
