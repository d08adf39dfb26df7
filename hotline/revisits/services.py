"""The 回访 service: tasks from verified orders, tries placed through Asterisk, ratings to orders.

Why at ``verify``: the lifecycle (:mod:`hotline.work_orders.lifecycle`) is reply (答复, the unit)
-> verify (回访核实/审核, the centre; a poor reply is sent back instead) -> evaluate (the caller's
rating: 满意/基本满意 close the order, 不满意 reopens it for 重办). The seeds' 回访 is the call in
which the caller rates the result ("12345热线平台对办结事项逐一回访核实，由来电人…进行满意度评价"),
and ``evaluate`` is taken only from ``verified``: so a task is made for each ``verify`` event
(a reopened order replied and verified again gets a new one), and its rating is that ``evaluate``.

:meth:`RevisitService.tick` (run every few seconds by :meth:`run`, on the injected clock ``now``:
the work-order service's, which a test moves) does, in order: make the tasks of verified orders
that have none (skipped for a confidential order, a refused number, a number the outbound rule
refuses (audited), no number); supersede open tasks whose order left ``verified``; count lost
tries as failed; dial what :func:`hotline.revisits.schedule.to_dial` picks (quiet hours, the cap).

A try ends with its call record (:meth:`on_record`, every record the controller writes, live or
rebuilt from the CEL log): its result moves the task (:func:`hotline.revisits.model.finish`), and
a rating is applied to the order as ``evaluate`` by the actor ``revisit`` (role seat: the centre's
automatic 回访), with the try's call id, tries and keys in the event's fields. Every step is
idempotent: a replayed record is not the current try and changes nothing.
"""

from __future__ import annotations

import asyncio
import builtins
import datetime as dt
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from hotline.ami import actions
from hotline.ami.port import AmiPort
from hotline.background import Background, Duty, every, runs_here
from hotline.audit.services import AuditEntry, AuditService
from hotline.config.site import SiteConfig
from hotline.exceptions import AsteriskActionFailed, CallControlUnavailable, HotlineError, InvalidRequest, StoreError
from hotline.privacy import mask_number
from hotline.records.call import CallRecord
from hotline.revisits import model, rules, schedule
from hotline.revisits.errors import NoSuchRevisit, NumberNotAllowed, RevisitClaimed, RevisitClosed
from hotline.revisits.model import Status, Task, TryResult
from hotline.revisits.store import Candidate, RevisitStore
from hotline.spine import marks
from hotline.store import Store
from hotline.work_orders.services import WorkOrderService
from hotline.work_orders.transitions import Actor

log = logging.getLogger(__name__)
T = TypeVar("T")

REVISIT_ACTOR = Actor("revisit", "seat")
"""Who applies a rating pressed on a 回访 call: the centre's automatic 回访 (role seat, the
lifecycle's ``evaluate`` is the centre's)."""
SYSTEM_USER = "system"


