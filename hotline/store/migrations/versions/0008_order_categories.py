"""Work-order categories 批评 (criticism) and 表扬 (praise) next to 咨询/求助/投诉/举报/建议 (issue 11).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Widens the named CHECK constraint ``work_order_category``. PostgreSQL: drop and create it.
SQLite cannot alter a CHECK constraint, the table must be rebuilt, and with ``foreign_keys=ON``
(every connection of the store) dropping ``work_orders`` deletes through the ``ON DELETE
CASCADE`` foreign keys every call link, lifecycle row and event of every order; the pragma
cannot be switched off inside the migration's transaction. So the rebuild is a copy and
restore: every table whose rows hang off ``work_orders`` (found through the foreign keys, so a
later table such as an outbox is kept too) is copied to a temporary table and emptied children
first (no cascade fires), ``work_orders`` is rebuilt with the new constraint and its indexes,
and the copies are restored parents first; ``PRAGMA foreign_key_check`` must then be clean.
All of it runs in the migration's one transaction: a failure leaves the database as it was.

Downgrade narrows the constraint back: it fails (and changes nothing) while an order of a new
category exists. The values are spelled out here (as in 0001), not imported.

(0007 is the outbox of another branch: when both are merged, this revision revises 0007.)
"""

from __future__ import annotations

from collections.abc import Sequence
from graphlib import TopologicalSorter

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATEGORIES_0001 = ("consult", "help", "complaint", "report", "suggestion")
CATEGORIES = (*CATEGORIES_0001, "criticism", "praise")
STATUSES = ("open", "assigned", "in_progress", "resolved", "closed")
_NEW = "_new_work_orders"


def upgrade() -> None:
    _set_categories(CATEGORIES)


def downgrade() -> None:
    _set_categories(CATEGORIES_0001)


def _set_categories(values: Sequence[str]) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _rebuild_sqlite(bind, values)
        return
    op.drop_constraint("work_order_category", "work_orders", type_="check")
    op.create_check_constraint("work_order_category", "work_orders",
                               "category IN (" + ", ".join(f"'{v}'" for v in values) + ")")


def _work_orders(name: str, categories: Sequence[str]) -> sa.Table:
    """``work_orders`` as 0001 created it, with ``categories`` allowed."""
    ts = sa.DateTime(timezone=True)
    return sa.Table(
        name, sa.MetaData(),
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.Enum(*categories, name="work_order_category", native_enum=False,
                                      create_constraint=True, length=16), nullable=False),
        sa.Column("status", sa.Enum(*STATUSES, name="work_order_status", native_enum=False,
                                    create_constraint=True, length=16), nullable=False),
        sa.Column("created_by", sa.String(16), nullable=False),
        sa.Column("caller_confidential", sa.Boolean(), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
    )


def dependants(bind: sa.engine.Connection) -> list[str]:
    """The tables whose rows hang off ``work_orders`` through foreign keys (children of children
    too), parents before children."""
    inspector = sa.inspect(bind)
    refs = {t: {fk["referred_table"] for fk in inspector.get_foreign_keys(t)} - {t}
            for t in inspector.get_table_names()}
    found = {"work_orders"}
    grew = True
    while grew:
        more = {t for t, parents in refs.items() if parents & found} - found
        found |= more
        grew = bool(more)
    graph = {t: refs[t] & found for t in found}
    return [t for t in TopologicalSorter(graph).static_order() if t != "work_orders"]


def _rebuild_sqlite(bind: sa.engine.Connection, categories: Sequence[str]) -> None:
    kept = dependants(bind)
    for table in kept:
        bind.exec_driver_sql(f'CREATE TEMP TABLE "_keep_{table}" AS SELECT * FROM "{table}"')
    for table in reversed(kept):          # children first: no cascade, no dangling reference
        bind.exec_driver_sql(f'DELETE FROM "{table}"')
    new = _work_orders(_NEW, categories)
    new.create(bind)
    columns = ", ".join(f'"{c.name}"' for c in new.columns)
    bind.exec_driver_sql(f'INSERT INTO "{_NEW}" ({columns}) SELECT {columns} FROM work_orders')
    bind.exec_driver_sql("DROP TABLE work_orders")    # no row refers to it any more
    bind.exec_driver_sql(f'ALTER TABLE "{_NEW}" RENAME TO work_orders')
    op.create_index("ix_work_orders_status", "work_orders", ["status"])
    op.create_index("ix_work_orders_created_at", "work_orders", ["created_at"])
    for table in kept:                    # parents first
        bind.exec_driver_sql(f'INSERT INTO "{table}" SELECT * FROM temp."_keep_{table}"')
        bind.exec_driver_sql(f'DROP TABLE temp."_keep_{table}"')
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration 0008: foreign keys broken after the rebuild: {broken[:5]}")
