"""The caller's earlier calls and work orders, found by person key (``call_records.caller_key``,
migration 0023): the same person whatever form its number came in. Orders have no number of
their own: an order is the caller's when one of its calls is. Two index range scans
(``ix_call_records_caller_key_arrived_at``, then ``work_order_calls.call_id``), newest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from hotline.store import Store
from hotline.store.models import CallRow, OrderLifecycleRow, WorkOrderCallRow, WorkOrderRow

CREATED = "created"   # the state of an order that has no lifecycle row yet


@dataclass(frozen=True)
class History:
    calls: list[dict[str, Any]] = field(default_factory=list)    # newest first; caller_number in full
    orders: list[dict[str, Any]] = field(default_factory=list)   # newest first


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def history(store: Store, key: str, *, exclude: str | None, calls: int, orders: int) -> History:
    """The last ``calls`` calls (not ``exclude``, the live one) and the last ``orders`` orders of
    the person with key ``key``."""
    found_calls: list[dict[str, Any]] = []
    found_orders: list[dict[str, Any]] = []
    with store.session() as session:
        if calls > 0:
            query = (select(CallRow.call_id, CallRow.arrived_at, CallRow.caller_number, CallRow.dialled_number,
                            CallRow.department, CallRow.queue, CallRow.seat, CallRow.outcome,
                            CallRow.wait_seconds, CallRow.talk_seconds)
                     .where(CallRow.caller_key == key)
                     .order_by(CallRow.arrived_at.desc(), CallRow.call_id.desc()).limit(calls + 1))
            for row in session.execute(query):
                if row.call_id != exclude and len(found_calls) < calls:
                    found_calls.append({
                        "call_id": row.call_id, "arrived_at": _iso(row.arrived_at),
                        "caller_number": row.caller_number, "dialled_number": row.dialled_number,
                        "department": row.department, "queue": row.queue, "seat": row.seat,
                        "outcome": row.outcome, "wait_seconds": row.wait_seconds,
                        "talk_seconds": row.talk_seconds})
        if orders > 0:
            mine = (select(WorkOrderCallRow.work_order_id)
                    .join(CallRow, CallRow.call_id == WorkOrderCallRow.call_id).where(CallRow.caller_key == key))
            query2 = (select(WorkOrderRow.id, WorkOrderRow.title, WorkOrderRow.category, WorkOrderRow.status,
                             WorkOrderRow.caller_confidential, WorkOrderRow.created_at, WorkOrderRow.created_by,
                             func.coalesce(OrderLifecycleRow.state, CREATED).label("state"),
                             OrderLifecycleRow.unit, OrderLifecycleRow.due)
                      .outerjoin(OrderLifecycleRow, OrderLifecycleRow.work_order_id == WorkOrderRow.id)
                      .where(WorkOrderRow.id.in_(mine))
                      .order_by(WorkOrderRow.created_at.desc(), WorkOrderRow.id.desc()).limit(orders))
            for order in session.execute(query2):
                found_orders.append({
                    "id": order.id, "title": order.title, "category": order.category.value,
                    "status": order.status.value, "state": order.state, "unit": order.unit, "due": _iso(order.due),
                    "caller_confidential": bool(order.caller_confidential),
                    "created_at": _iso(order.created_at), "created_by": order.created_by})
    return History(found_calls, found_orders)
