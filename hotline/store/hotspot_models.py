"""ORM model of the hotspot warning (:mod:`hotline.hotspots`, migration 0024): one row per alert.
Re-exported by :mod:`hotline.store.models`.

An alert is raised once per (dimension, key) while it stays hot: ``active_key``
(``<dimension>:<key>``) is set while it is active and unique, NULL once cleared (both backends allow
any number of NULLs), so two rounds (or two controllers) never raise the same hotspot twice. The
numbers that raised it stay as they were (``count``, ``baseline_*``, ``ratio``, ``window_*``,
``first_ref``/``last_ref``); each later round updates ``last_count``, ``peak_count`` and
``last_seen_at``. Cleared alerts are purged after ``hotspots.retention_days`` (and beyond
``hotspots.max_kept``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.store.base import Base, UtcDateTime


class HotspotAlertRow(Base):
    __tablename__ = "hotspot_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dimension: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(80))
    active_key: Mapped[str | None] = mapped_column(String(100), unique=True)   # NULL once cleared
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)
    window_end: Mapped[datetime] = mapped_column(UtcDateTime)
    count: Mapped[int] = mapped_column(Integer)
    baseline_total: Mapped[int] = mapped_column(Integer)
    baseline_days: Mapped[int] = mapped_column(Integer)
    baseline_mean: Mapped[float] = mapped_column(Float)
    ratio: Mapped[float | None] = mapped_column(Float)          # NULL: no baseline (mean 0)
    threshold: Mapped[float] = mapped_column(Float)
    first_ref: Mapped[str] = mapped_column(String(64))          # the window's first order (or call) id
    last_ref: Mapped[str] = mapped_column(String(64))
    last_count: Mapped[int] = mapped_column(Integer)
    peak_count: Mapped[int] = mapped_column(Integer)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    acked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acked_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_hotspot_alerts_raised_at", "raised_at"),)
