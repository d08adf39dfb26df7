"""ORM models of the work-order store.

Every table here is created by the Alembic migrations in ``migrations/versions``;
``tests/unit/test_store.py`` compares the two so they cannot drift apart.

Column types are chosen so a record from the wild is never refused: the
telephony strings of a call record are unbounded, because a caller number or
hangup text longer than expected must not turn a call into a rejected write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, false)
from sqlalchemy.orm import Mapped, mapped_column

from hotline.records.work_order import Category, Status
from hotline.spine.numbers import person_key


from hotline.store.base import Base, UtcDateTime, _enum
from hotline.store.duty_probe_models import DutyProbeRow
from hotline.store.hotspot_models import HotspotAlertRow
from hotline.store.lease_models import DutyLeaseRow
from hotline.store.open_call_models import NodeBeatRow, OpenCallRow
from hotline.store.knowledge_models import (KnowledgeEntryRow, KnowledgeTermRow, KnowledgeVersionRow,
                                            WorkOrderKnowledgeRow)
from hotline.store.outbox_models import (InboundChangeRow, OutboxDeliveryRow, OutboxEventRow, OutboxPurgeRow,
                                         OutboxSequenceRow)
from hotline.store.unit_score_models import UnitAttendanceRow, UnitScoreExemptionRow, UnitScoreManualRow

__all__ = ["Base", "UtcDateTime", "DutyLeaseRow", "NodeBeatRow", "OpenCallRow", "DutyProbeRow", "HotspotAlertRow",
           "InboundChangeRow",
           "OutboxDeliveryRow", "OutboxEventRow", "OutboxPurgeRow", "OutboxSequenceRow", "UnitAttendanceRow",
           "UnitScoreExemptionRow", "UnitScoreManualRow", "KnowledgeEntryRow", "KnowledgeTermRow",
           "KnowledgeVersionRow", "WorkOrderKnowledgeRow"]


def _caller_key(context: Any) -> str | None:
    """The key of an inserted row's caller number, for a write that does not give one."""
    number = context.get_current_parameters().get("caller_number")
    return person_key(number) if isinstance(number, str) else None


class CallRow(Base):
    """One conversation; the columns mirror :class:`hotline.records.call.CallRecord`."""

    __tablename__ = "call_records"

    call_id: Mapped[str] = mapped_column(String, primary_key=True)  # Asterisk Linkedid
    dialled_number: Mapped[str] = mapped_column(String)
    caller_number: Mapped[str] = mapped_column(String)   # as received
    # the person behind it (hotline.spine.numbers.person_key; migration 0023): every lookup by caller
    caller_key: Mapped[str | None] = mapped_column(String, default=_caller_key)
    arrived_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    legacy_mode: Mapped[str | None] = mapped_column(String)
    department: Mapped[str | None] = mapped_column(String)
    origin: Mapped[str | None] = mapped_column(String)  # "110" for diverted calls (migration 0002)
    trunk: Mapped[str | None] = mapped_column(String)
    queue: Mapped[str | None] = mapped_column(String)
    seat: Mapped[str | None] = mapped_column(String)
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    talk_seconds: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String, index=True)  # Outcome value; open set, no CHECK
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    hangup_cause_text: Mapped[str | None] = mapped_column(String)
    recording: Mapped[str | None] = mapped_column(String)
    source: Mapped[str] = mapped_column(String)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_call_records_dialled_number_arrived_at", "dialled_number", "arrived_at"),
                      Index("ix_call_records_caller_key_arrived_at", "caller_key", "arrived_at"))


class WorkOrderRow(Base):
    __tablename__ = "work_orders"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # WO-YYYYMMDD-NNNNNN
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[Category] = mapped_column(_enum(Category, "work_order_category"))
    status: Mapped[Status] = mapped_column(_enum(Status, "work_order_status"), index=True)
    created_by: Mapped[str] = mapped_column(String(16))  # seat id
    caller_confidential: Mapped[bool] = mapped_column(Boolean)
    # 不需回访: the caller asked not to be called back about it (no 回访 task is dialled); migration 0018
    no_revisit: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WorkOrderCallRow(Base):
    __tablename__ = "work_order_calls"

    work_order_id: Mapped[str] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("call_records.call_id"), primary_key=True, index=True)


