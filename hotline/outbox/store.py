"""The outbox in the store (tables ``outbox_events`` and ``outbox_deliveries``, migration 0007).

Durability contract: an event exists once the transaction that published it commits, together
with the caller's own change when the caller publishes inside its session
(:func:`publish_in`). Each event gets one delivery row per webhook that wants its type; a delivery
is ``pending`` until the receiver answered 2xx (``delivered``) or it ran out of attempts or age
(``dead``, the dead-letter list). The worker only ever reads the earliest pending delivery of
each (webhook, order), so an order's events arrive in ``seq`` order; a dead one no longer holds
the later ones back. Every read is batch-limited: a receiver down for hours costs rows, not memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from hotline.config.integration import ORDER_EVENTS, Webhook
from hotline.exceptions import InvalidRequest, NoSuchDeadLetter
from hotline.store.models import OutboxDeliveryRow as D, OutboxEventRow as E, OutboxSequenceRow as S
from hotline.store.store import MAX_PAGE, Store

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
ORDER_ID_MAX = 64


@dataclass(frozen=True)
class Delivery:
    """One event on its way to one webhook."""

    id: int
    webhook: str
    order_id: str
    seq: int
    event_type: str
    idempotency_key: str
    payload: dict[str, Any]
    created_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None

    def message(self) -> dict[str, Any]:
        """What the receiver gets (the body, JSON)."""
        return {"idempotency_key": self.idempotency_key, "order_id": self.order_id, "seq": self.seq,
                "event_type": self.event_type, "occurred_at": self.created_at.isoformat(), "payload": self.payload}

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "webhook": self.webhook, "status": self.status, "attempts": self.attempts,
                "next_attempt_at": self.next_attempt_at.isoformat(), "last_error": self.last_error,
                **self.message()}


def _delivery(d: D, e: E) -> Delivery:
    return Delivery(id=d.id, webhook=d.webhook, order_id=d.order_id, seq=d.seq, event_type=e.event_type,
                    idempotency_key=e.idempotency_key, payload=e.payload, created_at=e.created_at, status=d.status,
                    attempts=d.attempts, next_attempt_at=d.next_attempt_at, last_error=d.last_error)


def check_event(order_id: str, event_type: str, payload: object) -> None:
    """Refuse an event that cannot be published, naming the field."""
    if not isinstance(order_id, str) or not 1 <= len(order_id) <= ORDER_ID_MAX:
        raise InvalidRequest("order_id", f"must be 1 to {ORDER_ID_MAX} characters", order_id)
    if event_type not in ORDER_EVENTS:
        raise InvalidRequest("event_type", f"not one of {list(ORDER_EVENTS)}", event_type)
    if not isinstance(payload, dict):
        raise InvalidRequest("payload", "must be a JSON object", type(payload).__name__)


def publish_in(session: Session, *, site_id: str, webhooks: Sequence[Webhook], order_id: str, event_type: str,
               payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Append an event in the caller's transaction: it commits (or not) with the caller's change.

    ``seq`` is the order's next number, from ``outbox_sequences`` (it survives the pruning of the
    order's events: a number, and so an idempotency key, is never used twice); the caller changing
    the order holds its row, so two events of one order are not published at once (if they were,
    one transaction fails on a unique key and rolls back whole)."""
    check_event(order_id, event_type, payload)
    counter = session.get(S, order_id, with_for_update=True)
    if counter is None:
        counter = S(order_id=order_id, last_seq=session.scalar(select(func.max(E.seq)).where(E.order_id == order_id))
                    or 0)
        session.add(counter)
    counter.last_seq += 1
    seq = counter.last_seq
    event = E(order_id=order_id, seq=seq, event_type=event_type, idempotency_key=f"{site_id}:{order_id}:{seq}",
              payload=payload, created_at=now)
    session.add(event)
    session.flush()
    targets = [w.name for w in webhooks if event_type in w.events]
    session.add_all(D(event_id=event.id, webhook=name, order_id=order_id, seq=seq, status=PENDING, attempts=0,
                      next_attempt_at=now, updated_at=now) for name in targets)
    return {"id": event.id, "order_id": order_id, "seq": seq, "event_type": event_type,
            "idempotency_key": event.idempotency_key, "webhooks": targets}


