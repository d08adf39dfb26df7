"""The order KPIs computed by the database (issue 11): one row per assignment, and day counts.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

``work_order_assignments``: one row per dispatch of an order to a 主办 unit with what the KPIs
count (returned, closed, on time, last rating, reopened) and the dispatch time, also as a UTC
quarter-hour ``bucket``; indexed by order (the latest row of an order is the one an event
updates), by dispatch time (a period) and by unit and dispatch time (one unit's report). The
store keeps it up to date in each event's transaction (``hotline.work_orders.assignments``).

Upgrade fills it from the event trails already stored, with the rules of
``hotline.work_orders.kpis.assignments_of`` (spelled out here, not imported), one order at a
time in event order: a dispatch or redispatch opens a row; a return, a reply (the last reply
time), a reopen (reopened, unsatisfied) and an evaluate (closed, its rating, on time when the
last reply came before the order's deadline) update the order's latest row.

``work_order_kpi_days``: the KPI counts of the assignments dispatched on one day of the site's
zone (``Store.upgrade`` passes it; Asia/Shanghai without) per unit, subject and area, filled from
the assignment rows: what a KPI query over whole days (a report, a month, a year) adds up.

(0009 is another branch's: when both are merged, this revision revises 0009.)
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "work_order_assignments"
DAYS = "work_order_kpi_days"
COUNTS = ("dispatched", "returned", "closed", "closed_on_time", "evaluated", "satisfied", "reopened")
BUCKET_SECONDS = 900
BATCH = 5000


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    table = op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("work_order_id", sa.String(32), sa.ForeignKey("work_orders.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(32), nullable=False),
        sa.Column("area", sa.String(32), nullable=False),
        sa.Column("dispatched_at", ts, nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Boolean(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.String(24), nullable=True),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("last_reply_at", ts, nullable=True),
    )
    days = op.create_table(
        DAYS,
        sa.Column("dimension", sa.String(8), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("key", sa.String(32), primary_key=True),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in COUNTS),
    )
    assert table is not None and days is not None
    tz = ZoneInfo(op.get_context().config.attributes.get("timezone", "Asia/Shanghai"))
    totals: dict[tuple[str, str, str], list[int]] = {}
    _backfill(op.get_bind(), table, lambda rows: _add(totals, rows, tz))
    rows = [{"dimension": d, "day": day, "key": k, **dict(zip(COUNTS, v, strict=True))}
            for (d, day, k), v in totals.items()]
    for i in range(0, len(rows), BATCH):
        op.get_bind().execute(days.insert(), rows[i:i + BATCH])
    op.create_index("ix_work_order_assignments_order", TABLE, ["work_order_id", "id"])
    op.create_index("ix_work_order_assignments_dispatched_at", TABLE, ["dispatched_at"])
    op.create_index("ix_work_order_assignments_unit", TABLE, ["unit", "dispatched_at"])


def downgrade() -> None:
    op.drop_table(DAYS)
    for name in ("unit", "dispatched_at", "order"):
        op.drop_index(f"ix_work_order_assignments_{name}", TABLE)
    op.drop_table(TABLE)


def _utc(value: Any) -> dt.datetime:
    """A stored time (SQLite: naive UTC, or its text) as an aware UTC datetime."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _add(totals: dict[tuple[str, str, str], list[int]], rows: list[dict[str, Any]], tz: ZoneInfo) -> None:
    """Add the assignments to the day counts per unit, subject and area (``work_order_kpi_days``)."""
    for r in rows:
        kept = not r["returned"]
        share = (1, int(r["returned"]), int(kept and r["closed"]), int(kept and r["closed"] and r["on_time"]),
                 int(kept and r["rating"] is not None),
                 int(kept and r["rating"] in ("satisfied", "basically_satisfied")), int(kept and r["reopened"]))
        day = r["dispatched_at"].astimezone(tz).date().isoformat()
        for dimension in ("unit", "subject", "area"):
            counts = totals.setdefault((dimension, day, r[dimension]), [0] * len(COUNTS))
            for i, n in enumerate(share):
                counts[i] += n


def _backfill(bind: sa.Connection, table: sa.Table, also: Callable[[list[dict[str, Any]]], None]) -> None:
    meta = sa.MetaData()
    events = sa.Table("work_order_events", meta, autoload_with=bind)
    lifecycle = sa.Table("work_order_lifecycle", meta, autoload_with=bind)
    orders = {r.work_order_id: r for r in bind.execute(
        sa.select(lifecycle.c.work_order_id, lifecycle.c.subject, lifecycle.c.area, lifecycle.c.due))}
    query = (sa.select(events.c.work_order_id, events.c.action, events.c.at, events.c.fields)
             .where(events.c.action.in_(["dispatch", "redispatch", "return", "reply", "reopen", "evaluate"]))
             .order_by(events.c.work_order_id, events.c.id))
    pending: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []     # the rows of the order being read
    order_id = None
    for e in bind.execute(query):
        if e.work_order_id != order_id:
            pending.extend(current)
            current, order_id = [], e.work_order_id
            if len(pending) >= BATCH:
                also(pending)
                bind.execute(table.insert(), _stored(bind, pending))
                pending = []
        _apply(current, e, orders.get(e.work_order_id))
    pending.extend(current)
    if pending:
        also(pending)
        bind.execute(table.insert(), _stored(bind, pending))


def _stored(bind: sa.Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """SQLite keeps naive UTC times (the store's ``UtcDateTime``)."""
    if bind.dialect.name != "sqlite":
        return rows
    for row in rows:
        for name in ("dispatched_at", "last_reply_at"):
            if row[name] is not None:
                row[name] = row[name].replace(tzinfo=None)
    return rows


def _apply(rows: list[dict[str, Any]], e: Any, order: Any) -> None:
    at = _utc(e.at)
    fields = json.loads(e.fields) if isinstance(e.fields, str) else e.fields or {}
    if e.action in ("dispatch", "redispatch"):
        rows.append({"work_order_id": e.work_order_id, "unit": str(fields.get("unit")),
                     "subject": (order.subject if order else None) or "", "area": (order.area if order else None) or "",
                     "dispatched_at": at, "bucket": int(at.timestamp()) // BUCKET_SECONDS, "returned": False,
                     "closed": False, "on_time": False, "rating": None, "reopened": False, "last_reply_at": None})
        return
    if not rows:
        return
    row = rows[-1]
    if e.action == "return":
        row["returned"] = True
    elif e.action == "reply":
        row["last_reply_at"] = at
    elif e.action == "reopen":
        row["reopened"], row["rating"] = True, "unsatisfied"
    elif e.action == "evaluate":
        due = _utc(order.due) if order is not None and order.due is not None else None
        row["closed"], row["rating"] = True, str(fields.get("rating"))
        row["on_time"] = row["last_reply_at"] is not None and due is not None and row["last_reply_at"] < due
