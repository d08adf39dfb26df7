"""The work-order lifecycle (issue 11): where each order stands and its event trail.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

``work_order_lifecycle``: one row per order that entered the lifecycle (state, urgency, subject,
area, the 主办 unit and 协办 units, deadlines, closure, rating, 重办 count); an order filed before
this migration has none and counts as ``created``. ``work_order_events``: every transition with
who, when, the action and its fields (the audit trail).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk() -> sa.ForeignKey:
    return sa.ForeignKey("work_orders.id", ondelete="CASCADE")


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "work_order_lifecycle",
        sa.Column("work_order_id", sa.String(32), _fk(), primary_key=True),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(32), nullable=True),
        sa.Column("area", sa.String(32), nullable=True),
        sa.Column("unit", sa.String(32), nullable=True),
        sa.Column("co_units", sa.JSON(), nullable=False),
        sa.Column("dispatch_due", ts, nullable=True),
        sa.Column("dispatched_at", ts, nullable=True),
        sa.Column("return_due", ts, nullable=True),
        sa.Column("due", ts, nullable=True),
        sa.Column("closure", sa.String(16), nullable=True),
        sa.Column("rating", sa.String(24), nullable=True),
        sa.Column("redo_count", sa.Integer(), nullable=False),
        sa.Column("extension_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", ts, nullable=False),
    )
    for column in ("state", "subject", "area", "unit", "due"):
        op.create_index(f"ix_work_order_lifecycle_{column}", "work_order_lifecycle", [column])
    op.create_table(
        "work_order_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("work_order_id", sa.String(32), _fk(), nullable=False),
        sa.Column("at", ts, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(32), nullable=True),
        sa.Column("from_state", sa.String(24), nullable=True),
        sa.Column("to_state", sa.String(24), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
    )
    op.create_index("ix_work_order_events_order_id", "work_order_events", ["work_order_id", "id"])
    op.create_index("ix_work_order_events_at", "work_order_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_work_order_events_at", "work_order_events")
    op.drop_index("ix_work_order_events_order_id", "work_order_events")
    op.drop_table("work_order_events")
    for column in ("due", "unit", "area", "subject", "state"):
        op.drop_index(f"ix_work_order_lifecycle_{column}", "work_order_lifecycle")
    op.drop_table("work_order_lifecycle")