class WorkOrderCounterRow(Base):
    """The last work-order sequence number handed out on one local day.

    A single ``INSERT .. ON CONFLICT DO UPDATE .. RETURNING`` bumps it, so two
    seats filing at the same moment never get the same id on either backend.
    """

    __tablename__ = "work_order_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)  # YYYYMMDD, site local time
    last_seq: Mapped[int] = mapped_column(Integer)


class MetaRow(Base):
    """Small key/value state, e.g. the CEL reconcile offset."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SeatStateRow(Base):
    """One seat state change (the seat state log): a state lasts until the seat's next row.
    Occupancy and staffed time are computed from it (queue_manager.metrics.seat_times)."""

    __tablename__ = "seat_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seat_id: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    call_id: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_seat_states_seat_at", "seat_id", "at"), Index("ix_seat_states_at", "at"))


class CallbackTaskRow(Base):
    """A request to call a citizen back (issue #3): queue callback or an abandoned call a seat
    takes. One per original conversation (``call_id`` is unique): a second request for the same
    call is the same task. Statuses and kinds are :mod:`hotline.callbacks.model`'s."""

    __tablename__ = "callback_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))            # queue_callback | abandoned
    call_id: Mapped[str] = mapped_column(String)  # the original conversation's Linkedid (unique)
    number: Mapped[str] = mapped_column(String(32))
    queue: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer)
    seat: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_result: Mapped[str | None] = mapped_column(String(64))
    callback_call_id: Mapped[str | None] = mapped_column(String)

    __table_args__ = (UniqueConstraint("call_id", name="uq_callback_tasks_call_id"),)


class AuditRow(Base):
    """Who did what through the API (hotline.audit): supervisors' and admins' writes, and every
    request on another user's seat (migration 0003)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    user: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(128), index=True)   # e.g. seats.pause
    target: Mapped[str | None] = mapped_column(String(128))          # e.g. seat:1001
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[int] = mapped_column(Integer)                      # the HTTP status answered


class OrderLifecycleRow(Base):
    """Where a work order stands in its lifecycle (issue 11, migration 0006): one row per order
    that entered it (``hotline.work_orders.lifecycle``; an older order without one is ``created``)."""

    __tablename__ = "work_order_lifecycle"

    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(24), index=True)
    urgency: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(32), index=True)
    area: Mapped[str | None] = mapped_column(String(32), index=True)
    unit: Mapped[str | None] = mapped_column(String(32), index=True)      # the 主办 unit holding it
    co_units: Mapped[list[str]] = mapped_column(JSON)                     # 协办 units
    dispatch_due: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    return_due: Mapped[datetime | None] = mapped_column(UtcDateTime)
    due: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    closure: Mapped[str | None] = mapped_column(String(16))
    rating: Mapped[str | None] = mapped_column(String(24))
    redo_count: Mapped[int] = mapped_column(Integer)
    extension_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OrderEventRow(Base):
    """One transition of a work order (the audit trail): who, when, what, with which fields."""

    __tablename__ = "work_order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_work_order_events_order_id", "work_order_id", "id"),)


class OrderAssignmentRow(Base):
    """One dispatch of an order to a 主办 unit (issue 11, migration 0010): what the order KPIs
    count, kept up to date in the transaction of each event (``hotline.work_orders.assignments``).
    ``bucket``: the dispatch time in UTC quarter hours since the epoch (every zone's offset is a
    multiple of 15 minutes), so a day or month in the site's zone is a set of whole buckets."""

    __tablename__ = "work_order_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"))
    unit: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(32))   # "" when the order has none
    area: Mapped[str] = mapped_column(String(32))
    dispatched_at: Mapped[datetime] = mapped_column(UtcDateTime)
    bucket: Mapped[int] = mapped_column(Integer)
    returned: Mapped[bool] = mapped_column(Boolean)
    closed: Mapped[bool] = mapped_column(Boolean)
    on_time: Mapped[bool] = mapped_column(Boolean)
    rating: Mapped[str | None] = mapped_column(String(24))
    reopened: Mapped[bool] = mapped_column(Boolean)
    last_reply_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_work_order_assignments_order", "work_order_id", "id"),
                      Index("ix_work_order_assignments_dispatched_at", "dispatched_at"),
                      Index("ix_work_order_assignments_unit", "unit", "dispatched_at"))


