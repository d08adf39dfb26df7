"""The monthly unit score as pure arithmetic: measured inputs in, each rule's points out.

No clock, no store: :mod:`hotline.unit_scores.inputs` gathers a :class:`UnitInputs` per member unit
for a site month, and :func:`score_month` applies the configured rules (``unit_scores:`` in the
site config, defaults = the Puyang annex), ranks the units and marks the bottom ones. Each rule's
result carries the inputs it was computed from, so the API and the reports show them next to
its points. The rules (README "Unit score"):

* ``knowledge_base`` 知识库: the manual points entered for the unit and month (status ``manual``)
  when there are any; else measured from the knowledge base: ``points`` − ``per`` × the unit's
  entries stale (not updated within ``knowledge.fresh_days``) or expired at the month's end, floor
  0, and 0 for a unit with no entry (未建知识库); no knowledge-base source: 0 points, ``missing``;
* ``phone`` 电话接通率: ``points`` − ``per`` × 不通 events of the duty-phone dial tests, 0 when
  more than ``zero_above``; no dial-test source: 0 points, status ``unavailable``;
* ``on_time`` 按期办结: the same over the unit's overdue orders (exempted ones not counted);
* ``completion`` 办结率: 办结量 / 转办量 × ``points`` (no order given to the unit: full points);
* ``revisit_check`` 回访核实: ``points`` − ``per`` × orders found wanting at 回访核实 (floor 0);
* ``satisfaction`` 满意度: ``points`` − ``per`` × 不满意 evaluations, at most ``max_per_order`` of
  one order counted (its first ones), exempted orders not counted (floor 0);
* adjustments: the highest bonus tier whose ``over_average`` × the units' average closed volume
  the unit's closed volume is over (no bonus when the average is 0); − ``rotation_absence`` per
  轮值 missed without reason.

Ranking: by total, highest first; equal totals share the better rank (1, 2, 2, 4). A unit is in
the bottom ``ranking.bottom`` when its rank is greater than (units ranked − bottom) and it is not
ranked first (a month where every unit ties flags nobody); :func:`interviews` flags a unit in
the bottom for ``ranking.months`` months in a row (约谈).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hotline.config.unit_scores import CompletionBase, CountedRule, UnitScoresSection

RULES: tuple[tuple[str, str], ...] = (
    ("knowledge_base", "知识库"), ("phone", "电话接通率"), ("on_time", "按期办结"), ("completion", "办结率"),
    ("revisit_check", "回访核实"), ("satisfaction", "满意度"))
NAMES = dict(RULES)
EXEMPTABLE = ("on_time", "revisit_check", "satisfaction")
"""The rules whose counted orders a supervisor may exempt (客观因素、依法不能办理、书面说明)."""

SOURCES = {
    "knowledge_base": "knowledge base: the unit's entries stale or expired at the month's end (hotline/knowledge); "
                      "a supervisor's manual points override (POST /api/unit-scores/{unit}/knowledge-base)",
    "phone": "duty-phone dial tests: 不通 events of the month (hotline/duty_probes)",
    "on_time": "order lifecycle: orders whose deadline (due) fell in the month and were flagged overdue "
               "(flag_overdue by the 督办 sweep)",
    "completion": "order lifecycle: assignments dispatched to the unit in the month (work_order_assignments)",
    "revisit_check": "order lifecycle: orders sent back (send_back) at 回访核实 in the month",
    "satisfaction": "order lifecycle: 不满意 evaluations (reopen) in the month, at most max_per_order per order",
}


@dataclass(frozen=True)
class Item:
    """One order counted against a unit: ``at`` the moment (ISO) that counts, ``nth`` its rank
    among the order's items of that kind for the unit (1 for the first)."""

    order_id: str
    at: str
    nth: int = 1
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"work_order_id": self.order_id, "at": self.at, "nth": self.nth, "detail": self.detail}


@dataclass(frozen=True)
class Exemption:
    rule: str
    order_id: str
    reason: str
    by: str
    at: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "work_order_id": self.order_id, "reason": self.reason, "by": self.by,
                "at": self.at}


@dataclass(frozen=True)
class Manual:
    points: float
    note: str
    by: str
    at: str


@dataclass(frozen=True)
class Knowledge:
    """A unit's knowledge base at the month's end: entries standing, the stale and the expired ones
    (entry ids), versions saved in the month."""

    entries: int
    stale: tuple[int, ...] = ()
    expired: tuple[int, ...] = ()
    updated: int = 0

    @property
    def flagged(self) -> list[int]:
        return sorted(set(self.stale) | set(self.expired))


