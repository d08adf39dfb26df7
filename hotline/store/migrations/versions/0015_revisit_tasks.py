"""回访 tasks and the refusal list (issue 12).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

``revisit_tasks``: one 回访 call per (order, ``verify`` event): its number, status, tries (each
with the call id of its record), the keys pressed and the rating. ``revisit_refusals``: numbers
whose owner refused 回访 calls. Statuses are short ascii values without a CHECK (the set may grow).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "revisit_tasks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("work_order_id", sa.String(32), sa.ForeignKey("work_orders.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("verify_event_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("skip_reason", sa.String(32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", _TS, nullable=True),
        sa.Column("dialled_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("last_result", sa.String(16), nullable=True),
        sa.Column("rating", sa.String(24), nullable=True),
        sa.Column("keys", sa.String(16), nullable=False),
        sa.Column("seat", sa.String(16), nullable=True),
        sa.Column("tries", sa.JSON(), nullable=False),
        sa.UniqueConstraint("work_order_id", "verify_event_id", name="uq_revisit_tasks_verification"),
    )
    op.create_index("ix_revisit_tasks_work_order_id", "revisit_tasks", ["work_order_id"])
    op.create_index("ix_revisit_tasks_status", "revisit_tasks", ["status"])
    op.create_index("ix_revisit_tasks_created_at", "revisit_tasks", ["created_at"])
    op.create_table(
        "revisit_refusals",
        sa.Column("number", sa.String(32), primary_key=True),
        sa.Column("at", _TS, nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("revisit_refusals")
    op.drop_index("ix_revisit_tasks_created_at", table_name="revisit_tasks")
    op.drop_index("ix_revisit_tasks_status", table_name="revisit_tasks")
    op.drop_index("ix_revisit_tasks_work_order_id", table_name="revisit_tasks")
    op.drop_table("revisit_tasks")
