"""The working-day calendar of order deadlines: chinesecalendar plus the site's calendar years.

Pure: no clock, no I/O. A year listed in ``orders.calendar`` replaces chinesecalendar for that
year (its weekday holidays and its make-up weekend working days, 调休); any other year comes from
chinesecalendar, which knows the years the State Council has published. A day in a year neither
knows is a :class:`hotline.exceptions.DateOutsideCalendar` (``date-outside-calendar``), never a
guess: a deadline computed from a guessed calendar would be wrong by days around a holiday.

A deadline of N working days from a moment ends at the end of the Nth working day after the
moment's day (the day itself does not count, whatever the hour): an order created on a Friday
with 1 working day is due at the end of Monday (midnight, as the next day's 00:00), one created
on a holiday counts from the first working day after it. Hours are clock hours (emergency items
are handled around the clock).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable

import chinese_calendar  # type: ignore[import-untyped]

from hotline.config.site import CalendarYear
from hotline.exceptions import DateOutsideCalendar

MAX_DAYS = 366
"""The most working days one call may add (a deadline is weeks, not years)."""


class WorkingCalendar:
    def __init__(self, years: Iterable[CalendarYear] = ()) -> None:
        self._years = {y.year: (frozenset(y.holidays), frozenset(y.workdays)) for y in years}

    def known(self, day: dt.date) -> bool:
        return day.year in self._years or _package_knows(day.year)

    def is_working_day(self, day: dt.date) -> bool:
        """Whether ``day`` is a working day; ``DateOutsideCalendar`` for a year nobody knows."""
        site = self._years.get(day.year)
        if site is not None:
            holidays, workdays = site
            if day in workdays:
                return True
            return day.weekday() < 5 and day not in holidays
        if not _package_knows(day.year):
            raise DateOutsideCalendar(day, self.years())
        return bool(chinese_calendar.is_workday(day))

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """The end of the ``days``-th working day after ``start``'s day (as the next day's 00:00,
        in ``start``'s time zone)."""
        if not 0 < days <= MAX_DAYS:
            raise ValueError(f"days must be 1..{MAX_DAYS}, not {days}")
        day = start.date()
        left = days
        while left:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        end = day + dt.timedelta(days=1)
        return dt.datetime.combine(end, dt.time(0), tzinfo=start.tzinfo)

    def add_hours(self, start: dt.datetime, hours: int) -> dt.datetime:
        """``start`` plus ``hours`` clock hours; the day it ends on must be in the calendar."""
        end = start + dt.timedelta(hours=hours)
        self.is_working_day(end.date())
        return end

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """How many working days lie after ``start`` up to and including ``end`` (0 if end <= start)."""
        count = 0
        day = start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_working_day(day)
        return count

    def years(self) -> str:
        """The years known, for error messages: ``2004-2026, 2027``."""
        first, last = _package_years()
        extra = sorted(y for y in self._years if not first <= y <= last)
        return ", ".join([f"{first}-{last}", *map(str, extra)])


@functools.cache
def _package_years() -> tuple[int, int]:
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


def _package_knows(year: int) -> bool:
    first, last = _package_years()
    return first <= year <= last
