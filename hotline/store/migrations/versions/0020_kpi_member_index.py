"""The KPI rollup read by member: index ``call_kpi_hours (dim, key, slot)`` (issue 15).

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-02

A report of one seat, queue or dialled number (``GET /api/metrics?seat=``) reads that member's
rows of the range, and an unknown member is told from one that only has old calls by one probe:
both an index range scan instead of every member's rows. (The lead re-chains 0020 at merge.)
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_call_kpi_hours_dim_key_slot", "call_kpi_hours", ["dim", "key", "slot"])


def downgrade() -> None:
    op.drop_index("ix_call_kpi_hours_dim_key_slot", table_name="call_kpi_hours")
