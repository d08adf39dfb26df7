"""Order KPIs (办结率, 按期办结率, 满意率, 回退率, 重办率) per unit, subject, area and period.

Pure functions over :class:`Assignment` rows: one per dispatch of an order to a 主办 unit (an
order returned and re-dispatched to another unit is two assignments, one per unit, so a unit is
measured only on what it was given). The formulas (README "Order KPIs"):

* 转办量 ``dispatched``: assignments; 回退量 ``returned``: those the unit returned;
* 回退率 = 回退量 / 转办量;
* 承办量 ``kept`` = 转办量 − 回退量 (the orders the unit kept);
* 办结率 = 办结量 / 承办量, 办结量 ``closed``: kept assignments whose order is closed (evaluated);
* 按期办结率 = 按期办结量 / 办结量, on time: the unit's last reply came before its deadline
  (extensions approved included);
* 满意率 = (满意 + 基本满意) / 评价量, by the last evaluation of each evaluated assignment;
* 重办率 = 重办量 / 承办量, 重办量: kept assignments reopened at least once (不满意).

The database computes the same counts with grouped SQL (:mod:`hotline.work_orders.assignments`);
the functions over :class:`Assignment` here are the reference it is tested against.

A ratio with an empty denominator is :data:`None` with its counts (never a division by zero):
"no orders" is not "0 %".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from hotline.work_orders.lifecycle import Rating

DIMENSIONS = ("unit", "subject", "area", "day", "month")
SATISFIED = frozenset({Rating.satisfied, Rating.basically_satisfied})


@dataclass(frozen=True)
class Assignment:
    order_id: str
    unit: str
    subject: str
    area: str
    dispatched_at: dt.datetime      # in the site's time zone: it picks the day and the month
    returned: bool = False
    closed: bool = False
    on_time: bool = False           # closed and replied before the deadline
    rating: Rating | None = None    # the last evaluation
    reopened: bool = False


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        """The ratio in 0..1; None when nothing was counted."""
        return None if self.denominator == 0 else self.numerator / self.denominator

    def to_dict(self) -> dict[str, Any]:
        value = self.value
        return {"numerator": self.numerator, "denominator": self.denominator,
                "value": None if value is None else round(value, 4), "empty": value is None}


@dataclass(frozen=True)
class Kpis:
    dispatched: int
    returned: int
    kept: int
    closed: int
    closed_on_time: int
    evaluated: int
    satisfied: int
    reopened: int

    @property
    def completion_rate(self) -> Ratio:       # 办结率
        return Ratio(self.closed, self.kept)

    @property
    def on_time_rate(self) -> Ratio:          # 按期办结率
        return Ratio(self.closed_on_time, self.closed)

    @property
    def satisfaction_rate(self) -> Ratio:     # 满意率
        return Ratio(self.satisfied, self.evaluated)

    @property
    def return_rate(self) -> Ratio:           # 回退率
        return Ratio(self.returned, self.dispatched)

    @property
    def redo_rate(self) -> Ratio:             # 重办率
        return Ratio(self.reopened, self.kept)

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": {"dispatched": self.dispatched, "returned": self.returned, "kept": self.kept,
                       "closed": self.closed, "closed_on_time": self.closed_on_time,
                       "evaluated": self.evaluated, "satisfied": self.satisfied, "reopened": self.reopened},
            "completion_rate": self.completion_rate.to_dict(),
            "on_time_rate": self.on_time_rate.to_dict(),
            "satisfaction_rate": self.satisfaction_rate.to_dict(),
            "return_rate": self.return_rate.to_dict(),
            "redo_rate": self.redo_rate.to_dict(),
        }


def kpis(rows: Iterable[Assignment]) -> Kpis:
    """The KPIs of a set of assignments (all counts zero and every ratio empty for none)."""
    rows = list(rows)
    kept = [r for r in rows if not r.returned]
    closed = [r for r in kept if r.closed]
    evaluated = [r for r in kept if r.rating is not None]
    return Kpis(
        dispatched=len(rows), returned=len(rows) - len(kept), kept=len(kept), closed=len(closed),
        closed_on_time=sum(r.on_time for r in closed), evaluated=len(evaluated),
        satisfied=sum(r.rating in SATISFIED for r in evaluated), reopened=sum(r.reopened for r in kept))


def total(groups: Iterable[Kpis]) -> Kpis:
    """The KPIs of the union of disjoint sets of assignments: their counts added."""
    names = [f.name for f in dataclasses.fields(Kpis)]
    sums = dict.fromkeys(names, 0)
    for k in groups:
        for name in names:
            sums[name] += getattr(k, name)
    return Kpis(**sums)


_KEYS: dict[str, Callable[[Assignment], str]] = {
    "unit": lambda r: r.unit,
    "subject": lambda r: r.subject,
    "area": lambda r: r.area,
    "day": lambda r: r.dispatched_at.date().isoformat(),
    "month": lambda r: r.dispatched_at.strftime("%Y-%m"),
}


def kpis_by(rows: Iterable[Assignment], dimension: str) -> dict[str, Kpis]:
    """The KPIs per value of ``dimension`` (unit, subject, area, day or month), keys sorted."""
    key = _KEYS.get(dimension)
    if key is None:
        raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}, not {dimension!r}")
    groups: dict[str, list[Assignment]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return {name: kpis(groups[name]) for name in sorted(groups)}


def assignments_of(order_id: str, subject: str | None, area: str | None, events: Iterable[dict[str, Any]],
                   due: dt.datetime | None) -> list[Assignment]:
    """The assignments of one order from its event trail (``OrderStore.events``, oldest first) and
    its current deadline: each dispatch opens one for its unit; a return marks it returned; the
    last evaluation gives its rating; 不满意 marks it reopened; ``evaluate`` closes it, on time when
    the unit's last reply came before ``due``."""
    out: list[Assignment] = []
    last_reply: dt.datetime | None = None
    for e in events:
        action = e["action"]
        if action in ("dispatch", "redispatch"):
            out.append(Assignment(order_id, str(e["fields"]["unit"]), subject or "", area or "",
                                  dt.datetime.fromisoformat(e["at"])))
            last_reply = None
        elif not out:
            continue
        elif action == "return":
            out[-1] = dataclasses.replace(out[-1], returned=True)
        elif action == "reply":
            last_reply = dt.datetime.fromisoformat(e["at"])
        elif action == "reopen":
            out[-1] = dataclasses.replace(out[-1], reopened=True, rating=Rating.unsatisfied)
        elif action == "evaluate":
            on_time = last_reply is not None and due is not None and last_reply < due
            out[-1] = dataclasses.replace(out[-1], closed=True, on_time=on_time,
                                          rating=Rating(e["fields"]["rating"]))
    return out
