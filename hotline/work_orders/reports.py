"""The daily and monthly order report per unit (日报, 月报): one row per member unit and a total.

Pure: from the KPI counts per unit of the period (the database's grouped query), or from the
assignments (:mod:`hotline.work_orders.kpis`, one per dispatch to a 主办 unit) of the period,
picked by their dispatch time in the site's time zone: the counts and the five rates
of :class:`hotline.work_orders.kpis.Kpis` (formulas in the README "Order KPIs"). Every configured
unit has a row, with zero counts and empty rates when it got nothing (an empty rate is an empty
cell, never 0); a unit not (or no longer) configured that got orders has a row too. Rates are
percentages rounded to two decimals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from hotline.exceptions import InvalidRequest
from hotline.work_orders.kpis import Assignment, Kpis, Ratio, kpis, kpis_by, total

PERIODS = ("day", "month")
COUNTS = (("dispatched", "转办量"), ("returned", "回退量"), ("kept", "承办量"), ("closed", "办结量"),
          ("closed_on_time", "按期办结量"), ("evaluated", "评价量"), ("satisfied", "满意量"),
          ("reopened", "重办量"))
RATES = (("completion_rate", "办结率(%)"), ("on_time_rate", "按期办结率(%)"), ("satisfaction_rate", "满意率(%)"),
         ("return_rate", "回退率(%)"), ("redo_rate", "重办率(%)"))
HEADER = ("统计期间", "单位编号", "承办单位", *(c[1] for c in COUNTS), *(r[1] for r in RATES))
TOTAL = "合计"


@dataclass(frozen=True)
class Period:
    kind: str            # day | month
    label: str           # 2026-12-01 | 2026-12
    start: dt.datetime   # inclusive, site time
    end: dt.datetime     # exclusive

    @property
    def title(self) -> str:
        return f"工单{'日报' if self.kind == 'day' else '月报'}"


def period_of(kind: str, when: str, tz: ZoneInfo) -> Period:
    """The period ``kind`` (day: ``YYYY-MM-DD``, month: ``YYYY-MM``) in the site's zone."""
    if kind not in PERIODS:
        raise InvalidRequest("period", "day or month", kind)
    try:
        if kind == "day":
            day = dt.date.fromisoformat(when)
            if len(when) != 10:
                raise ValueError(when)
            start = dt.datetime(day.year, day.month, day.day, tzinfo=tz)
            return Period(kind, day.isoformat(), start, start + dt.timedelta(days=1))
        month = dt.datetime.strptime(when, "%Y-%m")
    except ValueError:
        raise InvalidRequest("date", "YYYY-MM-DD for a day, YYYY-MM for a month", when) from None
    start = dt.datetime(month.year, month.month, 1, tzinfo=tz)
    following = dt.datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=tz)
    return Period(kind, f"{month.year:04d}-{month.month:02d}", start, following)


def _percent(ratio: Ratio) -> float | None:
    value = ratio.value
    return None if value is None else round(value * 100, 2)


def _row(label: str, unit_id: str, unit_name: str, k: Kpis) -> list[object]:
    return [label, unit_id, unit_name, *(getattr(k, c) for c, _ in COUNTS),
            *(_percent(getattr(k, r)) for r, _ in RATES)]


def report(period: Period, rows: Iterable[Assignment], units: Sequence[tuple[str, str]]) -> list[list[object]]:
    """The report's rows (without the header) from the assignments (those dispatched in the
    period are counted): see :func:`report_of`."""
    inside = [a for a in rows if period.start <= a.dispatched_at.astimezone(period.start.tzinfo) < period.end]
    return report_of(period, kpis_by(inside, "unit"), units)


def report_of(period: Period, per_unit: Mapping[str, Kpis], units: Sequence[tuple[str, str]]) -> list[list[object]]:
    """The report's rows (without the header) from the period's KPI counts per unit (the
    database's, :func:`hotline.work_orders.assignments.grouped`): one per unit (``units``: (id,
    name) in the site's order, then any other unit that got orders, sorted), then the total."""
    names = dict(units)
    ids = [u for u, _ in units] + sorted(set(per_unit) - set(names))
    empty = kpis([])
    out = [_row(period.label, u, names.get(u, u), per_unit.get(u, empty)) for u in ids]
    out.append(_row(period.label, "", TOTAL, total(per_unit.values())))
    return out