@dataclass(frozen=True)
class Absence:
    day: str
    note: str
    by: str


@dataclass(frozen=True)
class UnitInputs:
    unit: str
    name: str
    knowledge_base: Manual | None = None
    knowledge: Knowledge | None = None          # measured; None: no knowledge-base source
    unreachable: int | None = None             # 不通 events; None: no dial-test source
    dispatched: int = 0
    returned: int = 0
    closed: int = 0
    overdue: tuple[Item, ...] = ()
    sent_back: tuple[Item, ...] = ()
    unsatisfied: tuple[Item, ...] = ()
    exemptions: tuple[Exemption, ...] = ()
    absences: tuple[Absence, ...] = ()

    @property
    def kept(self) -> int:
        return self.dispatched - self.returned


@dataclass(frozen=True)
class RuleScore:
    id: str
    max: float
    points: float
    status: str                  # measured, manual, missing, unavailable
    inputs: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": NAMES[self.id], "max": self.max, "points": self.points,
                "status": self.status, "source": SOURCES[self.id], "inputs": self.inputs}


@dataclass
class UnitScore:
    unit: str
    name: str
    rules: list[RuleScore]
    bonus: float
    bonus_inputs: dict[str, Any]
    rotation: float
    rotation_inputs: dict[str, Any]
    rank: int = 0
    bottom: bool = False
    interview: bool = False
    bottom_months: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return _r(sum(r.points for r in self.rules) + self.bonus + self.rotation)

    @property
    def missing(self) -> list[str]:
        return [r.id for r in self.rules if r.status in ("missing", "unavailable")]

    def to_dict(self) -> dict[str, Any]:
        return {"unit": self.unit, "name": self.name, "total": self.total, "rank": self.rank,
                "bottom": self.bottom, "interview": self.interview, "bottom_months": list(self.bottom_months),
                "complete": not self.missing, "missing": self.missing,
                "rules": [r.to_dict() for r in self.rules],
                "adjustments": [
                    {"id": "bonus", "name": "办结量加分", "points": self.bonus, "inputs": self.bonus_inputs},
                    {"id": "rotation", "name": "轮值", "points": self.rotation, "inputs": self.rotation_inputs}]}


def _r(value: float) -> float:
    return round(value + 0.0, 2)


def counted(rule: CountedRule, count: int) -> float:
    """``points`` − ``per`` × ``count`` (floor 0), and 0 when ``count`` is over ``zero_above``."""
    if rule.zero_above is not None and count > rule.zero_above:
        return 0.0
    return _r(max(0.0, rule.points - rule.per * count))


def _split(items: Sequence[Item], exempt: set[str]) -> tuple[list[Item], list[Item]]:
    kept = [i for i in items if i.order_id not in exempt]
    return kept, [i for i in items if i.order_id in exempt]


def _orders_rule(rule_id: str, rule: CountedRule, items: Sequence[Item], exempt: set[str]) -> RuleScore:
    """A rule counting orders (one per order, whatever the items of the order)."""
    kept, exempted = _split(items, exempt)
    orders = sorted({i.order_id for i in kept})
    return RuleScore(rule_id, rule.points, counted(rule, len(orders)), "measured",
                     {"count": len(orders), "orders": [i.to_dict() for i in kept],
                      "exempted": [i.to_dict() for i in exempted], "per": rule.per, "zero_above": rule.zero_above})


def rule_scores(cfg: UnitScoresSection, u: UnitInputs) -> list[RuleScore]:
    """The six rules' points of one unit, in the annex's order."""
    exempt = {rule: {e.order_id for e in u.exemptions if e.rule == rule} for rule in EXEMPTABLE}
    knowledge = _knowledge(cfg, u)
    if u.unreachable is None:
        phone = RuleScore("phone", cfg.phone.points, 0.0, "unavailable", {"unreachable": None})
    else:
        phone = RuleScore("phone", cfg.phone.points, counted(cfg.phone, u.unreachable), "measured",
                          {"unreachable": u.unreachable, "per": cfg.phone.per, "zero_above": cfg.phone.zero_above})
    base = u.kept if cfg.completion.base is CompletionBase.kept else u.dispatched
    rate = None if base == 0 else min(1.0, u.closed / base)
    completion = RuleScore("completion", cfg.completion.points,
                           cfg.completion.points if rate is None else _r(rate * cfg.completion.points), "measured",
                           {"dispatched": u.dispatched, "returned": u.returned, "kept": u.kept, "closed": u.closed,
                            "base": cfg.completion.base.value, "rate": None if rate is None else round(rate, 4)})
    return [knowledge, phone, _orders_rule("on_time", cfg.on_time, u.overdue, exempt["on_time"]), completion,
            _orders_rule("revisit_check", cfg.revisit_check, u.sent_back, exempt["revisit_check"]),
            _satisfaction(cfg, u.unsatisfied, exempt["satisfaction"])]


