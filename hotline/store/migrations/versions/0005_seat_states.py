"""The seat state log: one row per seat state change (login, pause, ringing, talking, wrap-up...).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

Occupancy (handle time / staffed time) and staffed hours per seat are computed from it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seat_states",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("seat_id", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("call_id", sa.Text(), nullable=True),
    )
    op.create_index("ix_seat_states_seat_at", "seat_states", ["seat_id", "at"])
    op.create_index("ix_seat_states_at", "seat_states", ["at"])


def downgrade() -> None:
    op.drop_index("ix_seat_states_at", "seat_states")
    op.drop_index("ix_seat_states_seat_at", "seat_states")
    op.drop_table("seat_states")
