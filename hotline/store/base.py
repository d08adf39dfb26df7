"""The store's declarative base and column types, shared by every model module.

:mod:`hotline.store.models` holds the calls, orders, seats and audit rows and re-exports the
outbox's (:mod:`hotline.store.outbox_models`), so ``Base.metadata`` is whole once ``models`` is
imported (the migrations' ``env.py`` and ``tests/unit/test_store.py`` do).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (DateTime)
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from hotline.records.work_order import Category, Status


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so values are
    stored as naive UTC there (which also keeps string comparison in range
    filters correct) and given back their UTC tzinfo when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum(enum: type[Category] | type[Status], name: str) -> SqlEnum:
    """A VARCHAR with a CHECK constraint holding the enum's ascii values."""
    return SqlEnum(enum, name=name, native_enum=False, create_constraint=True, length=16,
                   values_callable=lambda e: [m.value for m in e])


class Base(DeclarativeBase):
    pass
