"""Callback tasks (issue #3): queue callbacks and callbacks of abandoned calls.

Revision ID: 0004
Revises: 0003 (the audit log; the two revisions touch different tables)
Create Date: 2026-11-24

One row per original conversation (``call_id`` unique). ``kind`` and ``status`` are short
ascii values without a CHECK, like ``call_records.outcome``: the set may grow.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "callback_tasks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("queue", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("seat", sa.String(16), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("last_result", sa.String(64), nullable=True),
        sa.Column("callback_call_id", sa.String(), nullable=True),
        sa.UniqueConstraint("call_id", name="uq_callback_tasks_call_id"),
    )
    op.create_index("ix_callback_tasks_status", "callback_tasks", ["status"])
    op.create_index("ix_callback_tasks_created_at", "callback_tasks", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_callback_tasks_created_at", table_name="callback_tasks")
    op.drop_index("ix_callback_tasks_status", table_name="callback_tasks")
    op.drop_table("callback_tasks")
