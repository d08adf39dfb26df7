"""Work-order operations for the event loop: the store's blocking calls run in a thread.

Filing and reading (``create``: filed, or filed and started in one transaction when given lifecycle
fields, :mod:`hotline.work_orders.filing`; ``get``); the lifecycle (``start``, ``act``, ``trail``),
督办 (``sweep``: warnings and overdue flags against the injected clock ``now``, and ``supervise``,
the periodic task that runs it with no reader) and the order KPIs. With an ``outbox`` (the
composition root gives ``hotline.outbox``'s service), every stored event is published in the
transaction that stores it (:mod:`hotline.work_orders.outbound`): a failing publish refuses the
transition too, nothing half-done. :meth:`inbound` is the outbox's inbound hook: an order system's
change applied as its unit's action (:mod:`hotline.work_orders.inbound`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from hotline.background import Duty, every
from hotline.config.site import OrdersSection
from hotline.exceptions import InvalidRequest
from hotline.outbox.inbound import InboundChange
from hotline.store import Store
from hotline.work_orders import kpis as order_kpis
from hotline.work_orders import reports
from hotline.work_orders.filing import file_and_start
from hotline.work_orders.inbound import apply_change
from hotline.work_orders.lifecycle import Urgency
from hotline.work_orders.outbound import Publisher
from hotline.work_orders.schemas import WorkOrderCreate
from hotline.work_orders.search import OrderQuery, search
from hotline.work_orders.store import SYSTEM, OrderStore
from hotline.work_orders.supervision import alert
from hotline.work_orders.transitions import Actor, Clock, Event, Order
from hotline.work_orders.workdays import WorkingCalendar

log = logging.getLogger(__name__)

def event_payload(event: Event) -> dict[str, Any]:
    """An event as the API answers it (the outbox's payload: :func:`hotline.work_orders.outbound.payload`)."""
    return {"order_id": event.order_id, "action": event.action, "actor": event.actor, "role": event.role,
            "unit": event.unit, "at": event.at.isoformat(),
            "from_state": event.from_state.value if event.from_state else None,
            "to_state": event.to_state.value, "fields": event.fields}


class WorkOrderService:
    duty: Duty | None = None   # set by the composition root when several controllers share the store

    def __init__(self, store: Store, *, orders: OrdersSection | None = None, timezone: str = "Asia/Shanghai",
                 now: Callable[[], dt.datetime] | None = None, outbox: Publisher | None = None,
                 inbound_units: Mapping[str, Sequence[str]] | None = None) -> None:
        """``inbound_units``: the units each order system may act for (``integration.systems[].units``;
        a system not named, or with none, acts for any unit)."""
        self._store = store
        self._orders = orders or OrdersSection()
        self._tz = ZoneInfo(timezone)
        self._now = now or (lambda: dt.datetime.now(self._tz))
        self._outbox = outbox
        self._inbound_units = dict(inbound_units or {})
        self.lifecycle = OrderStore(store, Clock(WorkingCalendar(self._orders.calendar), self._orders.deadlines),
                                    outbox=outbox, units_see_numbers=self._orders.units_see_numbers)

    # --- filing and reading (the API of issue 1) -----------------------------------------------
    async def create(self, request: WorkOrderCreate, actor: Actor | None = None) -> dict[str, Any]:
        """File an order; with lifecycle fields, file and start it in one transaction
        (:mod:`hotline.work_orders.filing`): the order with ``events``, or an error and nothing filed."""
        if not request.starts():
            return await asyncio.to_thread(self._store.create_work_order, **request.filed())
        self._known("subject", request.subject, self._orders.subject)
        self._known("area", request.area, self._orders.area)
        who = actor or Actor(request.created_by, "seat")
        order, events = await asyncio.to_thread(
            file_and_start, self._store, self.lifecycle, request.filed(), urgency=request.urgency or Urgency.normal,
            subject=request.subject, area=request.area, actor=who, now=self.now(), duty=self.duty_report())
        self._poke()
        return {**order, "events": [event_payload(e) for e in events]}

    async def get(self, work_order_id: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._store.get_work_order, work_order_id)

    async def update(self, work_order_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change a filed order's fields (``no_revisit``, 不需回访, recorded after filing)."""
        return await asyncio.to_thread(self.lifecycle.update, work_order_id, changes, dt.datetime.now(dt.UTC))

    @property
    def timezone(self) -> ZoneInfo:
        """The site's zone: reports and exports are in its local time."""
        return self._tz

    # --- the lifecycle -----------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return self._now().astimezone(self._tz)

    async def start(self, order_id: str, *, urgency: Urgency, subject: str | None, area: str | None,
                    actor: Actor) -> list[Event]:
        """Enter a filed order into the lifecycle; an emergency item is reported to the duty office
        at once (a ``report_duty`` event by the system, which the outbox delivers)."""
        self._known("subject", subject, self._orders.subject)
        self._known("area", area, self._orders.area)
        _, events = await asyncio.to_thread(self.lifecycle.start, order_id, urgency=urgency, subject=subject,
                                            area=area, actor=actor, now=self.now(), duty=self.duty_report())
        self._poke()
        return events

    def duty_report(self) -> dict[str, Any]:
        """The fields of an emergency item's ``report_duty`` event: the duty office it goes to
        (``orders.duty_office``)."""
        office = self._orders.duty_office
        return {"to": office.id, "name": office.name, "phones": list(office.phones)}

    @property
    def duty_office(self) -> str:
        """The duty office's id (its users read every order reported to it)."""
        return self._orders.duty_office.id

    async def act(self, order_id: str, action: str, actor: Actor, fields: dict[str, Any]) -> Event:
        """One action of the lifecycle table; refused with a stable id and nothing changed."""
        if action in ("dispatch", "redispatch"):
            self._known("unit", fields.get("unit"), self._orders.unit)
            for i, co in enumerate(fields.get("co_units") or ()):
                self._known(f"co_units[{i}]", co, self._orders.unit)
        _, event = await asyncio.to_thread(self.lifecycle.act, order_id, action, actor, fields, self.now())
        self._poke()
        return event

    def act_in(self, session: Session, order_id: str, action: str, actor: Actor, fields: dict[str, Any]) -> Event:
        """:meth:`act` in the caller's transaction (blocking; :meth:`poke` once it committed): e.g. a
        回访 task rated by hand and the order's ``evaluate`` commit together or not at all."""
        _, event = self.lifecycle.act_in(session, order_id, action, lambda _: actor, fields, self.now())
        return event

    def poke(self) -> None:
        """Events were committed by a caller's transaction (:meth:`act_in`): wake the outbox."""
        self._poke()

    def inbound(self, session: Session, change: InboundChange) -> dict[str, Any]:
        """The outbox's inbound hook (blocking, in the outbox's thread and transaction)."""
        return apply_change(self.lifecycle, session, change, self.now(), self._inbound_units.get(change.system, ()))

    async def order(self, order_id: str) -> tuple[Order, dict[str, str | None]]:
        """The order's lifecycle and its subject and area."""
        return await asyncio.to_thread(self.lifecycle.get, order_id)

    async def caller_number(self, call_ids: list[str]) -> tuple[str | None, str | None]:
        """(call id, caller number) of the order's first call."""
        if not call_ids:
            return None, None
        record = await asyncio.to_thread(self._store.get_call, call_ids[0])
        return call_ids[0], record.caller_number

    @property
    def units_see_numbers(self) -> bool:
        return self._orders.units_see_numbers

    async def search(self, query: OrderQuery) -> dict[str, Any]:
        return await asyncio.to_thread(search, self._store, query)

    async def trail(self, order_id: str) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.lifecycle.events, order_id)

    # --- 督办 -----------------------------------------------------------------------------------
    async def sweep(self) -> list[Event]:
        """Warn orders due within ``deadlines.warn_hours`` and flag overdue ones (escalated to the
        unit's leader), once per deadline and kind; the events recorded."""
        now = self.now()
        margin = dt.timedelta(hours=self._orders.deadlines.warn_hours)
        recorded: list[Event] = []
        for order in await asyncio.to_thread(self.lifecycle.open_orders):
            found = alert(order, now, margin)
            if found is None or await asyncio.to_thread(self.lifecycle.alerted, order.id, found.action, found.due):
                continue
            fields: dict[str, Any] = {"deadline": found.deadline, "due": found.due.isoformat()}
            unit = self._orders.unit(order.unit) if order.unit else None
            if found.action == "flag_overdue" and unit is not None:
                fields["escalated_to"] = {"name": unit.leader.name, "phone": unit.leader.phone}
            event = Event(order_id=order.id, action=found.action, actor=SYSTEM.name, role=SYSTEM.role,
                          unit=order.unit, at=now, from_state=order.state, to_state=order.state, fields=fields)
            await asyncio.to_thread(self.lifecycle.record, event)
            self._poke()
            recorded.append(event)
        return recorded

    async def supervise(self, interval: float = 300.0) -> None:
        """Run :meth:`sweep` every ``interval`` seconds until cancelled (no reader needed); the
        first one after ``interval`` (the store is being migrated at start); with several
        controllers, only the one holding the ``order_sweep`` duty sweeps."""
        await every(interval, self.sweep, log, "work-order sweep", self.duty)

    # --- KPIs --------------------------------------------------------------------------------------
    async def kpis(self, dimension: str, since: dt.datetime | None = None) -> dict[str, Any]:
        """The order KPIs per ``dimension`` (unit, subject, area, day, month) and overall, of the
        assignments dispatched at or after ``since``: one grouped query in the database."""
        groups = await asyncio.to_thread(self.lifecycle.kpis, dimension, self._tz, since=since)
        return {"dimension": dimension, "total": order_kpis.total(groups.values()).to_dict(),
                "groups": {k: v.to_dict() for k, v in groups.items()}}

    async def report(self, kind: str, when: str) -> tuple[reports.Period, list[list[object]]]:
        """The daily (``kind`` day, ``when`` YYYY-MM-DD) or monthly (month, YYYY-MM) report per unit:
        the assignments dispatched in the period, counted per unit by the database."""
        period = reports.period_of(kind, when, self._tz)
        per_unit = await asyncio.to_thread(self.lifecycle.kpis, "unit", self._tz, since=period.start,
                                           until=period.end)
        return period, reports.report_of(period, per_unit, [(u.id, u.name) for u in self._orders.units])

    def _known(self, field: str, value: Any, lookup: Callable[[str], object | None]) -> None:
        """A unit, subject or area must be in the site's catalogue (when the site has one)."""
        catalogue = {"subject": self._orders.subjects, "area": self._orders.areas}.get(field, self._orders.units)
        if value is not None and catalogue and lookup(str(value)) is None:
            raise InvalidRequest(field, f"unknown {field.split('[')[0].rstrip('s')} (orders config)", value)

    def _poke(self) -> None:
        """Wake the outbox's worker: the events published in the transaction are committed now."""
        if self._outbox is not None:
            self._outbox.poke()

