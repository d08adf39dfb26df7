"""The duty-phone test service: probes planned in the windows, tries placed through Asterisk,
不通 events recorded, the month's results.

:meth:`DutyProbeService.tick` (run every few seconds by :meth:`run`, on the injected clock ``now``:
the work-order service's, which a test moves) does, in order: plan the probes of the windows not
over yet (:mod:`hotline.duty_probes.schedule`; a duty phone the outbound rule of
:mod:`hotline.revisits.rules` refuses makes a ``skipped`` probe, audited with the error
``duty-phone-not-allowed``); count lost tries as failed; then, with ``duty_probes.enabled``, dial
what :func:`~hotline.duty_probes.schedule.to_dial` picks, except a probe whose number is in a live
call with 12345 (Asterisk's channels: caller, connected line or extension), which is postponed; when
Asterisk cannot be asked nothing is dialled.

A try ends with its call record (:meth:`on_record`, every record the controller writes, live or
rebuilt from the CEL log): its result moves the probe (:func:`hotline.duty_probes.model.finish`);
the last failure makes the 不通 event. A replayed record is not the current try and changes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

from hotline.ami import actions
from hotline.ami.port import AmiPort
from hotline.audit.services import AuditEntry, AuditService
from hotline.background import Background, Duty, every, runs_here
from hotline.config.site import SiteConfig
from hotline.duty_probes import model, schedule
from hotline.duty_probes.errors import DutyPhoneNotAllowed, NoSuchProbe, NoSuchUnit
from hotline.duty_probes.model import Probe, TryResult
from hotline.duty_probes.schedule import Phone, Planned
from hotline.duty_probes.store import DutyProbeStore
from hotline.exceptions import AsteriskActionFailed, CallControlUnavailable, StoreError
from hotline.privacy import mask_number
from hotline.records.call import CallRecord
from hotline.revisits import rules
from hotline.spine import marks
from hotline.store import Store

log = logging.getLogger(__name__)
SYSTEM_USER = "system"
UNPLACED_RETRY = dt.timedelta(minutes=1)   # Asterisk could not be asked: the same try a minute later


class DutyProbeService:
    RETRY_FIRST_S = 1.0    # a database error while taking a record: retried, doubling up to RETRY_MAX_S
    RETRY_MAX_S = 30.0

    duty: Duty | None = None   # set by the composition root when several controllers share the store

    def __init__(self, site: SiteConfig, store: Store, ami: AmiPort, audit: AuditService, *,
                 now: Callable[[], dt.datetime] | None = None, rng: random.Random | None = None,
                 action_timeout: float = 5.0) -> None:
        self._site = site
        self._cfg = site.duty_probes
        self._tz = ZoneInfo(site.site.timezone)
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self._rng = rng or random.Random()
        self._ami = ami
        self._audit = audit
        self._timeout = action_timeout
        self.probes = DutyProbeStore(store)
        self._phones = {u.id: schedule.phones_of(i, u, site.departments) for i, u in enumerate(site.orders.units)}
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._early: list[CallRecord] = []
        self._early_lock = threading.Lock()
        self._background = Background(log, "duty-phone bookkeeping")
        self.stats = {"ticks": 0, "placed": 0, "postponed": 0, "refused": 0, "unreachable": 0}

    def now(self) -> dt.datetime:
        return self._now()

    @property
    def timezone(self) -> ZoneInfo:
        return self._tz

    def verdict(self, number: str | None) -> rules.Verdict:
        r = self._site.revisits   # the site's one outbound number rule
        return rules.check(number, area_code=r.area_code, deny_prefixes=r.deny_prefixes)

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
        await every(interval, self.tick, log, "duty-phone tick", self.duty)

    def status(self) -> dict[str, Any]:
        return {"ok": True, "enabled": self._cfg.enabled, **self.stats, "runs_here": runs_here(self.duty)}

    async def tick(self) -> list[Probe]:
        """One round (see the module's docstring); the probes dialled."""
        if not self._cfg.enabled:
            self.stats["ticks"] += 1
            return []
        await self.plan()
        now = self.now()
        placed: list[Probe] = []
        async with self._lock:
            open_probes = await asyncio.to_thread(self.probes.open_probes)
            overdue = schedule.lost(open_probes, now, dt.timedelta(seconds=self._cfg.ring_seconds))
            live = await self._live_channels() if overdue else None
            for p in overdue:
                if live is not None and p.number and not any(a == self._account(p) for a, _ in live):
                    await self._finish(p.id, TryResult(f"lost-{p.id}-{p.attempts}", p.attempts, "lost"))
            current = await asyncio.to_thread(self.probes.open_probes)
            chosen = schedule.to_dial(current, now, max_concurrent=self._cfg.max_concurrent)
            live = await self._live_channels() if chosen else None
            if live is not None:
                busy = {n for a, n in live if not a.startswith(marks.DUTY_PROBE_ACCOUNT_PREFIX)}
                for p in chosen:
                    placed.append(await (self._postpone(p) if p.number in busy else self._place(p)))
        self.stats["ticks"] += 1
        return [p for p in placed if p.status is model.Status.dialling]

    @staticmethod
    def _account(p: Probe) -> str:
        return marks.duty_probe_account(p.id, p.attempts, p.number or "")

    async def _live_channels(self) -> list[tuple[str, str]] | None:
        """(accountcode, number) of every party of Asterisk's live channels: caller, connected line
        and extension, each in the outbound rule's dialled form; None when Asterisk cannot be asked."""
        try:
            response = await self._ami.ask(actions.core_show_channels(), as_list=True, timeout=self._timeout)
        except (CallControlUnavailable, AsteriskActionFailed):
            return None
        messages = response if isinstance(response, list) else [response]
        out: list[tuple[str, str]] = []
        for m in messages:
            if m.get("Event") != "CoreShowChannel":
                continue
            account = str(m.get("AccountCode") or "")
            for key in ("CallerIDNum", "ConnectedLineNum", "Exten"):
                raw = str(m.get(key) or "")
                dial = self.verdict(raw).dial if raw else None
                out.append((account, dial or raw))
        return out

    async def plan(self) -> list[Probe]:
        """The probes of the windows not over yet that are not planned yet."""
        now = self.now()
        made: list[Probe] = []
        units = [(u, p) for u, p in self._phones.items() if p]
        for position, window in enumerate(self._cfg.windows):
            for day, w in schedule.open_windows(now, [window], self._tz):
                done = await asyncio.to_thread(self.probes.planned_slots, day, w.name)
                todo = [(u, p) for u, p in units if u not in done]
                for planned in schedule.plan(todo, day, w, position, self._tz, now, self._rng):
                    probe = await self._create(planned, now)
                    if probe is not None:
                        made.append(probe)
        return made

    async def _create(self, planned: Planned, now: dt.datetime) -> Probe | None:
        verdict = self.verdict(planned.phone.number)
        reason = None if verdict.dial is not None else "number_not_allowed"
        probe = await asyncio.to_thread(self.probes.create, planned, number=verdict.dial, skip_reason=reason,
                                        max_attempts=self._cfg.tries, now=now)
        if probe is not None and reason is not None:
            await self._audit_refusal(planned.unit_id, planned.phone, verdict.reason or "not_a_number")
        return probe

    async def _postpone(self, p: Probe) -> Probe:
        now, delay = self.now(), dt.timedelta(minutes=self._cfg.postpone_minutes)
        self.stats["postponed"] += 1
        log.info("duty-phone probe %d of %s: the number is in a call with 12345, postponed", p.id, p.unit_id)
        return await asyncio.to_thread(self.probes.apply, p.id, lambda x: model.postpone(x, now, delay))

    async def _place(self, p: Probe) -> Probe:
        now = self.now()
        p = await asyncio.to_thread(self.probes.apply, p.id, lambda x: model.dial(x, now))
        assert p.number is not None
        action = actions.duty_probe_call(p.number, trunk=self._site.trunks[0].name, probe=p.id, attempt=p.attempts,
                                         ring_seconds=self._cfg.ring_seconds,
                                         hotline_number=self._site.site.hotline_number)
        try:
            await self._ami.act(action, timeout=self._timeout)
        except (CallControlUnavailable, AsteriskActionFailed) as exc:
            log.warning("duty-phone probe %d: try %d not placed: %s", p.id, p.attempts, exc.message)
            return await asyncio.to_thread(self.probes.apply, p.id,
                                           lambda x: model.unplaced(x, self.now(), UNPLACED_RETRY))
        self.stats["placed"] += 1
        log.info("duty-phone probe %d of %s: try %d/%d to %s", p.id, p.unit_id, p.attempts, p.max_attempts,
                 mask_number(p.number))
        return p

    async def _finish(self, probe_id: int, result: TryResult) -> Probe:
        spacing, now = dt.timedelta(minutes=self._cfg.spacing_minutes), self.now()
        probe = await asyncio.to_thread(self.probes.apply, probe_id,
                                        lambda p: model.finish(p, result, now, spacing))
        if probe.status is model.Status.unreachable:
            self.stats["unreachable"] += 1
            log.warning("duty-phone probe %d: %s unreachable after %d tries (不通)", probe.id, probe.unit_id,
                        probe.attempts)
        return probe

    # --- records (any thread) -----------------------------------------------------------------
    def on_record(self, record: CallRecord) -> None:
        """Every record the controller writes passes here (from the loop or a worker thread)."""
        if not isinstance(record.extra.get("duty_probe"), dict):
            return
        with self._early_lock:
            loop = self._loop
            if loop is None:
                self._early.append(record)
                return
        if not loop.is_closed():
            loop.call_soon_threadsafe(lambda: self._background.spawn(self._record(record)))

    async def _record(self, record: CallRecord) -> None:
        info = record.extra["duty_probe"]
        try:
            result = TryResult(call_id=record.call_id, attempt=int(info["try"]), result=str(info["result"]))
            probe_id = int(info["probe"])
        except (KeyError, TypeError, ValueError):
            log.warning("duty-phone record %s: unreadable extra.duty_probe %r", record.call_id, info)
            return

        async def finish() -> Probe | None:
            async with self._lock:
                try:
                    return await self._finish(probe_id, result)
                except (NoSuchProbe, model.InvalidStep, ValueError) as exc:
                    log.info("duty-phone record %s: %s", record.call_id, exc)
                    return None
        await self._retrying(finish)

    async def _retrying(self, make: Callable[[], Awaitable[Probe | None]]) -> Probe | None:
        """``make()`` until the database answers (a record's effect is never dropped)."""
        delay = self.RETRY_FIRST_S
        while True:
            try:
                return await make()
            except StoreError as exc:
                log.warning("duty-phone bookkeeping failed (%s); retrying in %.0f s", exc.message, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.RETRY_MAX_S)

    # --- results ---------------------------------------------------------------------------------
    def unit_ids(self) -> list[str]:
        return [u.id for u in self._site.orders.units]

    async def month(self, year: int, month: int, unit_id: str | None) -> list[dict[str, Any]]:
        """Per unit (one, or every unit): the month's probes (by their drawn time, site time),
        tries, answered probes and 不通 events with their times, and refused duty phones."""
        if unit_id is not None and unit_id not in self._phones:
            raise NoSuchUnit(unit_id)
        start, end = schedule.month_span(year, month, self._tz)
        probes = await asyncio.to_thread(self.probes.between, start, end, unit_id)
        units = [unit_id] if unit_id is not None else self.unit_ids()
        return [self._summary(u, [p for p in probes if p.unit_id == u]) for u in units]

    def _summary(self, unit_id: str, probes: Iterable[Probe]) -> dict[str, Any]:
        probes = list(probes)

        def local(at: dt.datetime) -> str:
            return at.astimezone(self._tz).isoformat()
        events = [{"probe": p.id, "at": local(p.ended_at), "number": mask_number(p.number or ""),
                   "tries": [t.get("call_id") for t in p.tries]}
                  for p in probes if p.status is model.Status.unreachable and p.ended_at is not None]
        refused = []
        for phone in self._phones.get(unit_id, []):
            verdict = self.verdict(phone.number)
            if verdict.dial is None:
                refused.append(DutyPhoneNotAllowed(phone.number, verdict.reason or "not_a_number",
                                                   phone.field).to_dict())
        return {"unit": unit_id, "phones": [mask_number(p.number) for p in self._phones.get(unit_id, [])],
                "probes": len(probes), "tries": sum(p.attempts for p in probes),
                "answered": sum(p.status is model.Status.answered for p in probes),
                "unreachable": len(events), "events": events, "refused_phones": refused,
                "items": [{**p.to_dict(full=False), "due_at": local(p.due_at)} for p in probes]}

    async def unreachable_counts(self, year: int, month: int) -> dict[str, int]:
        """Unit id -> the number of 不通 events of that site-time month (probes drawn in it), for
        the monthly unit score (电话接通率: minus 1 per event)."""
        start, end = schedule.month_span(year, month, self._tz)
        return await asyncio.to_thread(self.probes.unreachable_counts, start, end)

    # --- internals ---------------------------------------------------------------------------------
    async def _audit_refusal(self, unit_id: str, phone: Phone, reason: str) -> None:
        self.stats["refused"] += 1
        error = DutyPhoneNotAllowed(phone.number, reason, phone.field)
        log.warning("duty-phone probe of %s not dialled: %s", unit_id, error.message)
        entry = AuditEntry(user=SYSTEM_USER, role="system", action="duty-probes.number-refused",
                           target=f"unit:{unit_id}", detail=error.to_dict(), status=error.http_status)
        try:
            await self._audit.record(entry)
        except Exception:   # an audit write never stops the planning
            log.exception("audit of a refused duty phone failed")

