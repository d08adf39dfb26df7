"""The duty leases ``duty_leases`` (issue 14, item 3: one store, many controllers).

Revision ID: 0025
Revises: 0022
Create Date: 2026-12-02

One row per duty only one controller may run at a time (``hotline.store.lease_models``): who holds
it and until when. Nothing to backfill: the first round of each duty takes it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "duty_leases",
        sa.Column("duty", sa.String(32), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("since", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("duty_leases")
