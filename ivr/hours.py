"""Whether a department answers its own line now: office hours on Chinese working days.

Pure (no I/O, the clock is an argument). ``workdays`` follows the official working-day
calendar through chinesecalendar: public holidays are closed, and the make-up working days
(调休, a Saturday or Sunday declared a working day) are open.

chinesecalendar only knows the years the State Council has published (``supported_years``).
For a date outside them the fallback is Monday to Friday, and a warning is logged once per
year: update chinesecalendar when the next year's holiday notice is out (usually November).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, tzinfo

import chinese_calendar  # type: ignore[import-untyped]

from hotline.config.site import OfficeHours

log = logging.getLogger(__name__)

_warned_years: set[int] = set()


def supported_years() -> tuple[int, int]:
    """The first and last year chinesecalendar has the official calendar for."""
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


def is_workday(day: date) -> bool:
    """An official working day in mainland China; Monday to Friday outside the known years."""
    first, last = supported_years()
    if first <= day.year <= last:
        return bool(chinese_calendar.is_workday(day))
    if day.year not in _warned_years:
        _warned_years.add(day.year)
        log.warning("chinesecalendar %s has no working-day calendar for %d (it knows %d-%d): "
                    "treating Monday to Friday as working days; upgrade chinesecalendar",
                    getattr(chinese_calendar, "__version__", "?"), day.year, first, last)
    return day.weekday() < 5


def is_open(hours: OfficeHours | None, now: datetime, tz: tzinfo | None = None) -> bool:
    """Whether a department with ``hours`` answers at ``now``.

    ``now`` must be timezone-aware; the office hours are wall-clock times of the site, so
    ``now`` is converted to ``tz`` (the site's timezone) when given, else read as it is.
    ``None`` hours mean the department answers 7x24. ``start`` is inclusive, ``end`` exclusive.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, not {now.isoformat()}")
    if hours is None:
        return True
    local = now.astimezone(tz) if tz is not None else now
    if hours.days == "workdays" and not is_workday(local.date()):
        return False
    return hours.start <= local.time().replace(tzinfo=None) < hours.end
