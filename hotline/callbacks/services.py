"""The callback service: tasks from CEL and records, retries, seats taking callbacks.

Sources of truth, in order of arrival:

* live CEL events (:meth:`CallbackService.on_event`, a call-tracker subscriber):
  ``HOTLINE_CALLBACK_REQUEST`` creates the task at once (``requested``) — from the queue
  callback key, or from a queue's max-wait fallback (another reason: the platform places the
  placeholder itself, at the head of the queue); ``HOTLINE_CALLBACK_DIAL`` moves it to
  ``dialling``;
* records (:meth:`CallbackService.on_record`, every record the controller writes, live or
  rebuilt from the CEL log after the controller was down): a ``callback_requested`` record
  makes sure the task exists; a callback try's record (``extra.callback_of``) ends the try:
  connected, or a failed try (back to ``requested`` with a retry ``retry_after`` seconds later,
  at the head of the queue, until ``attempts`` tries have failed: ``failed``).

Every step is idempotent (a replayed event or record changes nothing): a try is identified by
its conversation id (``callback_call_id``).

A promised callback always becomes a task (issue 8): records that arrive before the service
has started (the start-up reconcile) wait for it; a database error is retried, with a growing
delay, until it succeeds; and a request not yet a task is kept in an intent file
(:class:`~hotline.callbacks.intents.IntentFile`, beside the state) so a restart retries it too.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import logging
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from hotline.ami import actions
from hotline.ami.port import AmiPort
from hotline.background import Background
from hotline.calls.cel import CelEvent
from hotline.privacy import mask_number
from hotline.records.call import CallRecord, Outcome
from hotline.callbacks.intents import IntentFile
from hotline.callbacks.errors import CallbackClosed, NoCallerNumber, NotAbandoned, SeatBusy
from hotline.callbacks.model import (
    CLOSED,
    CallbackTask,
    InvalidTransition,
    Kind,
    Status,
    Step,
    callback_account,
    dialable,
)
from hotline.config.site import QueueCallback, SiteConfig
from hotline.exceptions import AsteriskActionFailed, CallControlUnavailable, InvalidRequest, NoSuchSeat, StoreError
from hotline.spine import marks
from hotline.spine.ids import parse as parse_call_id
from hotline.store import Store
from hotline.callbacks.store import CallbackStore

log = logging.getLogger(__name__)

DEFAULTS = QueueCallback()
FREE_STATES = frozenset({"NOT_INUSE"})


class CallbackService:
    RETRY_FIRST_S = 1.0    # a database error: retried after this, doubling up to RETRY_MAX_S
    RETRY_MAX_S = 30.0

    def __init__(self, site: SiteConfig, store: Store, ami: AmiPort, *, action_timeout: float = 5.0,
                 intents: IntentFile | None = None) -> None:
        self._site = site
        self._intents = intents
        self._early: list[CallRecord] = []          # records handed over before start()
        self._early_lock = threading.Lock()
        self.retries = 0
        self._calls = store
        self.tasks = CallbackStore(store)
        self._ami = ami
        self._timeout = action_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._background = Background(log, "callback bookkeeping")

    def settings(self, queue: str | None) -> QueueCallback:
        q = self._site.queue(queue) if queue else None
        return q.callback if q is not None and q.callback is not None else DEFAULTS

    def start(self) -> None:
        with self._early_lock:
            self._loop = asyncio.get_running_loop()
            early, self._early = self._early, []
        self._background.spawn(self._resume())
        for number, queue, reason, call_id in (self._intents.pending() if self._intents else []):
            self._background.spawn(self._retrying(f"callback request of {call_id}",
                                                  functools.partial(self._requested, call_id, number, queue, reason)))
        for record in early:
            self._take_record(record)

    async def _resume(self) -> None:
        """After a restart: queue callbacks whose failed try was waiting for its retry get it
        (their placeholder is gone; one still waiting in the queue is ``requested`` with no try
        used, or ``dialling``, and is left alone). With several nodes on one store, each resumes the
        callbacks of its own node's calls only (their tries are placed there): never twice."""
        tasks = await asyncio.to_thread(self.tasks.list, status=Status.requested, limit=500)
        node = self._site.site.node
        for task in tasks:
            of = parse_call_id(task.call_id)
            if node is not None and of is not None and of.node not in (None, node):
                continue
            if task.kind is Kind.queue_callback and task.attempts > 0:
                self._background.spawn(self._retry_later(task))

    def status(self) -> dict[str, int]:
        """Requests not yet tasks (kept in the intent file) and database retries so far."""
        try:
            pending = len(self._intents.pending()) if self._intents is not None else 0
        except OSError:
            pending = -1
        return {"pending_requests": pending, "retries": self.retries}

    async def stop(self) -> None:
        await self._background.stop()

    # -- live events (call tracker subscriber, on the loop) -------------------------------------
    def on_event(self, event: CelEvent) -> None:
        if event.name == marks.CALLBACK_REQUEST.name:
            request = marks.parse_request(marks.CALLBACK_REQUEST.of(event))
            if request is None:
                log.info("callback request of %s without a dialable number: ignored", event.linkedid)
                return
            self._promise(event.linkedid, request.number, request.queue, request.reason)
        elif event.name == marks.CALLBACK_DIAL.name:
            parent = marks.CALLBACK_DIAL.of(event).call_id.strip()
            if parent:
                self._background.spawn(self._dialling(parent, event.linkedid))

    def _promise(self, call_id: str, number: str, queue: str | None, reason: str) -> None:
        """A caller was promised a callback: it becomes a task, whatever the database does meanwhile."""
        if self._intents is not None:
            try:
                self._intents.add(call_id, number, queue, reason)
            except OSError:
                log.exception("callback request of %s not kept in the intent file; retried in memory", call_id)
        self._background.spawn(self._retrying(f"callback request of {call_id}",
                                              lambda: self._requested(call_id, number, queue, reason)))

    async def _retrying(self, what: str, make: Callable[[], Awaitable[None]]) -> None:
        delay = self.RETRY_FIRST_S
        while True:
            try:
                await make()
                return
            except StoreError as exc:
                self.retries += 1
                log.warning("callback bookkeeping (%s) failed: %s; retrying in %.0f s", what, exc.message, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.RETRY_MAX_S)

    async def _requested(self, call_id: str, number: str, queue: str | None, reason: str) -> None:
        cfg = self.settings(queue)
        async with self._lock:
            task, created = await asyncio.to_thread(self.tasks.create, kind=Kind.queue_callback, call_id=call_id,
                                                    number=number, queue=queue, max_attempts=cfg.attempts,
                                                    exist_ok=True)
        if self._intents is not None:
            await asyncio.to_thread(self._intents.done, call_id)
        if created:
            log.info("callback task %d: %s requested a callback in %s (%s)", task.id, mask_number(number), queue,
                     reason)
        if created and reason != "key" and queue:
            # The max-wait fallback offered the callback: no placeholder was placed by the key's
            # dialplan, so the request goes to the head of the queue now.
            await self._place(task, position=1)

    async def _dialling(self, parent: str, try_id: str) -> None:
        async with self._lock:
            task = await asyncio.to_thread(self.tasks.for_call, parent)
            if task is None or task.status is not Status.requested:
                return
            try:
                await asyncio.to_thread(self.tasks.apply, task.id, Step.dial, callback_call_id=try_id)
            except InvalidTransition:
                return

    # -- records (any thread) ------------------------------------------------------------------
    def on_record(self, record: CallRecord) -> None:
        """Every record the controller writes passes here (from the loop or a worker thread)."""
        if record.outcome is not Outcome.callback_requested and "callback_of" not in record.extra:
            return
        with self._early_lock:
            loop = self._loop
            if loop is None:   # before start(): e.g. the start-up reconcile of calls made while down
                self._early.append(record)
                return
        if loop.is_closed():
            return
        loop.call_soon_threadsafe(self._take_record, record)

    def _take_record(self, record: CallRecord) -> None:
        if record.outcome is Outcome.callback_requested:
            request = _request_of(record)
            if request is not None:
                # Whoever creates the task places the fallback's placeholder (the key's dialplan places
                # its own): the live request, or this record when the request was not seen live.
                self._promise(record.call_id, *request)
            return
        self._background.spawn(self._retrying(f"callback try {record.call_id}", lambda: self._record(record)))

    async def _record(self, record: CallRecord) -> None:
        if record.outcome is Outcome.callback_requested:
            request = _request_of(record)
            if request is not None:
                await self._requested(record.call_id, *request)
            return
        parent = str(record.extra.get("callback_of"))
        result = str(record.extra.get("callback_result") or "")
        kind = str(record.extra.get("callback_kind") or "")
        async with self._lock:
            task = await asyncio.to_thread(self.tasks.for_call, parent)
            if task is None and kind == Kind.queue_callback.value and dialable(record.caller_number):
                cfg = self.settings(record.queue)
                task, _ = await asyncio.to_thread(self.tasks.create, kind=Kind.queue_callback, call_id=parent,
                                                  number=record.caller_number, queue=record.queue,
                                                  max_attempts=cfg.attempts, exist_ok=True)
            if task is None or task.status in CLOSED:
                return
            if task.callback_call_id == record.call_id and task.status is not Status.dialling:
                return  # this try was taken into account already (a replayed record)
            if record.outcome is Outcome.answered:
                step = Step.answered
            elif result == "seat_missed" and task.kind is Kind.abandoned:
                step = Step.seat_missed
            else:
                step = Step.try_failed
            try:
                task = await asyncio.to_thread(self.tasks.apply, task.id, step, callback_call_id=record.call_id,
                                               seat=record.seat or task.seat, last_result=result or None)
            except InvalidTransition as exc:
                log.info("callback task %d: %s", task.id, exc)
                return
        log.info("callback task %d: try %s %s -> %s (%d/%d)", task.id, record.call_id, result, task.status.value,
                 task.attempts, task.max_attempts)
        if task.status is Status.requested and task.kind is Kind.queue_callback and step is Step.try_failed:
            self._background.spawn(self._retry_later(task))

    async def _retry_later(self, task: CallbackTask) -> None:
        await asyncio.sleep(self.settings(task.queue).retry_after)
        current = await asyncio.to_thread(self.tasks.get, task.id)
        if current.status is Status.requested:
            await self._place(current, position=1)

    async def _place(self, task: CallbackTask, *, position: int) -> None:
        """A placeholder for ``task`` joins its queue at ``position``."""
        if not task.queue:
            return
        cfg = self.settings(task.queue)
        action = actions.callback_placeholder(task.queue, call_id=task.call_id, number=task.number,
                                              ring_seconds=cfg.ring_seconds, position=position,
                                              account=callback_account(task.call_id))
        try:
            await self._action(action)
        except (CallControlUnavailable, AsteriskActionFailed) as exc:
            log.warning("callback task %d: placeholder not placed: %s", task.id, exc.message)

    # -- API -----------------------------------------------------------------------------------
    async def create_for_call(self, call_id: str) -> CallbackTask:
        record = await asyncio.to_thread(self._calls.get_call, call_id)   # no-such-call
        if record.outcome not in (Outcome.abandoned_in_queue, Outcome.abandoned_before_queue):
            raise NotAbandoned(call_id, record.outcome.value)
        if not dialable(record.caller_number):
            raise NoCallerNumber(call_id)
        cfg = self.settings(record.queue)
        async with self._lock:
            task, _ = await asyncio.to_thread(self.tasks.create, kind=Kind.abandoned, call_id=call_id,
                                              number=record.caller_number, queue=record.queue,
                                              max_attempts=cfg.attempts)
        return task

    async def list(self, status: str | None, limit: int) -> list[CallbackTask]:
        chosen = None
        if status is not None:
            try:
                chosen = Status(status)
            except ValueError:
                raise InvalidRequest("status", f"must be one of {', '.join(s.value for s in Status)}",
                                     status) from None
        return await asyncio.to_thread(self.tasks.list, status=chosen, limit=limit)

    async def get(self, task_id: int) -> CallbackTask:
        return await asyncio.to_thread(self.tasks.get, task_id)

    async def take(self, task_id: int, seat: str) -> CallbackTask:
        """The seat's phone rings; when it answers, the citizen is dialled (hotline-cb-dial)."""
        if self._site.seat(seat) is None:
            raise NoSuchSeat(seat, field="seat")
        task = await asyncio.to_thread(self.tasks.get, task_id)   # no-such-callback
        if task.status is not Status.requested:
            raise CallbackClosed(task.id, task.status.value)
        state = await self.seat_state(seat)
        if state not in FREE_STATES:
            raise SeatBusy(seat, state)
        cfg = self.settings(task.queue)
        async with self._lock:
            try:
                task = await asyncio.to_thread(self.tasks.apply, task.id, Step.dial, seat=seat)
            except InvalidTransition:
                current = await asyncio.to_thread(self.tasks.get, task.id)
                raise CallbackClosed(current.id, current.status.value) from None
        action = actions.callback_seat_call(seat, call_id=task.call_id, number=task.number,
                                            ring_seconds=cfg.ring_seconds, account=callback_account(task.call_id),
                                            seat_ring_ms=cfg.ring_seconds * 1000)
        try:
            await self._action(action)
        except (CallControlUnavailable, AsteriskActionFailed):
            async with self._lock:
                await asyncio.to_thread(self.tasks.apply, task.id, Step.seat_missed, last_result="originate-failed")
            raise
        return task

    async def seat_state(self, seat: str) -> str:
        response = await self._action(actions.getvar(f"DEVICE_STATE(PJSIP/{seat})"))
        return str(response.get("Value") or "UNKNOWN").upper()

    async def abandoned(self, *, since: datetime | None, queue: str | None, limit: int,
                        full: bool) -> builtins.list[dict[str, Any]]:
        records = await asyncio.to_thread(self.tasks.abandoned, since=since, queue=queue, limit=limit)
        if not records:
            return []
        tasks = await asyncio.to_thread(self.tasks.for_calls, [r.call_id for r in records])
        earliest = min(r.arrived_at for r in records)
        later = await asyncio.to_thread(self.tasks.answered_since, [r.caller_number for r in records
                                                                   if dialable(r.caller_number)], earliest)
        return [abandoned_item(r, tasks.get(r.call_id), later.get(r.caller_number, []), full=full) for r in records]

    # -- sending -------------------------------------------------------------------------------
    async def _action(self, action: dict[str, str]) -> dict[str, Any]:
        return await self._ami.act(action, timeout=self._timeout)


