"""The call KPI day rollup ``call_kpi_days`` (issue 15: a quarter per day by seat), backfilled.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02

The tallies of ``call_kpi_hours`` per local day of the site (``hotline.store.kpi_days``): a report
per day over 92 days reads one row per member and day instead of 24. Derived from
``call_records`` (the backfill is ``hotline rollups rebuild``'s), never the only copy. The day is
the site zone's (the store's ``timezone``, as migration 0010's order days).
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = ("calls", "offered", "answered", "answered_in_sl", "abandoned", "short_abandons")


def upgrade() -> None:
    op.create_table(
        "call_kpi_days",
        sa.Column("dim", sa.String(16), primary_key=True),
        sa.Column("day", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("queue", sa.String(), primary_key=True),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in COUNTS),
        sa.Column("wait_ms", sa.BigInteger(), nullable=False),
        sa.Column("talk_ms", sa.BigInteger(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_call_kpi_days_dim_key_day", "call_kpi_days", ["dim", "key", "day"])
    from hotline.store.kpi_days import rebuild   # the product's rules: the rollup is derived data
    rebuild(op.get_bind(), ZoneInfo(op.get_context().config.attributes.get("timezone", "Asia/Shanghai")))


def downgrade() -> None:
    op.drop_index("ix_call_kpi_days_dim_key_day", table_name="call_kpi_days")
    op.drop_table("call_kpi_days")
