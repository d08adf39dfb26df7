"""Between records and rows: a :class:`CallRecord` as column values and back, a work order as a dict.

Used by :class:`hotline.store.store.Store` and by the feature stores built on it
(:mod:`hotline.callbacks.store`). An enum value that is not one of its members is an
:class:`hotline.exceptions.InvalidRequest` naming the field.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.exceptions import InvalidRequest
from hotline.records.call import CallRecord, Outcome
from hotline.records.work_order import Category
from hotline.spine.numbers import person_key
from hotline.store.models import CallRow, WorkOrderCallRow, WorkOrderKnowledgeRow, WorkOrderRow

CALL_FIELDS = tuple(f.name for f in dataclasses.fields(CallRecord))

_E = TypeVar("_E", Category, Outcome)


def enum_value(enum: type[_E], value: _E | str, field: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise InvalidRequest(field, f"must be one of {allowed}", value) from None


def call_values(record: CallRecord) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in CALL_FIELDS}
    for name, value in values.items():
        if isinstance(value, datetime) and value.tzinfo is None:
            raise InvalidRequest(name, "must be timezone-aware", value.isoformat())
    values["outcome"] = enum_value(Outcome, record.outcome, "outcome").value
    values["caller_key"] = person_key(record.caller_number)   # the number as received stays as it is
    return values


def call_record(row: CallRow) -> CallRecord:
    values = {name: getattr(row, name) for name in CALL_FIELDS}
    values["outcome"] = Outcome(row.outcome)
    return CallRecord(**values)


def order_call_ids(session: Session, order_ids: list[str]) -> dict[str, list[str]]:
    """order id -> its linked call ids in arrival order, for many orders in one query."""
    found: dict[str, list[str]] = {oid: [] for oid in order_ids}
    query = (select(WorkOrderCallRow.work_order_id, WorkOrderCallRow.call_id)
             .join(CallRow, CallRow.call_id == WorkOrderCallRow.call_id)
             .where(WorkOrderCallRow.work_order_id.in_(order_ids))
             .order_by(CallRow.arrived_at, CallRow.call_id))
    for order_id, call_id in session.execute(query):
        found[order_id].append(call_id)
    return found


def work_order_dict(session: Session, order: WorkOrderRow, call_ids: list[str] | None = None, *,
                    knowledge: bool = False) -> dict[str, Any]:
    """The order as the API gives it; ``call_ids`` when the caller read them already (a page);
    ``knowledge``: with the knowledge-base entries used to answer its call, when there are any
    (the order read alone)."""
    if call_ids is None:
        call_ids = order_call_ids(session, [order.id])[order.id]
    used = [knowledge_link(r) for r in session.scalars(
        select(WorkOrderKnowledgeRow).where(WorkOrderKnowledgeRow.work_order_id == order.id)
        .order_by(WorkOrderKnowledgeRow.id))] if knowledge else []
    links = {"knowledge": used} if used else {}
    return {
        "id": order.id,
        "title": order.title,
        "description": order.description,
        "category": order.category.value,
        "status": order.status.value,
        "created_by": order.created_by,
        "caller_confidential": order.caller_confidential,
        "no_revisit": bool(order.no_revisit),
        "call_ids": list(call_ids),
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
        **links,
    }


def knowledge_link(row: WorkOrderKnowledgeRow) -> dict[str, Any]:
    """An entry used on the order's call, at the version read (``hotline.knowledge``)."""
    return {"entry_id": row.entry_id, "version": row.version, "title": row.title, "unit": row.unit, "by": row.by,
            "at": row.at.isoformat()}
