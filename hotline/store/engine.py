"""The SQLAlchemy engine of the store, per backend: its timeouts and per-connection settings.

SQLite: WAL, ``synchronous=FULL``, a busy timeout and foreign keys on every connection.
PostgreSQL (psycopg 3): a connect timeout, a server-side statement and lock timeout, TCP
keepalives and a TCP user timeout, and ``pool_pre_ping`` (after a database restart the pooled
connections are dead: each is tested before use instead of failing the first write).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Engine

from hotline.filemodes import GROUP_READ, ensure_file

SQLITE_BUSY_TIMEOUT_MS = 5000
PG_CONNECT_TIMEOUT_S = 5
PG_STATEMENT_TIMEOUT_MS = 30_000
PG_CONNECT_ARGS = {
    "connect_timeout": PG_CONNECT_TIMEOUT_S,
    "options": f"-c statement_timeout={PG_STATEMENT_TIMEOUT_MS} -c lock_timeout=10000",
    "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}
POOL_TIMEOUT_S = 10

Insert = Callable[..., sqlite.Insert | postgresql.Insert]


def make_engine(parsed: URL) -> tuple[Engine, Insert]:
    """The engine for ``parsed`` (driver already resolved) and its dialect's upsert-capable insert."""
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:" and Path(parsed.database).parent.is_dir():
            # Every caller's number: 0640 from the first byte, whatever the umask (SQLite gives
            # the -wal and -shm files the database's mode).
            ensure_file(Path(parsed.database), GROUP_READ)
        engine = create_engine(parsed, pool_timeout=POOL_TIMEOUT_S)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine, sqlite.insert
    if backend == "postgresql":
        engine = create_engine(parsed, pool_pre_ping=True, pool_timeout=POOL_TIMEOUT_S,
                               connect_args=dict(PG_CONNECT_ARGS))
        return engine, postgresql.insert
    raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection SQLite settings: crash-safe (WAL + FULL), patient, with FKs enforced."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()
