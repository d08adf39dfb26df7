"""The outbox's bounds: pending deliveries expire into dead letters, dead letters are purged.

A receiver down for weeks (or a dead-letter list nobody reads) must not grow the store without
bound. The worker's maintenance pass (:meth:`hotline.outbox.services.OutboxService.maintain`)
calls, in batches:

* :func:`expire`: a pending delivery whose event is older than ``max_age_hours``, or that has
  ``max_attempts`` failed attempts (the limit lowered since), becomes a dead letter without one
  more POST. Only a delivery that is due and not claimed (``next_attempt_at <= now``: nothing is
  in flight) and that failed at least once or has waited since its event was published: a dead
  letter a supervisor retried is not expired again before its first new attempt (that attempt,
  if it fails, makes it dead again, as the README says). Expiry keeps the order guarantee: the
  store only ever hands out an order's earliest *pending* delivery, so a later event is never sent
  while an earlier one is still pending; once the earlier one is dead, the later ones go (the
  receiver sees the gap in ``seq``).
* :func:`purge_dead`: dead letters older than ``dead_retention_days`` (since they died), and
  beyond ``max_dead_per_webhook`` per webhook (the oldest first), are deleted and counted per
  webhook in ``outbox_purges`` in the same transaction (exact across restarts and nodes).

So the rows stay within: pending, the events of the last ``max_age_hours``; delivered, of the last
``retention_days``; dead, at most ``max_dead_per_webhook`` per webhook and none older than
``dead_retention_days``; events, those with a delivery left or younger than ``retention_days``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session

from hotline.store import Store
from hotline.store.models import OutboxDeliveryRow as D, OutboxEventRow as E, OutboxPurgeRow as P

PENDING, DEAD = "pending", "dead"


def _kill(session: Session, where: ColumnElement[bool], label: str, now: datetime, limit: int) -> Counter[str]:
    """At most ``limit`` due, unclaimed pending deliveries matching ``where`` made dead; per webhook."""
    due = and_(D.status == PENDING, D.next_attempt_at <= now, where)
    ids = select(D.id).where(due).order_by(D.id).limit(limit).scalar_subquery()
    error = func.substr(literal(label + "; last error: ") + func.coalesce(D.last_error, "none"), 1, 200)
    gone = session.execute(update(D).where(D.id.in_(ids), due)
                           .values(status=DEAD, updated_at=now, last_error=error).returning(D.webhook))
    return Counter(str(w) for (w,) in gone)


def expire(store: Store, *, now: datetime, max_age: timedelta, max_attempts: int, limit: int) -> Counter[str]:
    """One batch of pending deliveries past their age or attempts made dead; how many per webhook."""
    cutoff = now - max_age
    old = exists().where(E.id == D.event_id, E.created_at < cutoff)
    with store.session() as session:
        n = _kill(session, and_(old, or_(D.attempts > 0, D.updated_at < cutoff)),
                  f"expired: older than {max_age.total_seconds() / 3600:g} h", now, limit)
        n.update(_kill(session, D.attempts >= max_attempts, f"expired: {max_attempts} attempts", now,
                       limit - sum(n.values())) if sum(n.values()) < limit else Counter())
    return n


def _delete(session: Session, ids: list[int]) -> int:
    return len(session.execute(delete(D).where(D.id.in_(ids), D.status == DEAD).returning(D.id)).all()) if ids else 0


def purge_dead(store: Store, *, now: datetime, before: datetime, cap: int,
               limit: int) -> dict[str, tuple[int, int]]:
    """One batch (at most ``limit`` rows) of dead letters purged: those that died before ``before``,
    then each webhook's oldest beyond ``cap``. Counted in ``outbox_purges`` in the same
    transaction. Per webhook: (expired, capped) purged by this batch."""
    out: dict[str, list[int]] = {}
    with store.session() as session:
        old = session.execute(select(D.id, D.webhook).where(D.status == DEAD, D.updated_at < before)
                              .order_by(D.updated_at, D.id).limit(limit)).all()
        _delete(session, [i for i, _ in old])
        for _, w in old:
            out.setdefault(w, [0, 0])[0] += 1
        room = limit - len(old)
        over = session.execute(select(D.webhook, func.count()).where(D.status == DEAD).group_by(D.webhook)
                               .having(func.count() > cap).order_by(D.webhook)).all()
        for webhook, n in over:
            if room <= 0:
                break
            ids = session.scalars(select(D.id).where(D.status == DEAD, D.webhook == webhook)
                                  .order_by(D.updated_at, D.id).limit(min(int(n) - cap, room))).all()
            gone = _delete(session, list(ids))
            out.setdefault(webhook, [0, 0])[1] += gone
            room -= gone
        for webhook, (expired, capped) in out.items():
            row = session.get(P, webhook, with_for_update=True)
            if row is None:
                session.add(P(webhook=webhook, expired=expired, capped=capped, last_purged_at=now))
            else:
                row.expired, row.capped, row.last_purged_at = row.expired + expired, row.capped + capped, now
    return {w: (e, c) for w, (e, c) in out.items()}


def purged(store: Store) -> dict[str, dict[str, Any]]:
    """The purge counters per webhook: ``expired``, ``capped``, ``last_purged_at``."""
    with store.session() as session:
        return {r.webhook: {"expired": r.expired, "capped": r.capped, "last_purged_at": r.last_purged_at.isoformat()}
                for r in session.scalars(select(P).order_by(P.webhook))}