class OutboxStore:
    def __init__(self, store: Store, site_id: str, webhooks: Sequence[Webhook]) -> None:
        self._store = store
        self._site_id = site_id
        self._webhooks = tuple(webhooks)

    def publish(self, order_id: str, event_type: str, payload: dict[str, Any], *, now: datetime,
                session: Session | None = None) -> dict[str, Any]:
        """Append an event, in ``session`` (the caller's transaction) or in a transaction of its own."""
        if session is not None:
            return publish_in(session, site_id=self._site_id, webhooks=self._webhooks, order_id=order_id,
                              event_type=event_type, payload=payload, now=now)
        with self._store.session() as own:
            return publish_in(own, site_id=self._site_id, webhooks=self._webhooks, order_id=order_id,
                              event_type=event_type, payload=payload, now=now)

    def due(self, now: datetime, limit: int, lease: timedelta) -> list[Delivery]:
        """Claim the deliveries to try now: per (webhook, order) only the earliest pending one.

        The claim moves their ``next_attempt_at`` to ``now + lease`` in the same statement, so a
        second worker (another node on the same database) does not take them too; a worker that
        dies holding a claim only delays them by the lease. On PostgreSQL the rows being claimed
        are skipped (``SKIP LOCKED``) and the outer condition is re-checked after a lock wait."""
        earlier = aliased(D)
        blocked = exists().where(earlier.webhook == D.webhook, earlier.order_id == D.order_id,
                                 earlier.seq < D.seq, earlier.status == PENDING)
        candidates = (select(D.id).where(D.status == PENDING, D.next_attempt_at <= now, ~blocked)
                      .order_by(D.next_attempt_at, D.id).limit(limit).with_for_update(skip_locked=True))
        claim = (update(D).where(D.id.in_(candidates.scalar_subquery()), D.status == PENDING,
                                 D.next_attempt_at <= now)
                 .values(next_attempt_at=now + lease).returning(D.id))
        with self._store.session() as session:
            ids = session.scalars(claim).all()
            if not ids:
                return []
            rows = session.execute(select(D, E).join(E, E.id == D.event_id).where(D.id.in_(ids)).order_by(D.id))
            return [_delivery(d, e) for d, e in rows]

    def delivered(self, delivery_id: int, now: datetime) -> None:
        with self._store.session() as session:
            session.execute(update(D).where(D.id == delivery_id, D.status == PENDING)
                            .values(status=DELIVERED, attempts=D.attempts + 1, last_error=None, updated_at=now))

    def failed(self, delivery_id: int, now: datetime, error: str, retry_at: datetime | None) -> None:
        """One more failed attempt: retried at ``retry_at``, or dead (None)."""
        values: dict[str, Any] = {"attempts": D.attempts + 1, "last_error": error[:200], "updated_at": now}
        values.update({"status": DEAD} if retry_at is None else {"next_attempt_at": retry_at})
        with self._store.session() as session:
            session.execute(update(D).where(D.id == delivery_id, D.status == PENDING).values(**values))

    # --- the dead-letter list ---------------------------------------------------------------
    def dead(self, limit: int = 100) -> list[Delivery]:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest("limit", f"must be between 1 and {MAX_PAGE}", limit)
        q = (select(D, E).join(E, E.id == D.event_id).where(D.status == DEAD)
             .order_by(D.updated_at.desc(), D.id.desc()).limit(limit))
        with self._store.session() as session:
            return [_delivery(d, e) for d, e in session.execute(q)]

    def retry(self, delivery_id: int, now: datetime) -> Delivery:
        """A dead letter back to pending, attempts from 0, due now."""
        with self._store.session() as session:
            row = session.get(D, delivery_id, with_for_update=True)
            if row is None or row.status != DEAD:
                raise NoSuchDeadLetter(delivery_id)
            row.status, row.attempts, row.next_attempt_at, row.updated_at = PENDING, 0, now, now
            session.flush()
            event = session.get(E, row.event_id)
            assert event is not None   # deliveries go with their event (prune deletes them first)
            return _delivery(row, event)

    def discard(self, delivery_id: int) -> None:
        with self._store.session() as session:
            gone = session.execute(delete(D).where(D.id == delivery_id, D.status == DEAD).returning(D.id)).all()
            if not gone:
                raise NoSuchDeadLetter(delivery_id)

    def counts(self) -> dict[str, int]:
        with self._store.session() as session:
            rows = session.execute(select(D.status, func.count()).group_by(D.status))
            found = {str(s): int(n) for s, n in rows}
        return {s: int(found.get(s, 0)) for s in (PENDING, DELIVERED, DEAD)}

    def prune(self, before: datetime, limit: int) -> int:
        """Delete at most ``limit`` delivered deliveries last changed before ``before``, then the
        events older than that with no delivery left; how many rows went."""
        with self._store.session() as session:
            ids = session.scalars(select(D.id).where(D.status == DELIVERED, D.updated_at < before)
                                  .order_by(D.id).limit(limit)).all()
            n = len(session.execute(delete(D).where(D.id.in_(ids)).returning(D.id)).all()) if ids else 0
            orphans = session.scalars(select(E.id).where(E.created_at < before, ~exists().where(D.event_id == E.id))
                                      .order_by(E.id).limit(limit)).all()
            if orphans:
                n += len(session.execute(delete(E).where(E.id.in_(orphans)).returning(E.id)).all())
        return n
