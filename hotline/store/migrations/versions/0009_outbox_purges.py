"""Counters of the dead letters the outbox purged, per webhook (issue 11: bounds of the outbox).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

``outbox_purges``: one row per webhook, ``expired`` (older than ``dead_retention_days``) and
``capped`` (beyond ``max_dead_per_webhook``) purged so far, ``last_purged_at``. Also an index on
``outbox_deliveries (status, webhook, updated_at)``: the purge finds a webhook's oldest dead
letters, and the dead-letter list its newest, without a scan.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_purges",
        sa.Column("webhook", sa.String(32), primary_key=True),
        sa.Column("expired", sa.Integer(), nullable=False),
        sa.Column("capped", sa.Integer(), nullable=False),
        sa.Column("last_purged_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_outbox_deliveries_dead", "outbox_deliveries", ["status", "webhook", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_deliveries_dead", table_name="outbox_deliveries")
    op.drop_table("outbox_purges")
