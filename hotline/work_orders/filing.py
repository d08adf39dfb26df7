"""Filing an order and entering it into the lifecycle in one request, in one store transaction.

``POST /api/work-orders`` with any lifecycle field (``urgency``, ``subject``, ``area``) files the
order and starts it (its ``create`` event, an emergency item's ``report_duty`` event and their
outbox events) in one transaction: anything refused on the way (a date outside the calendar, a
failing outbox) rolls the whole back, and nothing is filed. Without them it files only, as before
(``POST /api/work-orders/{id}/start`` enters it later).

From a voice message (留言): the platform filed an open order about the call when the message was
recorded (``created_by: system``, :mod:`hotline.records.voice_message`). A seat who listened to it
and files with lifecycle fields naming that call completes that order rather than filing a second
one: its title, description (the message's own text kept below the seat's), category and
confidentiality become the seat's, the other calls named are linked, and it starts; the ``create``
event records ``voice_message`` (the call id) and the seat (``created_by``). The order keeps
``created_by: system``: that is how a replayed call record finds the order filed for its message
(one order per voice message, :meth:`hotline.store.Store.upsert_call`). An order the platform filed
that has already started is not taken over (a new one is filed).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.exceptions import InvalidRequest
from hotline.records.voice_message import CREATED_BY as VOICE_MESSAGE_FILER
from hotline.records.work_order import Category
from hotline.store.models import CallRow, OrderEventRow, OrderLifecycleRow, WorkOrderCallRow, WorkOrderRow
from hotline.store.rows import work_order_dict
from hotline.store.store import Store
from hotline.work_orders.lifecycle import Urgency
from hotline.work_orders.store import OrderStore
from hotline.work_orders.transitions import Actor, Event


def file_and_start(store: Store, lifecycle: OrderStore, filed: dict[str, Any], *, urgency: Urgency,
                   subject: str | None, area: str | None, actor: Actor, now: dt.datetime,
                   duty: dict[str, Any] | None) -> tuple[dict[str, Any], list[Event]]:
    """File ``filed`` (the fields of ``Store.create_work_order``) and start it: the order as the API
    answers it and the events recorded, or an error and nothing stored."""
    with store.session() as session:
        row = _voice_message_order(session, filed["call_ids"])
        fields: dict[str, Any] = {}
        if row is None:
            row = store.file_work_order(session, **filed, now=now)
        else:
            fields = {"voice_message": _take_over(session, row, filed, now), "created_by": filed["created_by"]}
        _, events = lifecycle.start_in(session, row.id, urgency=urgency, subject=subject, area=area, actor=actor,
                                       now=now, duty=duty, fields=fields)
        return work_order_dict(session, row), events


def _voice_message_order(session: Session, call_ids: list[str]) -> WorkOrderRow | None:
    """The order the platform filed for a voice message among ``call_ids``, not yet started."""
    started = select(OrderEventRow.work_order_id).where(OrderEventRow.work_order_id == WorkOrderRow.id)
    query = (select(WorkOrderRow).join(WorkOrderCallRow, WorkOrderCallRow.work_order_id == WorkOrderRow.id)
             .where(WorkOrderCallRow.call_id.in_(call_ids), WorkOrderRow.created_by == VOICE_MESSAGE_FILER,
                    ~started.exists(),
                    ~select(OrderLifecycleRow.work_order_id)
                    .where(OrderLifecycleRow.work_order_id == WorkOrderRow.id).exists())
             .order_by(WorkOrderRow.created_at, WorkOrderRow.id).limit(1).with_for_update())
    return session.scalars(query).first()


def _take_over(session: Session, row: WorkOrderRow, filed: dict[str, Any], now: dt.datetime) -> str:
    """The seat's fields on the platform's order, every call named linked; the voice message's call id."""
    ids = list(filed["call_ids"])
    repeated = next((i for n, i in enumerate(ids) if i in ids[:n]), None)
    if repeated is not None:
        raise InvalidRequest("call_ids", f"names call {repeated!r} more than once", repeated)
    linked = set(session.scalars(select(WorkOrderCallRow.call_id).where(WorkOrderCallRow.work_order_id == row.id)))
    missing = [c for c in ids if c not in linked]
    known = set(session.scalars(select(CallRow.call_id).where(CallRow.call_id.in_(missing)))) if missing else set()
    unknown = next((c for c in missing if c not in known), None)
    if unknown is not None:
        raise InvalidRequest("call_ids", f"no call record with id {unknown!r}", unknown)
    session.add_all(WorkOrderCallRow(work_order_id=row.id, call_id=c) for c in missing)
    category = Category(filed["category"])
    confidential = filed.get("caller_confidential")
    row.title = filed["title"]
    row.description = f"{filed['description']}\n\n{row.description}"
    row.category = category
    row.caller_confidential = category.confidential_by_default if confidential is None else confidential
    row.no_revisit = bool(filed.get("no_revisit"))
    row.updated_at = now
    session.flush()
    return sorted(linked)[0]
