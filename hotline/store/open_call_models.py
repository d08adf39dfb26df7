"""ORM models of the calls in progress on each node (:mod:`hotline.store.open_calls`, migration 0026):
what a node lost for good leaves behind so another node can close its calls (issue 14, item 3).
Re-exported by :mod:`hotline.store.models`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.store.base import Base, UtcDateTime


class OpenCallRow(Base):
    __tablename__ = "open_calls"

    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)   # the conversation (Linkedid)
    node: Mapped[str] = mapped_column(String(32), index=True)            # the node it is on (site.node)
    events: Mapped[str] = mapped_column(Text)                            # its CEL events so far, JSON
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class NodeBeatRow(Base):
    __tablename__ = "node_beats"

    node: Mapped[str] = mapped_column(String(32), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)   # the controller's last round (its clock, UTC)
