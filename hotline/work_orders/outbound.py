"""What an order system (工单系统) hears of the lifecycle: the one map from lifecycle actions to
outbox event types, and each event's payload.

:data:`EVENTS_OF` is the only place an action becomes an event type (the types are listed in
``hotline.config.integration.ORDER_EVENTS``; ``test_order_outbound`` checks both ways). An action
may publish two types: an evaluation always says ``evaluated`` and then what it did to the order
(``closed``, or ``reopened`` for 不满意), so a receiver that only follows ``closed`` sees every
closing, whichever path closed it.

The payload (:func:`payload`) is built in the transition's transaction from the stored order: the
event (action, who, when, from/to state, the action's fields) and the order as it now stands
(category, subject, area, urgency, units, deadlines). Caller identity: a confidential order's never
(no number, no call ids: a call id leads to the number); otherwise only on ``created``, and the
number masked unless the site lets units see numbers (``orders.units_see_numbers``: the order
system is where units work); a full number handed to the outbox is audited in the same
transaction (``read.caller_number`` by ``outbox``, like any full read through the API).
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.privacy import mask_number
from hotline.store.models import AuditRow, CallRow, OrderLifecycleRow, WorkOrderCallRow, WorkOrderRow
from hotline.work_orders.transitions import Event

EVENTS_OF: dict[str, tuple[str, ...]] = {
    "create": ("created",),
    "report_duty": ("reported_duty",),          # an emergency item, to the duty office at once
    "answer": ("closed",),                      # 直接答复
    "reject": ("closed",),                      # 不予受理
    "dispatch": ("dispatched",),
    "redispatch": ("dispatched",),              # 重新派单: a dispatch again (payload action says which)
    "sign": ("signed",),
    "return": ("returned",),
    "request_extension": ("extension_requested",),
    "approve_extension": ("extension_approved",),
    "refuse_extension": ("extension_refused",),
    "reply": ("replied",),
    "send_back": ("sent_back",),
    "verify": ("verified",),
    "evaluate": ("evaluated", "closed"),        # 满意 / 基本满意: 办结
    "reopen": ("evaluated", "reopened"),        # 不满意: 重办
    "supervise": ("supervised",),
    "contribute": ("contributed",),             # 协办意见: a 协办 unit's contribution to the 主办
    "warn": ("warned",),
    "flag_overdue": ("overdue",),
}
"""Lifecycle action -> the outbox event types it publishes, in this order."""

DISCLOSED = "read.caller_number"   # the audit action of a full number handed out (hotline.audit.disclosure)


class Publisher(Protocol):
    """The outbox as the lifecycle uses it (:class:`hotline.outbox.services.OutboxService`)."""

    def publish(self, order_id: str, event_type: str, payload: dict[str, Any], *,
                session: Session | None = None) -> dict[str, Any]: ...

    def poke(self) -> None: ...


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def payload(session: Session, event: Event, *, units_see_numbers: bool) -> dict[str, Any]:
    """The body's ``payload`` for ``event``, read in the transaction that stores it."""
    filed = session.get(WorkOrderRow, event.order_id)
    life = session.get(OrderLifecycleRow, event.order_id)
    assert filed is not None and life is not None   # the caller holds both in this transaction
    order: dict[str, Any] = {
        "id": filed.id, "category": filed.category.value, "confidential": filed.caller_confidential,
        "state": life.state, "urgency": life.urgency, "subject": life.subject, "area": life.area,
        "unit": life.unit, "co_units": list(life.co_units), "due": _iso(life.due),
        "dispatch_due": _iso(life.dispatch_due), "return_due": _iso(life.return_due),
        "closure": life.closure, "rating": life.rating, "redo_count": life.redo_count}
    if event.action == "create":
        order.update(title=filed.title, description=filed.description, created_at=_iso(filed.created_at))
        if not filed.caller_confidential:
            order["caller"] = _caller(session, event, units_see_numbers)
    return {"action": event.action, "actor": event.actor, "role": event.role, "unit": event.unit,
            "at": event.at.isoformat(), "from_state": event.from_state.value if event.from_state else None,
            "to_state": event.to_state.value, "fields": event.fields, "order": order}


def _caller(session: Session, event: Event, full: bool) -> dict[str, Any]:
    query = (select(CallRow.call_id, CallRow.caller_number).join(WorkOrderCallRow,
                                                                  WorkOrderCallRow.call_id == CallRow.call_id)
             .where(WorkOrderCallRow.work_order_id == event.order_id).order_by(CallRow.arrived_at))
    calls = list(session.execute(query))
    number = calls[0].caller_number if calls else None
    call_ids = [c.call_id for c in calls]
    if full and number is not None:
        session.add(AuditRow(at=event.at, user="outbox", role="system", action=DISCLOSED,
                             target=f"work_order:{event.order_id}", status=200,
                             detail={"route": "outbox:created", "reason": "order system webhooks",
                                     "count": 1, "call_ids": call_ids[:1]}))
    return {"call_ids": call_ids, "number": number if full else mask_number(number)}


def publish(outbox: Publisher, session: Session, event: Event, *, units_see_numbers: bool) -> list[dict[str, Any]]:
    """Publish ``event``'s types in ``session``: they commit or roll back with the transition."""
    body = payload(session, event, units_see_numbers=units_see_numbers)
    return [outbox.publish(event.order_id, kind, body, session=session) for kind in EVENTS_OF[event.action]]
