"""Counters of the dead letters the outbox purged, per webhook (issue 11: bounds of the outbox).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

``outbox_purges``: one row per webhook, ``expired`` (older than ``dead_retention_days``) and
``capped`` (beyond ``max_dead_per_webhook``) purged so far, ``last_purged_at``. Also an index on
``outbox_deliveries (status, webhook, updated_at)``: the purge finds a webhook's oldest dead
letters, and the dead-letter list its newest, without a scan.

``outbox_sequences``: each order's last event ``seq``. Before it, ``seq`` was the largest left in
``outbox_events`` plus one: once an order's events were all pruned (``retention_days`` after
delivery), its next event got ``seq`` 1 again and the idempotency key of its first event, which a
receiver drops as a repeat. Filled here from the events still stored.
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
    op.create_table(
        "outbox_sequences",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
    )
    op.execute("INSERT INTO outbox_sequences (order_id, last_seq) "
               "SELECT order_id, MAX(seq) FROM outbox_events GROUP BY order_id")


def downgrade() -> None:
    op.drop_table("outbox_sequences")
    op.drop_index("ix_outbox_deliveries_dead", table_name="outbox_deliveries")
    op.drop_table("outbox_purges")