class RevisitService:
    RETRY_FIRST_S = 1.0    # a database error while taking a record: retried, doubling up to RETRY_MAX_S
    RETRY_MAX_S = 30.0

    duty: Duty | None = None   # set by the composition root when several controllers share the store

    def __init__(self, site: SiteConfig, store: Store, ami: AmiPort, orders: WorkOrderService, audit: AuditService,
                 *, now: Callable[[], dt.datetime] | None = None, action_timeout: float = 5.0) -> None:
        self._site = site
        self._cfg = site.revisits
        self._tz = ZoneInfo(site.site.timezone)
        self._now = now or orders.now
        self._orders = orders
        self._audit = audit
        self._ami = ami
        self._timeout = action_timeout
        self.tasks = RevisitStore(store)
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._early: list[CallRecord] = []
        self._early_lock = threading.Lock()
        self._background = Background(log, "回访 bookkeeping")
        self.stats = {"ticks": 0, "placed": 0, "refused": 0, "rated": 0}

    def now(self) -> dt.datetime:
        return self._now()

    def verdict(self, number: str | None) -> rules.Verdict:
        return rules.check(number, area_code=self._cfg.area_code, deny_prefixes=self._cfg.deny_prefixes)

    # --- the controller's side ---------------------------------------------------------------
    def start(self) -> None:
        with self._early_lock:
            self._loop = asyncio.get_running_loop()
            early, self._early = self._early, []
        for record in early:
            self._background.spawn(self._record(record))

    async def stop(self) -> None:
        await self._background.stop()

    async def settle(self) -> None:
        """Wait for the records handed over so far to be taken into account."""
        await self._background.settle()

    async def run(self, interval: float = 5.0) -> None:
        """:meth:`tick` every ``interval`` seconds until cancelled; a failing tick is logged."""
        await every(interval, self.tick, log, "回访 tick", self.duty)

    def status(self) -> dict[str, Any]:
        return {"ok": True, "enabled": self._cfg.enabled, **self.stats, "runs_here": runs_here(self.duty)}

    async def tick(self) -> list[Task]:
        """One round (see the module's docstring); the tasks dialled."""
        await self.seed()
        now = self.now()
        async with self._lock:
            open_tasks = await asyncio.to_thread(self.tasks.open_tasks)
            states = await asyncio.to_thread(self.tasks.order_states, [t.work_order_id for t in open_tasks])
            for t in open_tasks:
                state, no_revisit = states.get(t.work_order_id, (None, False))
                if t.status is not Status.with_seat and state != "verified":
                    await asyncio.to_thread(self.tasks.apply, t.id, lambda x: model.supersede(x, now))
                elif no_revisit and t.status in (Status.pending, Status.claimed):
                    await asyncio.to_thread(self.tasks.apply, t.id, lambda x: model.skip(x, "no_revisit", now))
            ring = dt.timedelta(seconds=self._cfg.ring_seconds)
            overdue = schedule.lost(open_tasks, now, ring)
            live = await self._live_accounts() if overdue else None
            for t in overdue:
                if live is not None and t.number and marks.revisit_account(t.id, t.attempts, t.number) not in live:
                    await self._finish(t.id, TryResult(f"lost-{t.id}-{t.attempts}", t.attempts, "lost"))
            if not self._cfg.enabled:
                self.stats["ticks"] += 1
                return []
            current = await asyncio.to_thread(self.tasks.open_tasks)
            chosen = schedule.to_dial(current, now, hours=self._cfg.hours, tz=self._tz,
                                      max_concurrent=self._cfg.max_concurrent)
            placed = [await self._place(t) for t in chosen]
        self.stats["ticks"] += 1
        return placed

    async def _live_accounts(self) -> set[str] | None:
        """The accountcodes of Asterisk's live channels (a try still talking, e.g. to a seat, is not
        lost); None when Asterisk cannot be asked (then nothing is declared lost)."""
        try:
            response = await self._ami.ask(actions.core_show_channels(), as_list=True, timeout=self._timeout)
        except (CallControlUnavailable, AsteriskActionFailed):
            return None
        messages = response if isinstance(response, list) else [response]
        return {str(m.get("AccountCode") or "") for m in messages if m.get("Event") == "CoreShowChannel"}

    async def seed(self) -> list[Task]:
        """The tasks of verified orders that have none yet."""
        made: list[Task] = []
        for candidate in await asyncio.to_thread(self.tasks.candidates):
            number, reason = await self._decide(candidate)
            task = await asyncio.to_thread(self.tasks.create, candidate, number=number, skip_reason=reason,
                                           max_attempts=self._cfg.tries, now=self.now())
            if task is not None:
                made.append(task)
                log.info("回访 task %d for %s: %s", task.id, task.work_order_id, reason or "pending")
        return made

    async def _decide(self, c: Candidate) -> tuple[str | None, str | None]:
        """(number to dial, skip reason) of a candidate."""
        if c.no_revisit:
            return None, "no_revisit"
        if c.confidential and self._cfg.skip_confidential:
            return None, "confidential"
        if not c.caller_number or c.caller_number == "anonymous":
            return None, "no_number"
        verdict = self.verdict(c.caller_number)
        if verdict.dial is None:
            await self._audit_refusal(SYSTEM_USER, "system", c.work_order_id, c.caller_number, verdict.reason)
            return None, "number_not_allowed"
        if await asyncio.to_thread(self.tasks.refused, verdict.dial):
            return verdict.dial, "refused"
        return verdict.dial, None

    async def _place(self, task: Task) -> Task:
        now = self.now()
        if task.number is None:
            return task
        task = await asyncio.to_thread(self.tasks.apply, task.id, lambda t: model.dial(t, now))
        assert task.number is not None
        action = actions.revisit_call(task.number, trunk=self._site.trunks[0].name, task=task.id,
                                      attempt=task.attempts, order_id=task.work_order_id,
                                      ring_seconds=self._cfg.ring_seconds,
                                      hotline_number=self._site.site.hotline_number)
        try:
            await self._ami.act(action, timeout=self._timeout)
        except (CallControlUnavailable, AsteriskActionFailed) as exc:
            log.warning("回访 task %d: try %d not placed: %s", task.id, task.attempts, exc.message)
            return await self._finish(task.id, TryResult(f"originate-{task.id}-{task.attempts}", task.attempts,
                                                         "failed"))
        self.stats["placed"] += 1
        log.info("回访 task %d: try %d/%d to %s", task.id, task.attempts, task.max_attempts, mask_number(task.number))
        return task

    async def _finish(self, task_id: int, result: TryResult) -> Task:
        spacing = dt.timedelta(minutes=self._cfg.spacing_minutes)
        now = self.now()

        def step(t: Task) -> Task:
            if not model.is_current(t, result):
                raise model.InvalidStep(t.status, f"try {result.attempt} ({result.call_id}): not the current one")
            return model.finish(t, result, now, spacing)
        return await asyncio.to_thread(self.tasks.apply, task_id, step)

    # --- records (any thread) -----------------------------------------------------------------
    def on_record(self, record: CallRecord) -> None:
        """Every record the controller writes passes here (from the loop or a worker thread)."""
        if not isinstance(record.extra.get("revisit"), dict):
            return
        with self._early_lock:
            loop = self._loop
            if loop is None:
                self._early.append(record)
                return
        if not loop.is_closed():
            loop.call_soon_threadsafe(lambda: self._background.spawn(self._record(record)))

    async def _record(self, record: CallRecord) -> None:
        info = record.extra["revisit"]
        try:
            result = TryResult(call_id=record.call_id, attempt=int(info["try"]), result=str(info["result"]),
                               keys=",".join(str(k) for k in info.get("keys") or ()), rating=info.get("rating"))
            task_id = int(info["task"])
        except (KeyError, TypeError, ValueError):
            log.warning("回访 record %s: unreadable extra.revisit %r", record.call_id, info)
            return
        async def finish() -> Task | None:
            async with self._lock:
                try:
                    return await self._finish(task_id, result)
                except (NoSuchRevisit, model.InvalidStep) as exc:
                    log.info("回访 record %s: %s", record.call_id, exc)
                    return None
        task = await self._retrying(finish)
        if task is None:
            return
        log.info("回访 task %d: try %d %s -> %s", task.id, result.attempt, result.result, task.status.value)
        if result.result == "rated" and task.rating is not None:   # pressed on the call (not a seat's)
            await self._retrying(lambda: self._evaluate(task, REVISIT_ACTOR, record.call_id))

    async def _retrying(self, make: Callable[[], Awaitable[T]]) -> T:
        """``make()`` until the database answers (a record's effect is never dropped: its try
        would otherwise count as lost and the caller be called again)."""
        delay = self.RETRY_FIRST_S
        while True:
            try:
                return await make()
            except StoreError as exc:
                log.warning("回访 bookkeeping failed (%s); retrying in %.0f s", exc.message, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.RETRY_MAX_S)

    @staticmethod
    def _fields(task: Task, call_id: str | None) -> dict[str, Any]:
        """The ``evaluate`` event's fields: the rating, and the try's call and keys."""
        return {"rating": task.rating, "revisit": {"task": task.id, "call_id": call_id, "tries": task.attempts,
                                                  "keys": task.keys, "seat": task.seat}}

    async def _evaluate(self, task: Task, actor: Actor, call_id: str | None) -> None:
        try:
            await self._orders.act(task.work_order_id, "evaluate", actor, self._fields(task, call_id))
        except StoreError:
            raise
        except HotlineError as exc:   # the order moved meanwhile (evaluated by hand, sent back...)
            log.warning("回访 task %d: rating %s not applied to %s: %s", task.id, task.rating, task.work_order_id,
                        exc.message)
            return
        self.stats["rated"] += 1

    # --- API --------------------------------------------------------------------------------------
    async def list(self, status: str | None, work_order_id: str | None, limit: int) -> list[Task]:
        chosen = None
        if status is not None:
            try:
                chosen = Status(status)
            except ValueError:
                raise InvalidRequest("status", f"one of {', '.join(s.value for s in Status)}", status) from None
        return await asyncio.to_thread(self.tasks.list, status=chosen, work_order_id=work_order_id, limit=limit)

    async def get(self, task_id: int) -> Task:
        return await asyncio.to_thread(self.tasks.get, task_id)

    async def rate(self, task_id: int, rating: str, actor: Actor) -> Task:
        """A seat records the caller's rating (a task taken by hand, or a caller who pressed 0);
        the task's rating and the order's ``evaluate`` by that seat commit in one transaction (or,
        refused, e.g. the order moved meanwhile, neither)."""
        now = self.now()

        def step(t: Task) -> Task:
            self._holder_check(t, actor)
            return model.rate_by_hand(t, rating, actor.name, now)

        def evaluate(session: Session, t: Task) -> None:
            self._orders.act_in(session, t.work_order_id, "evaluate", actor, self._fields(t, None))
        async with self._lock:
            try:
                task = await asyncio.to_thread(self.tasks.apply, task_id, step, evaluate)
            except model.InvalidStep as exc:
                raise RevisitClosed(task_id, exc.status.value, "a rating") from None
        self._orders.poke()
        self.stats["rated"] += 1
        return task

    async def claim(self, task_id: int, actor: Actor) -> Task:
        """A seat takes a pending task by hand: the dialler leaves it alone until released."""
        now = self.now()
        async with self._lock:
            try:
                return await asyncio.to_thread(self.tasks.apply, task_id, lambda t: model.claim(t, actor.name, now))
            except model.InvalidStep as exc:
                raise RevisitClosed(task_id, exc.status.value, "a claim") from None

    async def release(self, task_id: int, actor: Actor) -> Task:
        """A claimed task goes back to the dialler (by the seat that claimed it, or a supervisor)."""
        now = self.now()

        def step(t: Task) -> Task:
            self._holder_check(t, actor)
            return model.release(t, now)
        async with self._lock:
            try:
                return await asyncio.to_thread(self.tasks.apply, task_id, step)
            except model.InvalidStep as exc:
                raise RevisitClosed(task_id, exc.status.value, "a release") from None

    @staticmethod
    def _holder_check(task: Task, actor: Actor) -> None:
        """A task another seat claimed: only that seat, a supervisor or an admin acts on it."""
        if task.status is Status.claimed and task.seat != actor.name and actor.role == "seat":
            raise RevisitClaimed(task.id, task.seat)

    async def check_number(self, number: str, *, user: str, role: str, work_order_id: str | None) -> str:
        """The digits a 回访 may dial for ``number``; refused with ``number-not-allowed``, audited."""
        verdict = self.verdict(number)
        if verdict.dial is None:
            reason = verdict.reason or "not_a_number"
            await self._audit_refusal(user, role, work_order_id, number, reason)
            raise NumberNotAllowed(number, reason)
        return verdict.dial

    async def renumber(self, task_id: int, number: str, actor: Actor) -> Task:
        """The number a task dials from now on (checked by the outbound rule and the refusal list)."""
        dial = await self.check_number(number, user=actor.name, role=actor.role, work_order_id=None)
        if await asyncio.to_thread(self.tasks.refused, dial):
            await self._audit_refusal(actor.name, actor.role, None, number, "refused")
            raise NumberNotAllowed(number, "refused")
        now = self.now()
        async with self._lock:
            try:
                return await asyncio.to_thread(self.tasks.apply, task_id, lambda t: model.renumber(t, dial, now))
            except model.InvalidStep as exc:
                raise RevisitClosed(task_id, exc.status.value, "a new number") from None

    async def refuse(self, number: str, *, user: str, role: str, reason: str) -> dict[str, Any]:
        """Put a number on the refusal list (the caller refused 回访 calls): never dialled again."""
        dial = await self.check_number(number, user=user, role=role, work_order_id=None)
        added = await asyncio.to_thread(self.tasks.refuse, dial, by=user, reason=reason, now=self.now())
        return {"number": dial, "added": added}

    async def refusals(self, limit: int) -> builtins.list[dict[str, str]]:
        return await asyncio.to_thread(self.tasks.refusals, limit)

    async def _audit_refusal(self, user: str, role: str, order_id: str | None, number: str, reason: str | None) -> None:
        self.stats["refused"] += 1
        entry = AuditEntry(user=user, role=role, action="revisits.number-refused",
                           target=f"work_order:{order_id}" if order_id else None,
                           detail={"number": mask_number(number), "reason": reason}, status=422)
        try:
            await self._audit.record(entry)
        except Exception:   # an audit write never fails the refusal itself
            log.exception("audit of a refused 回访 number failed")
