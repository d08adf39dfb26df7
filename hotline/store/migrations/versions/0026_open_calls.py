"""The calls in progress per node ``open_calls`` and the nodes' beats ``node_beats`` (issue 14, item 3).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03

A node's controller keeps its calls in progress here (their CEL events so far) and beats every
round; when a node stops beating for good, another node closes its calls from these rows
(``hotline.store.open_calls``). Nothing to backfill: the first round of each controller fills them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "open_calls",
        sa.Column("call_id", sa.String(64), primary_key=True),
        sa.Column("node", sa.String(32), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_open_calls_node", "open_calls", ["node"])
    op.create_table(
        "node_beats",
        sa.Column("node", sa.String(32), primary_key=True),
        sa.Column("seen_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("node_beats")
    op.drop_index("ix_open_calls_node", table_name="open_calls")
    op.drop_table("open_calls")
