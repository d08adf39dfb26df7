"""The monthly unit score service: measured inputs gathered, the rules applied, people's inputs kept.

:meth:`UnitScoreService.month_scores` computes a site month for every member unit
(``orders.units``) from :mod:`hotline.unit_scores.inputs` (the order lifecycle, the dial tests'
:class:`~hotline.unit_scores.inputs.UnreachableCounts` and the knowledge base's
:class:`~hotline.unit_scores.inputs.KnowledgeSource` when the composition root gives them) and
:mod:`hotline.unit_scores.store` (manual 知识库 points, exemptions, 轮值 attendance), ranks them
(:func:`hotline.unit_scores.rules.score_month`) and flags 约谈 from the months before. Nothing is
cached: a past month computed again reflects what changed since (an order closed late, an
exemption), and ``as_of`` says when it was computed; a month not over yet is ``provisional``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hotline.config.site import SiteConfig
from hotline.exceptions import DateOutsideCalendar, InvalidRequest
from hotline.store import Store
from hotline.unit_scores import rules
from hotline.unit_scores.errors import InvalidMonth, NoSuchUnit
from hotline.unit_scores.inputs import KnowledgeFacts, KnowledgeSource, Month, UnreachableCounts, lifecycle_inputs
from hotline.unit_scores.rules import Knowledge, UnitInputs, UnitScore
from hotline.unit_scores.store import ATTENDANCE, KNOWLEDGE_BASE, UnitScoreStore
from hotline.work_orders.services import WorkOrderService
from hotline.work_orders.workdays import WorkingCalendar


class UnitScoreService:
    def __init__(self, site: SiteConfig, store: Store, orders: WorkOrderService, *,
                 probes: UnreachableCounts | None = None, knowledge: KnowledgeSource | None = None,
                 now: Callable[[], dt.datetime] | None = None) -> None:
        """``probes``: the duty-phone dial tests (None: the 电话接通率 input is ``unavailable``);
        ``knowledge``: the knowledge base (None: the 知识库 input is manual only);
        ``now``: the clock (default: the order service's, which a test moves)."""
        self._site = site
        self._cfg = site.unit_scores
        self._units = [(u.id, u.name) for u in site.orders.units]
        self._store = store
        self._orders = orders
        self._probes = probes
        self._knowledge = knowledge
        self._now = now or orders.now
        self._tz = ZoneInfo(site.site.timezone)
        self._calendar = WorkingCalendar(site.orders.calendar)
        self.entered = UnitScoreStore(store, self._tz)

    @property
    def timezone(self) -> ZoneInfo:
        return self._tz

    @property
    def report_font(self) -> Path | None:
        return self._cfg.report_font

    def now(self) -> dt.datetime:
        return self._now().astimezone(self._tz)

    def unit_name(self, unit: str) -> str:
        """The unit's name; ``no-such-unit`` when it is not a member unit."""
        for uid, name in self._units:
            if uid == unit:
                return name
        raise NoSuchUnit(unit)

    def month(self, value: str | None) -> Month:
        """The month asked (default: the last month over), begun already (a future month has no data)."""
        if value is None:
            return Month(self.now().year, self.now().month, self._tz).previous()
        month = Month.parse(value, self._tz)
        if month.start > self.now():
            raise InvalidMonth(value, "a month that has begun (site time)")
        return month

    # --- computing ----------------------------------------------------------------------------
    async def _inputs(self, month: Month) -> list[UnitInputs]:
        lifecycle = self._orders.lifecycle
        kpis = await asyncio.to_thread(lifecycle.kpis, "unit", self._tz, since=month.start, until=month.end)
        overdue, sent_back, unsatisfied = await asyncio.to_thread(lifecycle_inputs, self._store, month)
        manual = await asyncio.to_thread(self.entered.manual, month.label, KNOWLEDGE_BASE)
        exemptions = await asyncio.to_thread(self.entered.exemptions, month.label)
        absences = await asyncio.to_thread(self.entered.absences, month.label)
        probes = None if self._probes is None else await self._probes.unreachable_counts(month.year, month.month)
        kb = None if self._knowledge is None else await self._knowledge.unit_facts(month.start, month.end)
        out = []
        for unit, name in self._units:
            k = kpis.get(unit)
            out.append(UnitInputs(
                unit=unit, name=name, knowledge_base=manual.get(unit),
                knowledge=None if kb is None else _knowledge(kb.get(unit)),
                unreachable=None if probes is None else int(probes.get(unit, 0)),
                dispatched=k.dispatched if k else 0, returned=k.returned if k else 0, closed=k.closed if k else 0,
                overdue=tuple(overdue.get(unit, ())), sent_back=tuple(sent_back.get(unit, ())),
                unsatisfied=tuple(unsatisfied.get(unit, ())), exemptions=tuple(exemptions.get(unit, ())),
                absences=tuple(absences.get(unit, ()))))
        return out

    async def _scores(self, month: Month) -> list[UnitScore]:
        return rules.score_month(self._cfg, await self._inputs(month))

    async def month_scores(self, month: Month) -> tuple[dict[str, Any], list[UnitScore]]:
        """The month's header and every unit's score, ranked, with the 约谈 flag."""
        scores = await self._scores(month)
        earlier: list[tuple[str, set[str]]] = []
        before = month
        for _ in range(self._cfg.ranking.months - 1):
            before = before.previous()
            earlier.append((before.label, {s.unit for s in await self._scores(before) if s.bottom}))
        rules.interviews(scores, month.label, earlier, self._cfg.ranking.months)
        now = self.now()
        header = {"month": month.label, "timezone": self._tz.key, "start": month.start.isoformat(),
                  "end": month.end.isoformat(), "as_of": now.isoformat(), "provisional": now < month.end,
                  "working_days": self._working_days(month), "units_ranked": len(scores),
                  "rule_table": [{"id": rid, "name": name, "max": self._cfg.max_points()[rid],
                                  "source": rules.SOURCES[rid]} for rid, name in rules.RULES],
                  "ranking": {"bottom": self._cfg.ranking.bottom, "months": self._cfg.ranking.months}}
        return header, scores

    async def unit_score(self, unit: str, month: Month) -> dict[str, Any]:
        """One unit's score with every rule's inputs, its exemptions and 轮值 attendance."""
        self.unit_name(unit)
        header, scores = await self.month_scores(month)
        mine = next(s for s in scores if s.unit == unit)
        exemptions = await asyncio.to_thread(self.entered.exemptions, month.label)
        attendance = await asyncio.to_thread(self.entered.attendance, month.label)
        return {**header, **mine.to_dict(),
                "exemptions": [e.to_dict() for e in exemptions.get(unit, [])],
                "attendance": [{"date": d, "status": s, "note": n, "by": b}
                               for d, (s, n, b) in sorted(attendance.get(unit, {}).items())]}

    def _working_days(self, month: Month) -> int | None:
        first = month.start.date()
        try:
            return self._calendar.working_days_between(first - dt.timedelta(days=1),
                                                       month.end.date() - dt.timedelta(days=1))
        except DateOutsideCalendar:
            return None

    # --- what people enter (supervisors; audited by the API's audit middleware) --------------------
    async def set_knowledge_base(self, unit: str, month: Month, points: float, note: str, by: str) -> dict[str, Any]:
        self.unit_name(unit)
        top = self._cfg.knowledge_base.points
        if not 0 <= points <= top:
            raise InvalidRequest("points", f"0..{top:g} (unit_scores.knowledge_base.points)", points)
        m = await asyncio.to_thread(self.entered.set_manual, unit, month.label, KNOWLEDGE_BASE, points, note, by,
                                    self.now())
        return {"unit": unit, "month": month.label, "rule": "knowledge_base", "points": m.points, "note": m.note,
                "by": m.by, "at": m.at, "status": "manual"}

    async def exempt(self, unit: str, month: Month, rule: str, order_id: str, reason: str, by: str) -> dict[str, Any]:
        self.unit_name(unit)
        if rule not in rules.EXEMPTABLE:
            raise InvalidRequest("rule", f"one of {', '.join(rules.EXEMPTABLE)}", rule)
        e = await asyncio.to_thread(self.entered.add_exemption, unit, month.label, rule, order_id, reason, by,
                                    self.now())
        return {"unit": unit, "month": month.label, **e.to_dict()}

    async def attend(self, unit: str, day: dt.date, status: str, note: str, by: str) -> dict[str, Any]:
        self.unit_name(unit)
        if status not in ATTENDANCE:
            raise InvalidRequest("status", f"one of {', '.join(ATTENDANCE)}", status)
        if day > self.now().date():
            raise InvalidRequest("date", "a day that has come (site time)", day.isoformat())
        await asyncio.to_thread(self.entered.set_attendance, unit, day, status, note, by, self.now())
        return {"unit": unit, "date": day.isoformat(), "month": day.strftime("%Y-%m"), "status": status,
                "note": note, "by": by}


def _knowledge(facts: KnowledgeFacts | None) -> Knowledge:
    if facts is None:
        return Knowledge(entries=0)
    return Knowledge(entries=facts.entries, stale=tuple(facts.stale), expired=tuple(facts.expired),
                     updated=facts.updated)
