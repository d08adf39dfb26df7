"""The working-day calendar of deadlines: chinesecalendar's 2026 (published by the State Council)
and a site-configured 2027, hand-checked against the calendar tables."""

from __future__ import annotations

import datetime as dt

import pytest

from hotline.config.site import CalendarYear
from hotline.exceptions import DateOutsideCalendar
from hotline.work_orders.workdays import WorkingCalendar

TZ = dt.timezone(dt.timedelta(hours=8))
# A made-up 2027 for the site override: New Year on Friday 1 January, a make-up Saturday 9 January.
Y2027 = CalendarYear(year=2027, holidays=[dt.date(2027, 1, 1)], workdays=[dt.date(2027, 1, 9)])
CAL = WorkingCalendar([Y2027])


def at(y: int, m: int, d: int, h: int = 10) -> dt.datetime:
    return dt.datetime(y, m, d, h, tzinfo=TZ)


@pytest.mark.parametrize(("day", "working"), [
    (dt.date(2026, 2, 13), True),    # Friday before the Spring Festival
    (dt.date(2026, 2, 14), True),    # Saturday, 调休 make-up day
    (dt.date(2026, 2, 16), False),   # Monday, Spring Festival
    (dt.date(2026, 2, 23), False),   # Monday, last day of the Spring Festival holiday
    (dt.date(2026, 2, 24), True),    # Tuesday, back to work
    (dt.date(2026, 2, 28), True),    # Saturday, 调休 make-up day
    (dt.date(2026, 10, 1), False),   # National Day
    (dt.date(2026, 10, 10), True),   # Saturday, 调休 make-up day
    (dt.date(2026, 12, 5), False),   # an ordinary Saturday
    (dt.date(2027, 1, 1), False),    # site: holiday on a Friday
    (dt.date(2027, 1, 4), True),     # site year: an ordinary Monday
    (dt.date(2027, 1, 9), True),     # site: make-up Saturday
    (dt.date(2027, 1, 10), False),   # site year: an ordinary Sunday
])
def test_is_working_day(day: dt.date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


@pytest.mark.parametrize(("start", "days", "due"), [
    (at(2026, 12, 1), 1, at(2026, 12, 3, 0)),         # Tuesday + 1: end of Wednesday
    (at(2026, 12, 4), 1, at(2026, 12, 8, 0)),         # Friday + 1: end of Monday
    (at(2026, 12, 5), 1, at(2026, 12, 8, 0)),         # Saturday + 1: end of Monday
    (at(2026, 12, 1), 5, at(2026, 12, 9, 0)),         # Tuesday + 5: end of next Tuesday
    (at(2026, 2, 12), 2, at(2026, 2, 15, 0)),         # Thursday + 2: Fri 13, Sat 14 (调休) -> end of the 14th
    (at(2026, 2, 13), 5, at(2026, 2, 28, 0)),         # Fri + 5: Sat 14, Tue 24..Thu 26, Fri 27
    (at(2026, 9, 30), 2, at(2026, 10, 10, 0)),        # Wed + 2: National Day; 9 Oct Fri, 10 Oct Sat (调休)
    (at(2026, 12, 30), 3, at(2027, 1, 6, 0)),         # across the year: Thu 31, (1 Jan site holiday) Mon 4, Tue 5
    (at(2027, 1, 7), 2, at(2027, 1, 10, 0)),          # Thu + 2: Fri 8, Sat 9 (site make-up day)
    (at(2026, 12, 1), 10, at(2026, 12, 16, 0)),       # key item: 10 working days
])
def test_add_working_days(start: dt.datetime, days: int, due: dt.datetime) -> None:
    assert CAL.add_working_days(start, days) == due


def test_add_hours_is_clock_hours_and_keeps_the_zone() -> None:
    assert CAL.add_hours(at(2026, 10, 1, 20), 8) == at(2026, 10, 2, 4)
    assert CAL.add_hours(at(2026, 10, 1, 20), 8).tzinfo == TZ


def test_working_days_between() -> None:
    # 13 Fri, 14 Sat (调休), 24-27 Tue-Fri, 28 Sat (调休)
    assert CAL.working_days_between(dt.date(2026, 2, 12), dt.date(2026, 2, 28)) == 7
    assert CAL.working_days_between(dt.date(2026, 2, 28), dt.date(2026, 2, 12)) == 0


@pytest.mark.parametrize("call", [
    lambda c: c.is_working_day(dt.date(2028, 3, 1)),
    lambda c: c.add_working_days(at(2026, 12, 30), 3),      # 2027 without the site year
    lambda c: c.add_hours(at(2026, 12, 31, 20), 8),
    lambda c: c.is_working_day(dt.date(1999, 1, 1)),
])
def test_a_year_nobody_knows_is_a_clear_error(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DateOutsideCalendar) as info:
        call(WorkingCalendar())
    assert info.value.error_id == "date-outside-calendar"
    assert "orders.calendar" in info.value.message


def test_the_error_lists_the_known_years() -> None:
    with pytest.raises(DateOutsideCalendar) as info:
        CAL.is_working_day(dt.date(2028, 1, 3))
    assert info.value.details["known"].endswith(", 2027")
    assert info.value.details["day"] == "2028-01-03"


def test_a_site_year_replaces_the_package_year() -> None:
    # the site may also correct a year the package knows: here 2026-12-01 becomes a holiday
    cal = WorkingCalendar([CalendarYear(year=2026, holidays=[dt.date(2026, 12, 1)])])
    assert cal.is_working_day(dt.date(2026, 12, 1)) is False
    assert cal.is_working_day(dt.date(2026, 10, 1)) is True   # the site's 2026 has no National Day


def test_days_out_of_range_refused() -> None:
    with pytest.raises(ValueError, match="days must be"):
        CAL.add_working_days(at(2026, 12, 1), 0)
