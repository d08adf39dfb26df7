"""ORM model of the duty leases (:mod:`hotline.store.leases`, migration 0025): one row per duty that
only one controller of a site may run at a time (the 回访 and duty-phone rounds, which place calls;
the order sweep; the hotspot round). Re-exported by :mod:`hotline.store.models`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.store.base import Base, UtcDateTime


class DutyLeaseRow(Base):
    __tablename__ = "duty_leases"

    duty: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))           # the node (site.node) holding it
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    since: Mapped[datetime] = mapped_column(UtcDateTime)      # when this holder took it
