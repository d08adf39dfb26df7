"""Initial schema: call records, work orders and their links, meta.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Enum values are spelled out here rather than imported, so this revision keeps
describing the schema it created after the Python enums change.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    op.create_table(
        "call_records",
        sa.Column("call_id", sa.String(), primary_key=True),
        sa.Column("dialled_number", sa.String(), nullable=False),
        sa.Column("caller_number", sa.String(), nullable=False),
        sa.Column("arrived_at", _TS, nullable=False),
        sa.Column("legacy_mode", sa.String(), nullable=True),
        sa.Column("department", sa.String(), nullable=True),
        sa.Column("trunk", sa.String(), nullable=True),
        sa.Column("queue", sa.String(), nullable=True),
        sa.Column("seat", sa.String(), nullable=True),
        sa.Column("queued_at", _TS, nullable=True),
        sa.Column("answered_at", _TS, nullable=True),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column("wait_seconds", sa.Float(), nullable=True),
        sa.Column("talk_seconds", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("hangup_cause", sa.Integer(), nullable=True),
        sa.Column("hangup_cause_text", sa.String(), nullable=True),
        sa.Column("recording", sa.String(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_call_records_arrived_at", "call_records", ["arrived_at"])
    op.create_index("ix_call_records_outcome", "call_records", ["outcome"])
    op.create_index("ix_call_records_dialled_number_arrived_at", "call_records",
                    ["dialled_number", "arrived_at"])

    op.create_table(
        "work_orders",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", _enum("work_order_category",
                                    "consult", "help", "complaint", "report", "suggestion"), nullable=False),
        sa.Column("status", _enum("work_order_status",
                                  "open", "assigned", "in_progress", "resolved", "closed"), nullable=False),
        sa.Column("created_by", sa.String(16), nullable=False),
        sa.Column("caller_confidential", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_work_orders_status", "work_orders", ["status"])
    op.create_index("ix_work_orders_created_at", "work_orders", ["created_at"])

    op.create_table(
        "work_order_calls",
        sa.Column("work_order_id", sa.String(32),
                  sa.ForeignKey("work_orders.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("call_id", sa.String(), sa.ForeignKey("call_records.call_id"), primary_key=True),
    )
    op.create_index("ix_work_order_calls_call_id", "work_order_calls", ["call_id"])

    op.create_table(
        "work_order_counters",
        sa.Column("day", sa.String(8), primary_key=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
    )

    op.create_table(
        "meta",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in ("meta", "work_order_counters", "work_order_calls", "work_orders", "call_records"):
        op.drop_table(table)
