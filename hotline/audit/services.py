"""Audit rows: what to record (a pure rule), and writing/reading them off the event loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from hotline.config.site import Role

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_DETAIL_BYTES = 4096
_SECRET_KEYS = frozenset({"password", "token", "secret"})


class AuditStore(Protocol):
    def add_audit(self, *, at: datetime, user: str, role: str, action: str, target: str | None,
                  detail: dict[str, Any], status: int) -> int: ...

    def list_audit(self, *, limit: int = 100, user: str | None = None,
                   action: str | None = None) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class AuditEntry:
    user: str
    role: str
    action: str
    target: str | None
    detail: dict[str, Any]
    status: int


def should_audit(method: str, path: str, role: Role, own_seat: str | None, seat_id: str | None) -> bool:
    """Supervisors' and admins' writes under ``/api/``, any request on a seat not the caller's, and
    every call-control action (transfer, conference, drop, emergency) whoever asks, seats too."""
    if not path.startswith("/api/"):
        return False
    if seat_id is not None and seat_id != own_seat:
        return True
    if method in MUTATING and path.startswith("/api/calls/"):
        return True
    return method in MUTATING and role in (Role.supervisor, Role.admin)


def action_name(method: str, route: str) -> str:
    """``POST /api/seats/{seat_id}/pause`` -> ``seats.pause``; other methods than POST are appended
    (``DELETE /api/calls/{call_id}/conference/{party}`` -> ``calls.conference.delete``)."""
    parts = [p for p in route.removeprefix("/api/").split("/") if p and not p.startswith("{")]
    name = ".".join(parts) or "api"
    return name if method == "POST" else f"{name}.{method.lower()}"


def target_of(match_info: dict[str, str]) -> str | None:
    """``seat:1001``, ``call:1700000000.12``; several path values joined with ``/``."""
    if not match_info:
        return None
    return "/".join(f"{k.removesuffix('_id')}:{v}" for k, v in match_info.items())[:128]


def body_detail(body: bytes, query: dict[str, str]) -> dict[str, Any]:
    """What was asked: the JSON body (secrets redacted, cut to a size) and the query."""
    detail: dict[str, Any] = {}
    if query:
        detail["query"] = dict(query)
    if body:
        try:
            parsed = json.loads(body[:MAX_DETAIL_BYTES])
        except ValueError:
            detail["body_bytes"] = len(body)
        else:
            if isinstance(parsed, dict):
                parsed = {k: ("***" if k in _SECRET_KEYS else v) for k, v in parsed.items()}
            detail["body"] = parsed
    return detail


class AuditService:
    def __init__(self, store: AuditStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._store = store
        self._clock = clock

    async def record(self, entry: AuditEntry) -> int:
        return await asyncio.to_thread(self._store.add_audit, at=self._clock(), user=entry.user, role=entry.role,
                                       action=entry.action, target=entry.target, detail=entry.detail,
                                       status=entry.status)

    async def list(self, *, limit: int = 100, user: str | None = None, action: str | None = None
                   ) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._store.list_audit, limit=limit, user=user, action=action)
