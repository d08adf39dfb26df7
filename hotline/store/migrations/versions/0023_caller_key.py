"""The caller's person key on call records: ``call_records.caller_key``, indexed, backfilled (issue 13).

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-02

The same person calls as ``013812345678``, ``+8613812345678`` or ``13812345678``: every lookup by
caller (history on the screen pop, repeat-caller seeding, callbacks, the searches by number)
compares ``caller_key`` (:func:`hotline.spine.numbers.person_key`), while ``caller_number`` keeps
what was received. Work orders have no number of their own: they are found through their calls.
The backfill computes the key once per distinct number (in Python: the product's one rule) and
updates the rows through a temporary table, one statement on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    op.add_column("call_records", sa.Column("caller_key", sa.String(), nullable=True))
    backfill(op.get_bind())
    op.create_index("ix_call_records_caller_key_arrived_at", "call_records", ["caller_key", "arrived_at"])


def backfill(bind: sa.engine.Connection) -> int:
    """Set every record's key; returns how many distinct numbers have a key of their own."""
    from hotline.spine.numbers import person_key   # the product's rule, the one every write uses

    bind.execute(sa.text("UPDATE call_records SET caller_key = caller_number"))
    numbers = [n for (n,) in bind.execute(sa.text("SELECT DISTINCT caller_number FROM call_records"))
               if isinstance(n, str) and person_key(n) != n]
    if not numbers:
        return 0
    keys = sa.table("tmp_caller_keys", sa.column("number", sa.String()), sa.column("key", sa.String()))
    bind.execute(sa.text("CREATE TEMPORARY TABLE tmp_caller_keys (number VARCHAR PRIMARY KEY, key VARCHAR)"))
    for i in range(0, len(numbers), BATCH):
        bind.execute(keys.insert(), [{"number": n, "key": person_key(n)} for n in numbers[i:i + BATCH]])
    bind.execute(sa.text(
        "UPDATE call_records SET caller_key = (SELECT k.key FROM tmp_caller_keys k WHERE k.number = "
        "call_records.caller_number) WHERE caller_number IN (SELECT number FROM tmp_caller_keys)"))
    bind.execute(sa.text("DROP TABLE tmp_caller_keys"))
    return len(numbers)


def downgrade() -> None:
    op.drop_index("ix_call_records_caller_key_arrived_at", table_name="call_records")
    # a plain DROP COLUMN (SQLite >= 3.35): a batch rebuild of call_records fails with foreign keys
    # on (work_order_calls refers to it), the store's own connections have them on
    op.drop_column("call_records", "caller_key")