def _knowledge(cfg: UnitScoresSection, u: UnitInputs) -> RuleScore:
    kb = cfg.knowledge_base
    measured = None if u.knowledge is None else {
        "entries": u.knowledge.entries, "stale": list(u.knowledge.stale), "expired": list(u.knowledge.expired),
        "flagged": len(u.knowledge.flagged), "updated": u.knowledge.updated, "per": kb.per}
    if u.knowledge_base is not None:
        m = u.knowledge_base
        return RuleScore("knowledge_base", kb.points, _r(min(m.points, kb.points)), "manual",
                         {"points": m.points, "note": m.note, "by": m.by, "at": m.at,
                          **({"measured": measured} if measured is not None else {})})
    if u.knowledge is None or measured is None:
        return RuleScore("knowledge_base", kb.points, 0.0, "missing", {"points": None})
    points = 0.0 if u.knowledge.entries == 0 else _r(max(0.0, kb.points - kb.per * len(u.knowledge.flagged)))
    return RuleScore("knowledge_base", kb.points, points, "measured", measured)


def _satisfaction(cfg: UnitScoresSection, items: Sequence[Item], exempt: set[str]) -> RuleScore:
    s = cfg.satisfaction
    kept, exempted = _split(items, exempt)
    counting = [i for i in kept if i.nth <= s.max_per_order]
    return RuleScore("satisfaction", s.points, _r(max(0.0, s.points - s.per * len(counting))), "measured",
                     {"unsatisfied": len(kept), "counted": len(counting), "max_per_order": s.max_per_order,
                      "per": s.per, "evaluations": [i.to_dict() for i in kept],
                      "exempted": [i.to_dict() for i in exempted]})


def bonus(cfg: UnitScoresSection, closed: int, average: float) -> tuple[float, dict[str, Any]]:
    """The bonus of a unit's closed volume against the units' average (the highest tier reached)."""
    ratio = None if average <= 0 else closed / average
    points = 0.0
    for tier in cfg.bonuses:
        if ratio is not None and ratio > tier.over_average:
            points = tier.points
    return points, {"closed": closed, "average": round(average, 4),
                    "ratio": None if ratio is None else round(ratio, 4),
                    "tiers": [{"over_average": b.over_average, "points": b.points} for b in cfg.bonuses]}


def rank(totals: Mapping[str, float]) -> dict[str, int]:
    """Competition ranking, highest first: equal totals share the better rank."""
    ordered = sorted(totals.values(), reverse=True)
    return {unit: ordered.index(total) + 1 for unit, total in totals.items()}


def bottom(ranks: Mapping[str, int], count: int) -> set[str]:
    """The units in the bottom ``count``: rank over (units − count) and not first."""
    n = len(ranks)
    return {u for u, r in ranks.items() if r > n - count and r > 1}


def score_month(cfg: UnitScoresSection, units: Sequence[UnitInputs]) -> list[UnitScore]:
    """Every unit's score, ranked (best first, then unit id), bottom marked; :func:`interviews`
    adds the 约谈 flag from the months before."""
    average = sum(u.closed for u in units) / len(units) if units else 0.0
    scores = []
    for u in units:
        points, inputs = bonus(cfg, u.closed, average)
        absences = [{"date": a.day, "note": a.note, "by": a.by} for a in u.absences]
        scores.append(UnitScore(u.unit, u.name, rule_scores(cfg, u), points, inputs,
                                0.0 - cfg.rotation_absence * len(u.absences),   # never -0.0
                                {"absences": absences, "per_absence": cfg.rotation_absence}))
    ranks = rank({s.unit: s.total for s in scores})
    low = bottom(ranks, cfg.ranking.bottom)
    for s in scores:
        s.rank, s.bottom = ranks[s.unit], s.unit in low
    return sorted(scores, key=lambda s: (s.rank, s.unit))


def interviews(scores: Iterable[UnitScore], month: str, earlier: Sequence[tuple[str, set[str]]],
               months: int) -> None:
    """Flag (约谈) the units in the bottom this month and in each of the ``months`` − 1 months
    before (``earlier``: (month, bottom units), the latest first)."""
    for s in scores:
        run = [month] if s.bottom else []
        for label, low in earlier:
            if not run or s.unit not in low:
                break
            run.append(label)
        s.bottom_months = run
        s.interview = len(run) >= months
