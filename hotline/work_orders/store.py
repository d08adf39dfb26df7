"""The work-order lifecycle in the store (tables ``work_order_lifecycle`` and ``work_order_events``,
migration 0006), on :class:`hotline.store.Store`.

Every action runs :func:`hotline.work_orders.transitions.apply` inside one transaction that holds
the order's lifecycle row (``SELECT .. FOR UPDATE`` on PostgreSQL; SQLite serialises writers):
the new state and its event row are written together or not at all, and a refused action
(any stable error of ``apply``) writes nothing. With an outbox, each stored event is published in
that same transaction (:mod:`hotline.work_orders.outbound`): a transition and its outbound events
commit together, and a failing publish rolls the transition back. An order filed before migration 0006 has no
lifecycle row: it is read as ``created`` (normal urgency, due for dispatch from its creation).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.exceptions import IllegalTransition, NoSuchWorkOrder
from hotline.store.models import OrderEventRow, OrderLifecycleRow, WorkOrderRow
from hotline.store.rows import work_order_dict
from hotline.store.store import Store
from hotline.work_orders import assignments, outbound
from hotline.work_orders.kpis import Kpis
from hotline.work_orders.lifecycle import OPEN_STATES, Closure, Rating, State, Urgency
from hotline.work_orders.transitions import Actor, Clock, Event, Order, apply, new_order


SYSTEM = Actor("system", "system")


def _order(row: OrderLifecycleRow, created_at: dt.datetime) -> Order:
    return Order(id=row.work_order_id, state=State(row.state), urgency=Urgency(row.urgency),
                 created_at=created_at, unit=row.unit, co_units=tuple(row.co_units),
                 dispatch_due=row.dispatch_due, dispatched_at=row.dispatched_at, return_due=row.return_due,
                 due=row.due, closure=Closure(row.closure) if row.closure else None,
                 rating=Rating(row.rating) if row.rating else None, redo_count=row.redo_count,
                 extension_days=row.extension_days)


def _write(row: OrderLifecycleRow, order: Order, now: dt.datetime) -> None:
    row.state = order.state.value
    row.unit = order.unit
    row.co_units = list(order.co_units)
    row.dispatch_due, row.dispatched_at = order.dispatch_due, order.dispatched_at
    row.return_due, row.due = order.return_due, order.due
    row.closure = order.closure.value if order.closure else None
    row.rating = order.rating.value if order.rating else None
    row.redo_count, row.extension_days = order.redo_count, order.extension_days
    row.updated_at = now


def _event_row(event: Event) -> OrderEventRow:
    return OrderEventRow(work_order_id=event.order_id, at=event.at, action=event.action, actor=event.actor,
                         role=event.role, unit=event.unit,
                         from_state=event.from_state.value if event.from_state else None,
                         to_state=event.to_state.value, fields=event.fields)


def event_dict(row: OrderEventRow) -> dict[str, Any]:
    return {"id": row.id, "at": row.at.isoformat(), "action": row.action, "actor": row.actor, "role": row.role,
            "unit": row.unit, "from_state": row.from_state, "to_state": row.to_state, "fields": row.fields}


class OrderStore:
    def __init__(self, store: Store, clock: Clock, *, outbox: outbound.Publisher | None = None,
                 units_see_numbers: bool = False) -> None:
        """``outbox``: where each stored event is published, in its transaction (none: not published)."""
        self._store = store
        self._clock = clock
        self._outbox = outbox
        self._units_see_numbers = units_see_numbers

    def start(self, order_id: str, *, urgency: Urgency, subject: str | None, area: str | None,
              actor: Actor, now: dt.datetime, duty: dict[str, Any] | None = None) -> tuple[Order, list[Event]]:
        """Enter a filed order into the lifecycle (``created``) with its ``create`` event and, for an
        emergency item, its ``report_duty`` event (``duty``: the report's fields)."""
        with self._store.session() as session:
            return self.start_in(session, order_id, urgency=urgency, subject=subject, area=area, actor=actor,
                                 now=now, duty=duty)

    def start_in(self, session: Session, order_id: str, *, urgency: Urgency, subject: str | None,
                 area: str | None, actor: Actor, now: dt.datetime, duty: dict[str, Any] | None = None,
                 fields: dict[str, Any] | None = None) -> tuple[Order, list[Event]]:
        """:meth:`start` in the caller's transaction (``fields``: more for the ``create`` event)."""
        order = new_order(order_id, urgency, now, self._clock)
        created = Event(order_id=order_id, action="create", actor=actor.name, role=actor.role, unit=actor.unit,
                        at=now, from_state=None, to_state=State.created,
                        fields={"urgency": urgency.value, "subject": subject, "area": area, **(fields or {})})
        events = [created]
        if urgency == Urgency.emergency:   # reported to the duty office at once, by the platform
            events.append(Event(order_id=order_id, action="report_duty", actor=SYSTEM.name, role=SYSTEM.role,
                                unit=None, at=now, from_state=State.created, to_state=State.created,
                                fields={**(duty or {"to": None}), "filed_by": actor.name}))
        if session.get(WorkOrderRow, order_id) is None:
            raise NoSuchWorkOrder(order_id)
        if session.get(OrderLifecycleRow, order_id) is not None or session.scalar(
                select(OrderEventRow.id).where(OrderEventRow.work_order_id == order_id).limit(1)) is not None:
            raise IllegalTransition(order_id, "start", "started", "the order is already in its lifecycle")
        row = OrderLifecycleRow(work_order_id=order_id, urgency=urgency.value, subject=subject, area=area)
        _write(row, order, now)
        session.add(row)
        session.add_all(_event_row(e) for e in events)
        for event in events:
            self._publish(session, event)
        return order, events

    def act(self, order_id: str, action: str, actor: Actor, fields: dict[str, Any],
            now: dt.datetime) -> tuple[Order, Event]:
        """Apply ``action``: the new state and its event in one transaction, or an error and nothing."""
        with self._store.session() as session:
            return self.act_in(session, order_id, action, lambda _: actor, fields, now)

    def act_in(self, session: Session, order_id: str, action: str, actor_of: Callable[[Order], Actor],
               fields: dict[str, Any], now: dt.datetime) -> tuple[Order, Event]:
        """:meth:`act` in the caller's transaction, the actor chosen from the order as it stands
        (an order system acts for the unit that holds the order)."""
        row, created_at = self._locked(session, order_id)
        before = _order(row, created_at)
        order, event = apply(before, action, actor_of(before), fields, now, self._clock)
        _write(row, order, now)
        session.add(_event_row(event))
        assignments.record(session, event, order, row.subject, row.area, tz=self._store.timezone,
                           insert=self._store.insert)
        self._publish(session, event)
        return order, event

    def update(self, order_id: str, changes: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        """Change the filed order's fields (``no_revisit``): the order as the API gives it."""
        with self._store.session() as session:
            row = session.scalars(select(WorkOrderRow).where(WorkOrderRow.id == order_id)
                                  .with_for_update()).one_or_none()
            if row is None:
                raise NoSuchWorkOrder(order_id)
            if "no_revisit" in changes and bool(changes["no_revisit"]) != row.no_revisit:
                row.no_revisit = bool(changes["no_revisit"])
                row.updated_at = now
            return work_order_dict(session, row)

    def get(self, order_id: str) -> tuple[Order, dict[str, str | None]]:
        """The order's lifecycle and its subject and area."""
        with self._store.session() as session:
            row, created_at = self._locked(session, order_id, lock=False)
            return _order(row, created_at), {"subject": row.subject, "area": row.area}

    def events(self, order_id: str) -> list[dict[str, Any]]:
        """The order's event trail, oldest first."""
        with self._store.session() as session:
            query = (select(OrderEventRow).where(OrderEventRow.work_order_id == order_id)
                     .order_by(OrderEventRow.id))
            return [event_dict(r) for r in session.scalars(query)]

    def open_orders(self) -> list[Order]:
        """Every order not closed (for the 督办 sweep)."""
        with self._store.session() as session:
            query = (select(OrderLifecycleRow, WorkOrderRow.created_at)
                     .join(WorkOrderRow, WorkOrderRow.id == OrderLifecycleRow.work_order_id)
                     .where(OrderLifecycleRow.state.in_([s.value for s in OPEN_STATES]))
                     .order_by(OrderLifecycleRow.work_order_id))
            return [_order(r, created_at) for r, created_at in session.execute(query)]

    def alerted(self, order_id: str, action: str, due: dt.datetime) -> bool:
        """Whether a ``warn``/``flag_overdue`` event was already recorded for this deadline."""
        with self._store.session() as session:
            query = select(OrderEventRow.fields).where(OrderEventRow.work_order_id == order_id,
                                                       OrderEventRow.action == action)
            return any(f.get("due") == due.isoformat() for f in session.scalars(query))

    def trails(self, since: dt.datetime | None = None) -> list[tuple[str, str | None, str | None,
                                                                     dt.datetime | None, list[dict[str, Any]]]]:
        """(order id, subject, area, due, event trail) of every order dispatched at or after
        ``since`` (all when None): the in-memory reference the KPI queries are tested against
        (:func:`hotline.work_orders.kpis.assignments_of`)."""
        with self._store.session() as session:
            query = select(OrderLifecycleRow).where(OrderLifecycleRow.dispatched_at.is_not(None))
            if since is not None:
                query = query.where(OrderLifecycleRow.dispatched_at >= since)
            rows = list(session.scalars(query.order_by(OrderLifecycleRow.work_order_id)))
            ids = [r.work_order_id for r in rows]
            trail: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
            events = select(OrderEventRow).where(OrderEventRow.work_order_id.in_(ids)).order_by(OrderEventRow.id)
            for e in session.scalars(events):
                trail[e.work_order_id].append(event_dict(e))
            return [(r.work_order_id, r.subject, r.area, r.due, trail[r.work_order_id]) for r in rows]

    def kpis(self, dimension: str, tz: ZoneInfo, *, since: dt.datetime | None = None,
             until: dt.datetime | None = None) -> dict[str, Kpis]:
        """The KPI counts per ``dimension`` of the assignments dispatched in [since, until),
        computed by the database (:func:`hotline.work_orders.assignments.grouped`)."""
        with self._store.session() as session:
            return assignments.grouped(session, dimension, tz, since=since, until=until,
                                       days=tz.key == self._store.timezone.key)

    def record(self, event: Event) -> None:
        """Store an event that changes no state (a 督办 alert by the system); the order's row held
        like a transition's, so its outbound ``seq`` is not taken by a concurrent action."""
        with self._store.session() as session:
            self._locked(session, event.order_id)
            session.add(_event_row(event))
            self._publish(session, event)

    def _publish(self, session: Session, event: Event) -> None:
        if self._outbox is not None:
            session.flush()   # the lifecycle row the payload reads
            outbound.publish(self._outbox, session, event, units_see_numbers=self._units_see_numbers)

    def _locked(self, session: Session, order_id: str,
                lock: bool = True) -> tuple[OrderLifecycleRow, dt.datetime]:
        """The order's lifecycle row (locked for the transaction) and its creation time."""
        filed = session.get(WorkOrderRow, order_id)
        if filed is None:
            raise NoSuchWorkOrder(order_id)
        query = select(OrderLifecycleRow).where(OrderLifecycleRow.work_order_id == order_id)
        row = session.scalars(query.with_for_update() if lock else query).one_or_none()
        if row is not None:
            return row, filed.created_at
        # filed before the lifecycle existed: created, normal urgency, dispatch due from its creation
        order = new_order(order_id, Urgency.normal, filed.created_at, self._clock)
        row = OrderLifecycleRow(work_order_id=order_id, urgency=Urgency.normal.value, subject=None, area=None)
        _write(row, order, filed.created_at)
        if lock:
            session.add(row)
        return row, filed.created_at
