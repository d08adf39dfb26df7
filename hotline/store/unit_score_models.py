"""ORM models of the monthly unit score (:mod:`hotline.unit_scores`, migration 0017): what people
enter, the measured inputs being read from the order lifecycle. Re-exported by
:mod:`hotline.store.models`. Each table is append-only: a later row for the same key wins and the
earlier ones stay (who changed what, when)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.store.base import Base, UtcDateTime


class UnitScoreManualRow(Base):
    """A manual input of one unit and site month (``kind``: ``knowledge_base``, the 知识库 points
    while the product has no knowledge base); the latest per (unit, month, kind) counts."""

    __tablename__ = "unit_score_manual"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit: Mapped[str] = mapped_column(String(32))
    month: Mapped[str] = mapped_column(String(7))          # YYYY-MM, the site's local month
    kind: Mapped[str] = mapped_column(String(24))
    points: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_unit_score_manual_key", "unit", "month", "kind", "id"),)


class UnitScoreExemptionRow(Base):
    """A supervisor's exemption of one order from one rule of a unit's month (客观因素、依法不能办理),
    with its reason; one per (unit, month, rule, order)."""

    __tablename__ = "unit_score_exemptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit: Mapped[str] = mapped_column(String(32))
    month: Mapped[str] = mapped_column(String(7))
    rule: Mapped[str] = mapped_column(String(24))
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("unit", "month", "rule", "work_order_id", name="uq_unit_score_exemptions"),
                      Index("ix_unit_score_exemptions_month", "month", "unit"))


class UnitAttendanceRow(Base):
    """轮值: a unit's attendance on a day it was due on the platform's floor (``present``,
    ``absent`` without reason, ``excused``); the latest per (unit, day) counts."""

    __tablename__ = "unit_attendance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit: Mapped[str] = mapped_column(String(32))
    day: Mapped[str] = mapped_column(String(10))           # YYYY-MM-DD
    month: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_unit_attendance_month", "month", "unit", "day", "id"),)
