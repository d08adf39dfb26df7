"""Alembic environment: migrates the connection that ``Store.upgrade`` passes in.

There is no alembic.ini; ``Store._alembic_config`` builds the Config in code
and puts an open connection in ``config.attributes["connection"]``. To author a
new revision, build the same Config with a connection to a scratch database
and call ``alembic.command.revision(config, message, autogenerate=True)``.
"""

from __future__ import annotations

from alembic import context

from hotline.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode copies the table.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
