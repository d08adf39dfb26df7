"""Call records: ``origin``, where a call was handed over from ("110" for calls 110 diverts).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

A column, not a key in ``extra``: reports count and filter diverted calls (issue #4),
and the value is one short tag. Existing rows keep NULL (not handed over).
The new outcome ``ended_after_notice`` needs nothing here: ``outcome`` has no CHECK.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.add_column(sa.Column("origin", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.drop_column("origin")