class OrderKpiDayRow(Base):
    """The KPI counts of the assignments dispatched on one day (in the site's zone) per unit,
    subject or area (migration 0010): what a day-aligned KPI query or report adds up. Kept in the
    transaction of each change of an assignment row, by the change's difference."""

    __tablename__ = "work_order_kpi_days"

    dimension: Mapped[str] = mapped_column(String(8), primary_key=True)   # unit | subject | area
    day: Mapped[str] = mapped_column(String(10), primary_key=True)        # YYYY-MM-DD, site time
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    dispatched: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer)
    closed: Mapped[int] = mapped_column(Integer)
    closed_on_time: Mapped[int] = mapped_column(Integer)
    evaluated: Mapped[int] = mapped_column(Integer)
    satisfied: Mapped[int] = mapped_column(Integer)
    reopened: Mapped[int] = mapped_column(Integer)


class CallKpiHourRow(Base):
    """The call KPI rollup (issue 15, migration 0014): the tally (``queue_manager.metrics.Tally``) of
    the call records that arrived in one UTC hour, per dimension (``all``, ``queue``, ``seat``,
    ``dialled_number``), member of it and queue (the queue gives the wrap-up AHT adds at read time).

    Derived, never the only copy: kept in the transaction of each record's upsert and rebuilt from
    ``call_records`` by ``hotline rollups rebuild`` (``hotline.store.kpi_rollup``). ``slot`` is whole
    hours since the epoch (UTC); ``key`` and ``queue`` are ``""`` for none and ``"=" + value``
    otherwise (a primary key column cannot be NULL). ``talk_ms`` sums talk without wrap-up."""

    __tablename__ = "call_kpi_hours"

    dim: Mapped[str] = mapped_column(String(16), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String, primary_key=True)
    queue: Mapped[str] = mapped_column(String, primary_key=True)
    calls: Mapped[int] = mapped_column(Integer)
    offered: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    answered_in_sl: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    short_abandons: Mapped[int] = mapped_column(Integer)
    wait_ms: Mapped[int] = mapped_column(BigInteger)
    talk_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_call_kpi_hours_dim_key_slot", "dim", "key", "slot"),   # by member (0020)
                      {"sqlite_with_rowid": False})


class CallKpiDayRow(Base):
    """The call KPI day rollup (issue 15, migration 0021): :class:`CallKpiHourRow`'s tallies per local
    day of the site (``day``: days since 1970-01-01 of the local date of ``arrived_at``), so a report
    per day reads one row per member and day. Derived like the hourly one, in the same transaction,
    rebuilt by ``hotline rollups rebuild`` (``hotline.store.kpi_days``)."""

    __tablename__ = "call_kpi_days"

    dim: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String, primary_key=True)
    queue: Mapped[str] = mapped_column(String, primary_key=True)
    calls: Mapped[int] = mapped_column(Integer)
    offered: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    answered_in_sl: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    short_abandons: Mapped[int] = mapped_column(Integer)
    wait_ms: Mapped[int] = mapped_column(BigInteger)
    talk_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_call_kpi_days_dim_key_day", "dim", "key", "day"), {"sqlite_with_rowid": False})


class RevisitTaskRow(Base):
    """A 回访 call of one verification of a work order (issue 12, migration 0015): one per
    (order, ``verify`` event), so a reopened order verified again gets a new one. Statuses and
    results are :mod:`hotline.revisits.model`'s (short ascii values without a CHECK)."""

    __tablename__ = "revisit_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    verify_event_id: Mapped[int] = mapped_column(Integer)
    number: Mapped[str | None] = mapped_column(String(32))           # the digits dialled
    status: Mapped[str] = mapped_column(String(16), index=True)
    skip_reason: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer)
    next_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dialled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_result: Mapped[str | None] = mapped_column(String(16))
    rating: Mapped[str | None] = mapped_column(String(24))
    keys: Mapped[str] = mapped_column(String(16))
    seat: Mapped[str | None] = mapped_column(String(16))
    tries: Mapped[list[dict[str, Any]]] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("work_order_id", "verify_event_id", name="uq_revisit_tasks_verification"),)


class RevisitRefusalRow(Base):
    """A number whose owner refused 回访 calls (migration 0015): never dialled again."""

    __tablename__ = "revisit_refusals"

    number: Mapped[str] = mapped_column(String(32), primary_key=True)   # the rule's dialled form
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
