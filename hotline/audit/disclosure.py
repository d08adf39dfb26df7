"""Callers' numbers leave the API masked unless the reader may see them, and every full one is audited.

The rule is :func:`hotline.privacy.sees_full` (one place): supervisors and admins see full
numbers; a seat only those of the calls it is handling or handled, and never of a confidential
call (a work order about it is ``caller_confidential``); a department never. Each response that
hands out at least one full number writes one audit row ``read.caller_number``: who (user,
role), when, which calls (``target`` and ``detail.call_ids``), through which route, and why —
``detail.reason`` from the ``reason`` query parameter or the ``X-Hotline-Reason`` header,
``unspecified`` when neither is given. The open API (no users) has no one to name: nothing is
written, and it shows full numbers as before (it binds to loopback, the operator's own).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from aiohttp import web

from hotline.audit.services import AuditEntry, AuditService
from hotline.principal import principal_of, route_path
from hotline.exceptions import InvalidRequest, StoreError
from hotline.privacy import OPEN_API, Viewer, mask_number, sees_full

log = logging.getLogger(__name__)

ACTION = "read.caller_number"
REASON_HEADER = "X-Hotline-Reason"
MAX_REASON = 200
MAX_LISTED = 100          # call ids named in one audit row (the count is always there)
# The same reader reading the same numbers through the same route for the same reason within this
# many seconds is one audit row: a seat's screen polling /api/calls/live during a call must not
# write a row a second for months. Bounded memory.
REPEAT_WINDOW_S = 60.0
MAX_REMEMBERED = 4096

Confidential = Callable[[Sequence[str]], set[str]]   # the call ids of a list a work order keeps confidential


def viewer_of(request: web.Request) -> Viewer:
    principal = principal_of(request)
    if principal is None:
        return OPEN_API
    return Viewer(principal.name, principal.role.value, principal.seat)


def reason_of(request: web.Request) -> str:
    """Why the reader asks: ``?reason=`` or the ``X-Hotline-Reason`` header, else ``unspecified``."""
    reason = request.query.get("reason") or request.headers.get(REASON_HEADER) or ""
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise InvalidRequest("reason", f"at most {MAX_REASON} characters", reason[:40] + "...")
    return reason or "unspecified"


class Disclosure:
    """Masks what a reader may not see and audits what it may (see the module docstring)."""

    def __init__(self, audit: AuditService, confidential: Confidential,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._audit = audit
        self._confidential = confidential
        self._clock = clock
        self._recent: OrderedDict[tuple[str, ...], float] = OrderedDict()

    async def confidential(self, call_ids: Sequence[str]) -> set[str]:
        """The confidential ones; with the database down, all of them (masked rather than shown:
        the live view goes on without the store, and no number leaks)."""
        ids = [i for i in dict.fromkeys(call_ids) if i]
        if not ids:
            return set()
        try:
            return await asyncio.to_thread(self._confidential, ids)
        except StoreError as exc:
            log.warning("confidential calls not known (%s): numbers masked", exc.message)
            return set(ids)

    async def apply(self, request: web.Request, items: list[dict[str, Any]], *,
                    handled_by: Callable[[dict[str, Any]], Iterable[str | None]],
                    mask: Callable[[dict[str, Any]], dict[str, Any]],
                    call_id: Callable[[dict[str, Any]], str | None] = lambda i: i.get("call_id"),
                    full_asked: bool = True, audit: bool = True) -> list[dict[str, Any]]:
        """``items`` with the citizen's number masked where ``viewer`` may not see it (``mask``
        masks one item); ``full_asked`` False masks every item (a route that masks by default).
        ``audit`` False: the caller audited the whole read already (:meth:`record_export`)."""
        viewer = viewer_of(request)
        reason = reason_of(request) if full_asked and viewer is not OPEN_API else ""
        secret = await self.confidential([str(call_id(i) or "") for i in items]) if full_asked else set()
        out: list[dict[str, Any]] = []
        shown: list[str] = []
        for item in items:
            cid = str(call_id(item) or "")
            if full_asked and sees_full(viewer, handled_by=handled_by(item), confidential=cid in secret):
                out.append(item)
                shown.append(cid)
            else:
                out.append(mask(item))
        if shown and audit and viewer is not OPEN_API:
            await self._record(request, viewer, shown, reason)
        return out

    async def record_export(self, request: web.Request, what: str, fmt: str, query: dict[str, Any]) -> None:
        """One audit row for a whole export that may hand out full numbers (the reader's role
        sees some), written before the first row leaves: ``target`` ``export:<what>``,
        ``detail.export`` the format, ``detail.query`` the search. A failed write refuses it."""
        viewer = viewer_of(request)
        if viewer is OPEN_API or not sees_full(viewer, handled_by=[viewer.seat], confidential=False):
            return
        route = f"{request.method} {route_path(request) or request.path}"
        detail = {"route": route, "reason": reason_of(request), "export": fmt, "query": query}
        try:
            await self._audit.record(AuditEntry(user=viewer.name or "", role=viewer.role or "", action=ACTION,
                                                target=f"export:{what}", detail=detail, status=200))
        except Exception:
            log.exception("audit of a full-number export by %s failed: the export is refused", viewer.name)
            raise

    async def record_full(self, request: web.Request, call_ids: list[str]) -> None:
        """Audit a full number handed out by a route that decided it itself (a unit reading a
        non-confidential order, ``hotline.work_orders.identity``)."""
        viewer = viewer_of(request)
        if call_ids and viewer is not OPEN_API:
            await self._record(request, viewer, call_ids, reason_of(request))

    async def _record(self, request: web.Request, viewer: Viewer, shown: list[str], reason: str) -> None:
        target = f"call:{shown[0]}" if len(shown) == 1 else f"calls:{len(shown)}"
        route = f"{request.method} {route_path(request) or request.path}"
        detail = {"route": route, "reason": reason, "count": len(shown), "call_ids": shown[:MAX_LISTED]}
        key = (viewer.name or "", route, reason, *sorted(shown))
        now = self._clock()
        if (seen := self._recent.get(key)) is not None and now - seen < REPEAT_WINDOW_S:
            return   # the same read, already audited moments ago
        try:
            await self._audit.record(AuditEntry(user=viewer.name or "", role=viewer.role or "", action=ACTION,
                                                target=target, detail=detail, status=200))
        except Exception:
            # An unaudited read must not happen: refuse the read rather than hand the numbers out.
            log.exception("audit of a full-number read by %s failed: the read is refused", viewer.name)
            raise
        self._recent[key] = now
        self._recent.move_to_end(key)
        while len(self._recent) > MAX_REMEMBERED:
            self._recent.popitem(last=False)


def mask_field(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A ``mask`` for :meth:`Disclosure.apply`: the item with ``key`` masked."""
    def mask(item: dict[str, Any]) -> dict[str, Any]:
        out = dict(item)
        if isinstance(out.get(key), str):
            out[key] = mask_number(out[key])
        return out
    return mask


DISCLOSURE = web.AppKey("disclosure", Disclosure)
