"""State changes an order system pushes back (table ``inbound_changes``, migration 0007).

Contract: one row per (system, idempotency key). The first request is stored together with
what the lifecycle hook made of it, in one transaction; any replay is answered with that first
result and changes nothing. The hook (:data:`InboundHook`, wired by the composition root) is
called inside the transaction with the session, so an order's transition and the stored change
commit together (and the lifecycle may publish outbound events in that same session). A hook
that refuses the change (a :class:`HotlineError`: illegal transition, unknown order) rolls its
transaction back; the refusal itself is then stored, so a replay gets the same refusal.

Until the work-order lifecycle implements the hook, :func:`record_only` accepts every change
without applying it (``applied: false``): the changes wait in the table for it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.config.integration import InboundSystem
from hotline.exceptions import HotlineError, InboundAuthFailed, InvalidRequest
from hotline.store.models import InboundChangeRow as R
from hotline.store.store import MAX_PAGE, Store


@dataclass(frozen=True)
class InboundChange:
    """One accepted change, as the lifecycle hook gets it."""

    system: str
    idempotency_key: str
    order_id: str
    change: str          # one of hotline.config.integration.INBOUND_CHANGES
    at: datetime         # when it happened in the order system
    data: dict[str, Any]  # the change's fields (e.g. a return's four required fields)


InboundHook = Callable[[Session, InboundChange], dict[str, Any]]
"""Applies a change in the caller's session; returns what to answer (``{"applied": True, ...}``)
or raises a :class:`HotlineError` to refuse it."""


def record_only(session: Session, change: InboundChange) -> dict[str, Any]:
    """The hook until the lifecycle implements it: stored, not applied."""
    return {"applied": False}


def authenticate(systems: dict[str, InboundSystem], name: str, body: bytes, authorization: str | None,
                 signature: str | None) -> InboundSystem:
    """The system, when the request carries its token (``Bearer``) or its HMAC-SHA256 signature."""
    system = systems.get(name)
    if system is None:
        raise InboundAuthFailed()
    if authorization is not None and authorization.startswith("Bearer ") and \
            hmac.compare_digest(authorization[7:].encode(), system.token.encode()):
        return system
    expected = "sha256=" + hmac.new(system.token.encode(), body, hashlib.sha256).hexdigest()
    if signature is not None and hmac.compare_digest(signature.encode(), expected.encode()):
        return system
    raise InboundAuthFailed()


class InboundStore:
    def __init__(self, store: Store, hook: InboundHook = record_only) -> None:
        self._store = store
        self.hook = hook

    def accept(self, change: InboundChange, *, now: datetime) -> tuple[dict[str, Any], bool]:
        """(the answer, replayed). The answer carries ``http_status`` (202 accepted, or the
        refusal's status with its ``error_id``)."""
        first = self._find(change.system, change.idempotency_key)
        if first is not None:
            return first, True
        try:
            with self._store.session() as session:
                return self._insert(session, change, self._apply(session, change), now), False
        except IntegrityError:   # the same key at the same moment: the other one won
            found = self._find(change.system, change.idempotency_key)
            if found is None:
                raise
            return found, True
        except HotlineError as exc:
            refusal = {"http_status": exc.http_status, **exc.to_dict()}
        with self._store.session() as session:   # the refusal is the answer to every replay
            return self._insert(session, change, refusal, now), False

    def _apply(self, session: Session, change: InboundChange) -> dict[str, Any]:
        return {"http_status": 202, **self.hook(session, change)}

    def _insert(self, session: Session, change: InboundChange, result: dict[str, Any], now: datetime) -> dict[str, Any]:
        row = R(system=change.system, idempotency_key=change.idempotency_key, order_id=change.order_id,
                change=change.change, body={**asdict(change), "at": change.at.isoformat()}, result={},
                received_at=now)
        session.add(row)
        session.flush()
        row.result = {"id": row.id, "system": change.system, "idempotency_key": change.idempotency_key,
                      "order_id": change.order_id, "change": change.change, **result}
        session.flush()
        return dict(row.result)

    def _find(self, system: str, key: str) -> dict[str, Any] | None:
        with self._store.session() as session:
            row = session.scalars(select(R).where(R.system == system, R.idempotency_key == key)).first()
            return None if row is None else dict(row.result)

    def prune(self, before: datetime, limit: int) -> int:
        """Delete at most ``limit`` changes received before ``before`` (their keys are then new again)."""
        with self._store.session() as session:
            ids = session.scalars(select(R.id).where(R.received_at < before).order_by(R.id).limit(limit)).all()
            if ids:
                session.execute(delete(R).where(R.id.in_(ids)))
            return len(ids)

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """The newest inbound changes first, with what was answered."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest("limit", f"must be between 1 and {MAX_PAGE}", limit)
        with self._store.session() as session:
            rows = session.scalars(select(R).order_by(R.id.desc()).limit(limit))
            return [{**row.body, "received_at": row.received_at.isoformat(), "result": row.result} for row in rows]
