"""ORM models of the webhook outbox (:mod:`hotline.outbox`): events, deliveries, per-order
sequence numbers, purge counters and inbound changes. Re-exported by :mod:`hotline.store.models`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (JSON, ForeignKey, Index, Integer, String, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column


from hotline.store.base import Base, UtcDateTime


class OutboxEventRow(Base):
    """An order event to deliver to the order system's webhooks (hotline.outbox, migration 0007):
    ``seq`` counts an order's events from 1; ``idempotency_key`` is ``<site>:<order_id>:<seq>``."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)

    __table_args__ = (UniqueConstraint("order_id", "seq", name="uq_outbox_events_order_seq"),)


class OutboxDeliveryRow(Base):
    """One event to one webhook: ``pending`` until ``delivered`` or ``dead`` (the dead-letter
    list). ``order_id`` and ``seq`` are the event's, kept here so the worker finds an order's
    earliest undelivered event without a join."""

    __tablename__ = "outbox_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"), index=True)
    webhook: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("event_id", "webhook", name="uq_outbox_deliveries_event_webhook"),
                      Index("ix_outbox_deliveries_due", "status", "next_attempt_at"),
                      Index("ix_outbox_deliveries_order", "webhook", "order_id", "seq"),
                      Index("ix_outbox_deliveries_dead", "status", "webhook", "updated_at"))


class OutboxSequenceRow(Base):
    """An order's last event ``seq`` (hotline.outbox, migration 0009): kept when its events are
    pruned, so a later event never reuses a number (and an idempotency key) the receiver has seen."""

    __tablename__ = "outbox_sequences"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)


class OutboxPurgeRow(Base):
    """Dead letters purged per webhook (hotline.outbox.retention, migration 0009): ``expired``
    older than ``dead_retention_days``, ``capped`` beyond ``max_dead_per_webhook`` (oldest first);
    counted in the transaction that deletes them, so the counts are exact across restarts."""

    __tablename__ = "outbox_purges"

    webhook: Mapped[str] = mapped_column(String(32), primary_key=True)
    expired: Mapped[int] = mapped_column(Integer)
    capped: Mapped[int] = mapped_column(Integer)
    last_purged_at: Mapped[datetime] = mapped_column(UtcDateTime)


class InboundChangeRow(Base):
    """A state change an order system pushed back (hotline.outbox.inbound, migration 0007): one
    per (system, idempotency_key); a replay is answered with the stored ``result``."""

    __tablename__ = "inbound_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    change: Mapped[str] = mapped_column(String(32))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)

    __table_args__ = (UniqueConstraint("system", "idempotency_key", name="uq_inbound_changes_system_key"),)
