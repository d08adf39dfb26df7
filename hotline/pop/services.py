"""The seat's screen pop (issue 13): what the seat's page shows when its phone rings.

:meth:`PopService.pop` assembles, for one seat, the call ringing or talking there (what the seat
state machine knows: the Linkedid from ``AgentCalled``; what the call tracker knows of the live
conversation: dialled number, queue, arrival; the waiting caller's entry in its queue), where the
caller's number is from and its carrier (:mod:`hotline.pop.geo`), the caller's earlier calls and
orders by person key (:mod:`hotline.pop.store`), and the fields of ``POST /api/work-orders`` the
call determines. Everything here is in full: the route masks what the reader may not see
(:mod:`hotline.pop.http`, the one rule :func:`hotline.privacy.sees_full`).

Nothing here waits on Asterisk; the store is read once (two index range scans, in a thread). A
store that cannot be read leaves the live call on the screen with ``history.ok`` false.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hotline.calls.assemble import Directory, assemble
from hotline.calls.cel import CelEvent
from hotline.config.site import SiteConfig
from hotline.exceptions import NoSuchCall, StoreError
from hotline.records.call import CallRecord
from hotline.seats.services import SeatService
from hotline.spine.numbers import ANONYMOUS, compact, person_key
from hotline.store import Store
from queue_manager.seats import SeatState

from .geo import locate
from .store import history

LiveRecord = Callable[[str], "CallRecord | None"]   # a live conversation's partial record, by call id
CALL_STATES = (SeatState.ringing, SeatState.talking, SeatState.wrapup)


class Conversations(Protocol):
    def conversation(self, call_id: str) -> tuple[list[CelEvent], dict[str, list[CelEvent]]] | None: ...


def live_records(tracker: Conversations, directory: Directory) -> LiveRecord:
    """The partial record of a live conversation, from the call tracker's events so far."""
    def record(call_id: str) -> CallRecord | None:
        got = tracker.conversation(call_id)
        return assemble(got[0], directory) if got is not None else None
    return record


@dataclass
class Pop:
    """One seat's pop, numbers in full (the route masks them)."""

    seat_id: str
    call: dict[str, Any] | None = None
    history: dict[str, Any] = field(default_factory=lambda: {"ok": True, "error": None, "calls": [], "orders": []})
    order_prefill: dict[str, Any] | None = None
    order_context: dict[str, Any] | None = None
    ts: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"seat_id": self.seat_id, "ts": self.ts, "call": self.call, "history": self.history,
                "order_prefill": self.order_prefill, "order_context": self.order_context}


class PopService:
    def __init__(self, site: SiteConfig, seats: SeatService, store: Store, live_record: LiveRecord, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.site = site
        self._seats = seats
        self._store = store
        self._live = live_record
        self._clock = clock
        self._legacy = {n.number: n for n in site.legacy_numbers}
        self._departments = {d.id: d for d in site.departments}
        self._units = {u.department: u.id for u in site.orders.units if u.department}
        # Several nodes: the seat's call on another node, as that node's live_call gives it
        # (hotline.calls.relay; set by the composition root), asked when this node has none.
        self.peer_call: Callable[[str], Awaitable[dict[str, Any] | None]] | None = None

    def seat_view(self, seat_id: str) -> dict[str, Any]:
        """The seat's live view (masked caller); ``NoSuchSeat`` for a seat the site does not have."""
        return self._seats.view(seat_id)

    async def live_call(self, seat_id: str) -> dict[str, Any] | None:
        """The call at ``seat_id`` (ringing, talking, or just ended: wrap-up), numbers in full; None
        without one. ``NoSuchSeat`` for a seat the site does not have."""
        self._seats.view(seat_id)   # no-such-seat
        seat = self._seats.seats[seat_id]
        if not seat.call_id or seat.state not in (*CALL_STATES, SeatState.paused):
            return None
        call_id = seat.call_id
        now = self._clock()
        entry = next(((q.name, e) for q in self._seats.queues.values() for e in q.entries.values()
                      if e.call_id == call_id), None)
        record = self._live(call_id)
        if record is None and seat.state == SeatState.wrapup:   # ended: the stored record, once written
            record = await asyncio.to_thread(self._stored, call_id)
        caller = record.caller_number if record is not None else (entry[1].caller if entry else None)
        queue = (record.queue if record is not None else None) or (entry[0] if entry else None)
        if entry is not None:
            waited: float | None = round(now - entry[1].since, 1)
        elif record is not None and record.wait_seconds is not None:
            waited = record.wait_seconds
        elif record is not None and record.queued_at is not None:
            waited = round(now - record.queued_at.timestamp(), 1)
        else:
            waited = None
        dialled = record.dialled_number if record is not None else None
        return {
            "call_id": call_id,
            "state": seat.state.value if seat.state in CALL_STATES else SeatState.talking.value,
            "state_since": seat.since, "seat": seat_id, "queue": queue, "dialled_number": dialled,
            "legacy_number": self._legacy_view(dialled, record),
            "arrived_at": record.arrived_at.isoformat() if record is not None else None,
            "waited_seconds": waited, "caller_number": caller,
            "location": locate(person_key(caller or "")).to_dict(),
        }

    def _stored(self, call_id: str) -> CallRecord | None:
        try:
            return self._store.get_call(call_id)
        except (NoSuchCall, StoreError):   # not written yet, or the store down: the seat's view is enough
            return None

    def _legacy_view(self, dialled: str | None, record: CallRecord | None) -> dict[str, Any] | None:
        number = self._legacy.get(compact(dialled or "") or "")
        department = (record.department if record is not None else None) or (number.department if number else None)
        if number is None and department is None:
            return None
        dept = self._departments.get(department or "")
        return {"number": number.number if number else None, "mode": number.mode.value if number else None,
                "hotline": number.hotline if number else None, "department": department,
                "department_name": dept.name if dept else None, "unit": self._units.get(department or "")}

    async def pop(self, seat_id: str, *, calls: int, orders: int) -> Pop:
        """The seat's pop: the live call, the caller's history (``calls`` and ``orders`` at most)
        and the order form's fields."""
        out = Pop(seat_id, ts=self._clock())
        call = await self.live_call(seat_id)
        if call is None and self.peer_call is not None:
            call = await self.peer_call(seat_id)
        if call is None:
            return out
        out.call = call
        caller = call["caller_number"]
        if caller and caller != ANONYMOUS:
            try:
                found = await asyncio.to_thread(history, self._store, person_key(caller), exclude=call["call_id"],
                                                calls=calls, orders=orders)
                out.history = {"ok": True, "error": None, "calls": found.calls, "orders": found.orders}
            except StoreError as exc:
                out.history = {"ok": False, "error": exc.message, "calls": [], "orders": []}
        legacy = call["legacy_number"] or {}
        unit = legacy.get("unit")
        out.order_prefill = {"call_ids": [call["call_id"]], "created_by": seat_id}
        out.order_context = {
            "caller_number": caller, "dialled_number": call["dialled_number"],
            "department": legacy.get("department"), "department_name": legacy.get("department_name"),
            "unit": unit, "subjects": [s.id for s in self.site.orders.subjects if unit and s.unit == unit]}
        return out
