"""ORM model of the duty-phone dial tests (:mod:`hotline.duty_probes`, migration 0016).
Re-exported by :mod:`hotline.store.models`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.store.base import Base, UtcDateTime


class DutyProbeRow(Base):
    """One dial test of a unit's duty phone (issue 12): one per (unit, day, window, slot), so the
    drawn times never move. Statuses and results are :mod:`hotline.duty_probes.model`'s (short
    ascii values without a CHECK); ``tries`` names each try's call record."""

    __tablename__ = "duty_probes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit_id: Mapped[str] = mapped_column(String(32), index=True)
    window: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    slot: Mapped[int] = mapped_column(Integer)
    number: Mapped[str | None] = mapped_column(String(32))           # the digits dialled
    status: Mapped[str] = mapped_column(String(16), index=True)
    skip_reason: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    next_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dialled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_result: Mapped[str | None] = mapped_column(String(16))
    postponed: Mapped[int] = mapped_column(Integer)
    tries: Mapped[list[dict[str, Any]]] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("unit_id", "day", "window", "slot", name="uq_duty_probes_slot"),)
