"""The hotspot warning's alerts ``hotspot_alerts`` (issue 13, item 4: 热点预警).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02

One row per alert (``hotline.store.hotspot_models``): raised once per (dimension, key) while hot
(``active_key`` unique while active, NULL once cleared), the numbers that raised it, acknowledged by
a supervisor; cleared rows are purged by the service's retention. Nothing to backfill: alerts are
raised from now on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hotspot_alerts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dimension", sa.String(16), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("active_key", sa.String(100), nullable=True, unique=True),
        sa.Column("raised_at", _TS, nullable=False),
        sa.Column("cleared_at", _TS, nullable=True),
        sa.Column("window_start", _TS, nullable=False),
        sa.Column("window_end", _TS, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("baseline_total", sa.Integer(), nullable=False),
        sa.Column("baseline_days", sa.Integer(), nullable=False),
        sa.Column("baseline_mean", sa.Float(), nullable=False),
        sa.Column("ratio", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("first_ref", sa.String(64), nullable=False),
        sa.Column("last_ref", sa.String(64), nullable=False),
        sa.Column("last_count", sa.Integer(), nullable=False),
        sa.Column("peak_count", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", _TS, nullable=False),
        sa.Column("acked_at", _TS, nullable=True),
        sa.Column("acked_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_hotspot_alerts_raised_at", "hotspot_alerts", ["raised_at"])


def downgrade() -> None:
    op.drop_index("ix_hotspot_alerts_raised_at", table_name="hotspot_alerts")
    op.drop_table("hotspot_alerts")
