"""The monthly unit score's manual inputs, exemptions and 轮值 attendance (issue 12).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

``unit_score_manual``: manual inputs per unit and site month (the 知识库 points); ``unit_score_exemptions``:
a supervisor's exemption of an order from a rule, with its reason; ``unit_attendance``: 轮值
attendance per unit and day. Append-only (the latest row per key counts); the measured inputs are
read from the order lifecycle, nothing is copied.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "unit_score_manual",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_index("ix_unit_score_manual_key", "unit_score_manual", ["unit", "month", "kind", "id"])
    op.create_table(
        "unit_score_exemptions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("rule", sa.String(24), nullable=False),
        sa.Column("work_order_id", sa.String(32), sa.ForeignKey("work_orders.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.UniqueConstraint("unit", "month", "rule", "work_order_id", name="uq_unit_score_exemptions"),
    )
    op.create_index("ix_unit_score_exemptions_month", "unit_score_exemptions", ["month", "unit"])
    op.create_table(
        "unit_attendance",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_index("ix_unit_attendance_month", "unit_attendance", ["month", "unit", "day", "id"])


def downgrade() -> None:
    op.drop_index("ix_unit_attendance_month", table_name="unit_attendance")
    op.drop_table("unit_attendance")
    op.drop_index("ix_unit_score_exemptions_month", table_name="unit_score_exemptions")
    op.drop_table("unit_score_exemptions")
    op.drop_index("ix_unit_score_manual_key", table_name="unit_score_manual")
    op.drop_table("unit_score_manual")
