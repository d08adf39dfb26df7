"""The outbox's inbound hook, implemented by the lifecycle: an order system's change is the unit's action.

An order system (工单系统, ``integration.systems``) is where a member unit works: it pushes what
the unit did (``POST /api/integration/{system}/changes``, :mod:`hotline.outbox.inbound`). Each
change in ``INBOUND_CHANGES`` is one row of the lifecycle table, applied by the same pure
:func:`hotline.work_orders.transitions.apply` as a unit user's request, with the actor
``<system>`` in the role ``unit`` for the unit that holds the order, in the transaction that
stores the change (so the order, its event trail, its outbound events and the stored change commit
together). A change the lifecycle refuses raises its stable error (``illegal-transition``,
``order-closed``, ``missing-order-field``, ``no-such-work-order``): the outbox rolls the
transaction back and stores the refusal, the answer to every replay of that idempotency key.

The change's ``data`` are the action's fields (a return's four: ``return_reason``,
``leader_opinion``, ``suggestion``, ``contact_phone``; a reply's ``result``; an extension's
``reason`` and ``days``); the event also records ``via`` (the system), its idempotency key and
when the change happened there (``external_at``). Deadlines are judged at the hotline's clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from hotline.exceptions import NotYourOrder

from hotline.outbox.inbound import InboundChange
from hotline.work_orders.store import OrderStore
from hotline.work_orders.transitions import Actor, Order

ACTION_OF: dict[str, str] = {
    "signed": "sign",
    "returned": "return",
    "extension_requested": "request_extension",
    "replied": "reply",
}
"""Inbound change (``hotline.config.integration.INBOUND_CHANGES``) -> lifecycle action."""

RESERVED = ("via", "external_key", "external_at")


def apply_change(lifecycle: OrderStore, session: Session, change: InboundChange, now: dt.datetime,
                 units: Sequence[str] = ()) -> dict[str, Any]:
    """Apply ``change`` in ``session``; what to answer, or the lifecycle's refusal (raised). A system
    with ``units`` (``integration.systems[].units``) acts only for those: ``not-your-order``."""
    action = ACTION_OF[change.change]
    fields = {k: v for k, v in change.data.items() if k not in RESERVED}
    fields.update(via=change.system, external_key=change.idempotency_key, external_at=change.at.isoformat())

    def actor_of(order: Order) -> Actor:
        if units and order.unit not in units:
            raise NotYourOrder(order.id, "/".join(units))
        return Actor(change.system, "unit", order.unit)

    order, event = lifecycle.act_in(session, change.order_id, action, actor_of, fields, now)
    return {"applied": True, "action": event.action, "from_state": event.from_state.value if event.from_state
            else None, "state": order.state.value, "unit": order.unit}
