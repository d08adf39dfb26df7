"""Alembic environment: migrates the connection that ``Store.upgrade`` passes in.

There is no alembic.ini; ``Store._alembic_config`` builds the Config in code
and puts an open connection in ``config.attributes["connection"]``. To author a
new revision, build the same Config with a connection to a scratch database
and call ``alembic.command.revision(config, message, autogenerate=True)``.

Several controllers may start at once on one PostgreSQL store (issue 14): each takes the same
transaction-scoped advisory lock first, so one migrates and the others, once it committed, find
the schema at head and do nothing. (SQLite: one controller per file; its write lock serialises.)
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from hotline.store.models import Base

MIGRATION_LOCK = 0x12345   # pg_advisory_xact_lock's key: "the hotline schema is being migrated"

connection = context.config.attributes["connection"]
if connection.dialect.name == "postgresql":
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode copies the table.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
