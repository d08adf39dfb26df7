"""Work orders: ``no_revisit`` (不需回访), the caller asked not to be called back about the order.

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-02

Recorded at filing (``POST /api/work-orders``) or later (``PATCH /api/work-orders/{id}``); the 回访
service makes no call for such an order (its task is ``skipped``, reason ``no_revisit``). Existing
orders get false (nobody asked).

A plain ``ALTER TABLE .. ADD/DROP COLUMN`` on both backends, never a batch rebuild: on SQLite
(``foreign_keys=ON``) rebuilding ``work_orders`` would cascade-delete every call link, lifecycle
row and event of every order (see 0008).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("work_orders", sa.Column("no_revisit", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("work_orders", "no_revisit")
