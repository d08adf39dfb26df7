"""Searching call records by caller or dialled number, work order, unit, subject, order state,
seat, queue, outcome and date, for ``GET /api/calls`` and its exports.

Filters on work orders go through the call's links (``work_order_calls``) to the order and its
lifecycle (``work_order_lifecycle``, migration 0006): ``work_order_id`` (an id or its
beginning), ``unit`` (the 主办 unit holding a linked order), ``subject``, ``state`` (a linked
order's lifecycle state; an order never started counts as ``created``). Newest arrival first.

Two ways to page: ``limit``/``offset`` with the total (the API's pages), and keyset pages
(:func:`pages_after`, after the last (arrived_at, call_id) seen) for exports: a call
reconciled from the CEL log while an export runs can neither shift a page nor be read twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from hotline.exceptions import InvalidRequest
from hotline.records.call import CallRecord, Outcome
from hotline.spine.numbers import person_key
from hotline.store.models import CallRow, OrderLifecycleRow, WorkOrderCallRow
from hotline.store.rows import call_record, enum_value
from hotline.store.store import MAX_PAGE, Store

CREATED = "created"   # the state of an order that has no lifecycle row yet


@dataclass(frozen=True)
class CallQuery:
    start: dt.datetime | None = None     # arrived at or after
    end: dt.datetime | None = None       # arrived before
    dialled_number: str | None = None
    number: str | None = None            # the caller's number
    outcome: str | None = None
    seat: str | None = None
    queue: str | None = None
    work_order_id: str | None = None     # an order id or its beginning
    unit: str | None = None
    subject: str | None = None
    state: str | None = None


def _query(q: CallQuery) -> Select[Any]:
    for name, value in (("start", q.start), ("end", q.end)):
        if value is not None and value.tzinfo is None:
            raise InvalidRequest(name, "must include a UTC offset", value.isoformat())
    if q.start is not None and q.end is not None and q.end <= q.start:
        raise InvalidRequest("end", f"must be after start ({q.start.isoformat()})", q.end.isoformat())
    query = select(CallRow)
    # the caller by person key (hotline.spine.numbers: 013812345678 finds +8613812345678's calls)
    caller = person_key(q.number) if q.number is not None else None
    for column, text in ((CallRow.dialled_number, q.dialled_number), (CallRow.caller_key, caller),
                         (CallRow.seat, q.seat), (CallRow.queue, q.queue)):
        if text is not None:
            query = query.where(column == text)
    if q.outcome is not None:
        query = query.where(CallRow.outcome == enum_value(Outcome, q.outcome, "outcome").value)
    if q.start is not None:
        query = query.where(CallRow.arrived_at >= q.start)
    if q.end is not None:
        query = query.where(CallRow.arrived_at < q.end)
    if any(v is not None for v in (q.work_order_id, q.unit, q.subject, q.state)):
        linked = select(WorkOrderCallRow.call_id).outerjoin(
            OrderLifecycleRow, OrderLifecycleRow.work_order_id == WorkOrderCallRow.work_order_id)
        if q.work_order_id is not None:
            linked = linked.where(WorkOrderCallRow.work_order_id.startswith(q.work_order_id, autoescape=True))
        for column, text in ((OrderLifecycleRow.unit, q.unit), (OrderLifecycleRow.subject, q.subject)):
            if text is not None:
                linked = linked.where(column == text)
        if q.state is not None:
            linked = linked.where(func.coalesce(OrderLifecycleRow.state, CREATED) == q.state)
        query = query.where(CallRow.call_id.in_(linked))
    return query


_NEWEST = (CallRow.arrived_at.desc(), CallRow.call_id.desc())


def search_calls(store: Store, q: CallQuery, *, limit: int = 50, offset: int = 0) -> tuple[list[CallRecord], int]:
    """One page (newest first) and the total that match."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest("limit", f"must be between 1 and {MAX_PAGE}", limit)
    if offset < 0:
        raise InvalidRequest("offset", "must not be negative", offset)
    query = _query(q)
    with store.session() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(*_NEWEST).limit(limit).offset(offset))
        return [call_record(r) for r in rows], total


def pages_after(store: Store, q: CallQuery, after: tuple[dt.datetime, str] | None,
                size: int = MAX_PAGE) -> list[CallRecord]:
    """The ``size`` calls that follow ``after`` (the last (arrived_at, call_id) of the previous
    page; None: the first page), newest first."""
    query = _query(q)
    if after is not None:
        at, call_id = after
        query = query.where(or_(CallRow.arrived_at < at, and_(CallRow.arrived_at == at, CallRow.call_id < call_id)))
    with store.session() as session:
        return [call_record(r) for r in session.scalars(query.order_by(*_NEWEST).limit(size))]


def order_ids_of(store: Store, call_ids: list[str]) -> dict[str, list[str]]:
    """The ids of the work orders each call is linked to (one query for a page of calls)."""
    out: dict[str, list[str]] = {i: [] for i in call_ids}
    if not call_ids:
        return out
    with store.session() as session:
        query = (select(WorkOrderCallRow.call_id, WorkOrderCallRow.work_order_id)
                 .where(WorkOrderCallRow.call_id.in_(call_ids)).order_by(WorkOrderCallRow.work_order_id))
        for call_id, order_id in session.execute(query):
            out[call_id].append(order_id)
    return out