def _request_of(record: CallRecord) -> tuple[str, str | None, str] | None:
    """(number, queue, reason) of a ``callback_requested`` record; None when the number is not dialable."""
    if not dialable(record.caller_number):
        return None
    info = record.extra.get("callback")
    info = info if isinstance(info, dict) else {}
    return record.caller_number, info.get("queue") or record.queue, str(info.get("reason") or "key")


def abandoned_item(record: CallRecord, task: CallbackTask | None, answered_at: list[datetime], *,
                   full: bool) -> dict[str, Any]:
    """One row of ``GET /api/abandoned``. Pure."""
    later = sorted(t for t in answered_at if t > record.arrived_at + timedelta(seconds=0))
    return {
        "call_id": record.call_id,
        "arrived_at": record.arrived_at.isoformat(),
        "ended_at": record.ended_at.isoformat() if record.ended_at else None,
        "outcome": record.outcome.value,
        "queue": record.queue,
        "dialled_number": record.dialled_number,
        "caller_number": record.caller_number if full else mask_number(record.caller_number),
        "wait_seconds": record.wait_seconds,
        "callback": None if task is None else {"id": task.id, "status": task.status.value, "kind": task.kind.value,
                                               "attempts": task.attempts},
        "served_later": bool(later),
        "served_later_at": later[0].isoformat() if later else None,
        "dialable": dialable(record.caller_number),
    }
