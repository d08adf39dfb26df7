"""Query strings of the duty-phone routes (shape only): ``month`` (YYYY-MM, ``invalid-month``
otherwise) and ``unit`` (a unit id)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from multidict import MultiMapping

from hotline.duty_probes.errors import InvalidMonth
from hotline.exceptions import InvalidRequest
from hotline.http.query import single_values

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_UNIT = re.compile(r"[a-z][a-z0-9_-]{0,31}")
PARAMS = ("month", "unit")


@dataclass(frozen=True)
class MonthQuery:
    year: int | None     # None: the current month (site time)
    month: int | None
    unit: str | None


def month_of(value: str) -> tuple[int, int]:
    """(year, month) of ``YYYY-MM``; ``invalid-month`` for anything else (2026-13, 2026-1, 11/2026)."""
    m = _MONTH.fullmatch(value)
    if m is None or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2100:
        raise InvalidMonth(value)
    return int(m.group(1)), int(m.group(2))


def month_query(q: MultiMapping[str]) -> MonthQuery:
    """``GET /api/duty-probes`` parameters, each problem naming the parameter."""
    args = single_values(q, PARAMS, strip=True)
    year, month = month_of(args["month"]) if "month" in args else (None, None)
    unit = args.get("unit")
    if unit is not None and not _UNIT.fullmatch(unit):
        raise InvalidRequest("unit", "a unit id (orders.units[].id)", unit)
    return MonthQuery(year, month, unit)
