"""The outbox of order events, their deliveries to webhooks, and inbound changes (issue 11, item 6).

Revision ID: 0007
Revises: 0006 (the work-order lifecycle)
Create Date: 2026-12-02

``outbox_events``: one row per order event, ``seq`` per order from 1, a unique idempotency key.
``outbox_deliveries``: one row per (event, webhook), pending until delivered or dead.
``inbound_changes``: one row per (system, idempotency key) the order system pushed back.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("idempotency_key", sa.String(160), nullable=False, unique=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("order_id", "seq", name="uq_outbox_events_order_seq"),
    )
    op.create_index("ix_outbox_events_created_at", "outbox_events", ["created_at"])
    op.create_table(
        "outbox_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("outbox_events.id", ondelete="CASCADE"), nullable=False),
        sa.Column("webhook", sa.String(32), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        sa.UniqueConstraint("event_id", "webhook", name="uq_outbox_deliveries_event_webhook"),
    )
    op.create_index("ix_outbox_deliveries_event_id", "outbox_deliveries", ["event_id"])
    op.create_index("ix_outbox_deliveries_due", "outbox_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_deliveries_order", "outbox_deliveries", ["webhook", "order_id", "seq"])
    op.create_table(
        "inbound_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("change", sa.String(32), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.UniqueConstraint("system", "idempotency_key", name="uq_inbound_changes_system_key"),
    )
    op.create_index("ix_inbound_changes_order_id", "inbound_changes", ["order_id"])
    op.create_index("ix_inbound_changes_received_at", "inbound_changes", ["received_at"])


def downgrade() -> None:
    op.drop_table("inbound_changes")
    op.drop_table("outbox_deliveries")
    op.drop_table("outbox_events")
