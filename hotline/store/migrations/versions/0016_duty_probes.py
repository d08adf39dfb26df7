"""Duty-phone dial tests (issue 12).

Revision ID: 0016
Revises: 0018
Create Date: 2026-12-02

``duty_probes``: one dial test per (unit, site-time day, window, slot): the number dialled, the
drawn time, the status (``unreachable``: one 不通 event), the tries (each with the call id of its
record). Statuses are short ascii values without a CHECK (the set may grow).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "duty_probes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("unit_id", sa.String(32), nullable=False),
        sa.Column("window", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("skip_reason", sa.String(32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", _TS, nullable=False),
        sa.Column("next_at", _TS, nullable=True),
        sa.Column("dialled_at", _TS, nullable=True),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("last_result", sa.String(16), nullable=True),
        sa.Column("postponed", sa.Integer(), nullable=False),
        sa.Column("tries", sa.JSON(), nullable=False),
        sa.UniqueConstraint("unit_id", "day", "window", "slot", name="uq_duty_probes_slot"),
    )
    op.create_index("ix_duty_probes_unit_id", "duty_probes", ["unit_id"])
    op.create_index("ix_duty_probes_status", "duty_probes", ["status"])
    op.create_index("ix_duty_probes_due_at", "duty_probes", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_duty_probes_due_at", table_name="duty_probes")
    op.drop_index("ix_duty_probes_status", table_name="duty_probes")
    op.drop_index("ix_duty_probes_unit_id", table_name="duty_probes")
    op.drop_table("duty_probes")
