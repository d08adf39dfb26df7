"""ORM models of the knowledge base (:mod:`hotline.knowledge`, migration 0022). Re-exported by
:mod:`hotline.store.models`.

``knowledge_entries`` holds each entry as it stands (a withdrawn one keeps its row, ``withdrawn_at``
set); ``knowledge_entry_versions`` every version as it was saved (what a call's answer said, the
update times the unit score reads at a month's end); ``knowledge_terms`` the search index of the
entries not withdrawn (one row per term and entry, :mod:`hotline.knowledge.grams`), a plain table
that works the same on SQLite and PostgreSQL; ``work_order_knowledge`` the entries used to answer
an order's call.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.store.base import Base, UtcDateTime

FIELDS: tuple[tuple[str, str], ...] = (
    ("basis", "法律政策依据"), ("conditions", "办理条件"), ("materials", "所需材料"), ("process", "办事流程"),
    ("fees", "收费标准"), ("location", "办理地点"), ("time_limit", "办理时限"), ("notes", "注意事项"))
"""The fields of an entry the assessment annex prescribes (column name, 名称), in its order."""


class KnowledgeEntryRow(Base):
    __tablename__ = "knowledge_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit: Mapped[str] = mapped_column(String(32))                  # orders.units[].id
    title: Mapped[str] = mapped_column(String(200))
    basis: Mapped[str] = mapped_column(Text)
    conditions: Mapped[str] = mapped_column(Text)
    materials: Mapped[str] = mapped_column(Text)
    process: Mapped[str] = mapped_column(Text)
    fees: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(Text)
    time_limit: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)    # the last valid day
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (Index("ix_knowledge_entries_unit", "unit", "updated_at"),)


class KnowledgeVersionRow(Base):
    """One saved version of an entry (``fields``: title and the eight fields, as saved)."""

    __tablename__ = "knowledge_entry_versions"

    entry_id: Mapped[int] = mapped_column(ForeignKey("knowledge_entries.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit: Mapped[str] = mapped_column(String(32))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    valid_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))
    withdrawn: Mapped[bool] = mapped_column(Boolean)   # the version that withdrew the entry

    __table_args__ = (Index("ix_knowledge_entry_versions_unit", "unit", "updated_at"),)


class KnowledgeTermRow(Base):
    """A search term of an entry and its weight (primary key: term first, the lookup of a search;
    on SQLite a table without rowid, so a term's rows are one range holding their weights)."""

    __tablename__ = "knowledge_terms"

    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("knowledge_entries.id", ondelete="CASCADE"),
                                          primary_key=True, index=True)
    weight: Mapped[int] = mapped_column(Integer)

    __table_args__ = ({"sqlite_with_rowid": False},)


class WorkOrderKnowledgeRow(Base):
    """An entry (at a version) used to answer the call of an order; one row per order, entry and version."""

    __tablename__ = "work_order_knowledge"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("knowledge_entries.id"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(32))
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("work_order_id", "entry_id", "version", name="uq_work_order_knowledge"),)
