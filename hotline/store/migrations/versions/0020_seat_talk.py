"""A seat's own talk on the call record: ``call_records.seat_talk_seconds`` (issue 15).

Revision ID: 0020
Revises: 0015
Create Date: 2026-12-02

Set on a call with a transfer or a three-way call that the answering seat left before the caller
(``hotline.calls.seat_talk``): a seat's AHT counts the seat's own talk, the queue's and the call's
the whole talk. NULL (every record before this revision, and every call the seat stayed on to the
end) means the seat's talk is ``talk_seconds``, so the KPI rollup is unchanged by the upgrade: a
record written again (the reconciler, ``hotline rollups rebuild``) brings it in.

(The lead re-chains 0020 at merge after the other revisions of this round.)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.add_column(sa.Column("seat_talk_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.drop_column("seat_talk_seconds")
