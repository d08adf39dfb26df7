"""The knowledge base (知识库, issue 13): entries, their versions, the search terms, order links.

Revision ID: 0022
Revises: 0024
Create Date: 2026-12-02

``knowledge_entries`` (a unit's entry with the annex's eight fields, validity, update time and
version), ``knowledge_entry_versions`` (every saved version), ``knowledge_terms`` (the search
index: one row per term of :mod:`hotline.knowledge.grams` and entry, primary key term first, the
same plain table on SQLite and PostgreSQL) and ``work_order_knowledge`` (an entry, at a version,
used to answer an order's call).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
FIELDS = ("basis", "conditions", "materials", "process", "fees", "location", "time_limit", "notes")


def upgrade() -> None:
    op.create_table(
        "knowledge_entries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        *(sa.Column(f, sa.Text(), nullable=False) for f in FIELDS),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("withdrawn_at", _TS, nullable=True),
    )
    op.create_index("ix_knowledge_entries_unit", "knowledge_entries", ["unit", "updated_at"])
    op.create_table(
        "knowledge_entry_versions",
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("knowledge_entries.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_knowledge_entry_versions_unit", "knowledge_entry_versions", ["unit", "updated_at"])
    op.create_table(
        "knowledge_terms",
        sa.Column("term", sa.String(64), primary_key=True),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("knowledge_entries.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("weight", sa.Integer(), nullable=False),
        sqlite_with_rowid=False,   # a term's rows are one range of the primary key, weights included
    )
    op.create_index("ix_knowledge_terms_entry_id", "knowledge_terms", ["entry_id"])
    op.create_table(
        "work_order_knowledge",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("work_order_id", sa.String(32), sa.ForeignKey("work_orders.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("knowledge_entries.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.UniqueConstraint("work_order_id", "entry_id", "version", name="uq_work_order_knowledge"),
    )
    op.create_index("ix_work_order_knowledge_work_order_id", "work_order_knowledge", ["work_order_id"])


def downgrade() -> None:
    op.drop_index("ix_work_order_knowledge_work_order_id", table_name="work_order_knowledge")
    op.drop_table("work_order_knowledge")
    op.drop_index("ix_knowledge_terms_entry_id", table_name="knowledge_terms")
    op.drop_table("knowledge_terms")
    op.drop_index("ix_knowledge_entry_versions_unit", table_name="knowledge_entry_versions")
    op.drop_table("knowledge_entry_versions")
    op.drop_index("ix_knowledge_entries_unit", table_name="knowledge_entries")
    op.drop_table("knowledge_entries")
