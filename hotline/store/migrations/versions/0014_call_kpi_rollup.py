"""The call KPI rollup ``call_kpi_hours`` (issue 15: KPIs over millions of records), backfilled.

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-03

Per UTC hour, dimension (``all``, ``queue``, ``seat``, ``dialled_number``), member and queue: the
tally of the call records (counts and millisecond sums, ``hotline.store.kpi_rollup``). Derived from
``call_records``, never the only copy: the upgrade fills it from the records already there with the
product's own rebuild (``hotline rollups rebuild`` does the same at any time); the downgrade drops it.

(0014 revises 0008 on this branch; the lead re-chains it at merge after the other issue-15 revisions.)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = ("calls", "offered", "answered", "answered_in_sl", "abandoned", "short_abandons")


def upgrade() -> None:
    op.create_table(
        "call_kpi_hours",
        sa.Column("dim", sa.String(16), primary_key=True),
        sa.Column("slot", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("queue", sa.String(), primary_key=True),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in COUNTS),
        sa.Column("wait_ms", sa.BigInteger(), nullable=False),
        sa.Column("talk_ms", sa.BigInteger(), nullable=False),
        sqlite_with_rowid=False,
    )
    from hotline.store.kpi_rollup import rebuild   # the product's rules: the rollup is derived data
    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("call_kpi_hours")
