"""ivr.hours: office hours on the Chinese working-day calendar (real 2025/2026 dates).

The holidays and make-up working days (调休) below are the State Council's notices for
2025 and 2026, as chinesecalendar has them.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from hotline.config.site import OfficeHours
from ivr import hours
from ivr.hours import is_open, is_workday, supported_years

SH = ZoneInfo("Asia/Shanghai")
WORKDAYS = OfficeHours(days="workdays", start=time(8, 30), end=time(17, 30))
DAILY = OfficeHours(days="daily", start=time(8, 0), end=time(20, 0))


def at(day: str, hhmm: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=SH)


@pytest.mark.parametrize("day, workday, why", [
    ("2025-01-28", False, "Tuesday, Spring Festival eve holiday"),
    ("2025-01-26", True, "Sunday, make-up working day for the Spring Festival"),
    ("2025-02-08", True, "Saturday, make-up working day for the Spring Festival"),
    ("2025-04-27", True, "Sunday, make-up working day for Labour Day"),
    ("2025-05-01", False, "Thursday, Labour Day"),
    ("2025-09-28", True, "Sunday, make-up working day for National Day"),
    ("2025-10-08", False, "Wednesday, last day of the National Day holiday"),
    ("2025-10-09", True, "Thursday, back to work"),
    ("2025-11-22", False, "an ordinary Saturday"),
    ("2025-11-24", True, "an ordinary Monday"),
    ("2026-01-01", False, "Thursday, New Year's Day"),
    ("2026-01-02", False, "Friday, New Year holiday"),
    ("2026-01-04", True, "Sunday, make-up working day for New Year"),
    ("2026-02-14", True, "Saturday, make-up working day for the Spring Festival"),
    ("2026-02-16", False, "Monday, Spring Festival"),
    ("2026-02-24", True, "Tuesday after the Spring Festival"),
    ("2026-02-28", True, "Saturday, make-up working day for the Spring Festival"),
    ("2026-05-01", False, "Friday, Labour Day"),
    ("2026-05-09", True, "Saturday, make-up working day for Labour Day"),
    ("2026-09-20", True, "Sunday, make-up working day for National Day"),
    ("2026-10-01", False, "Thursday, National Day"),
    ("2026-10-10", True, "Saturday, make-up working day for National Day"),
    ("2026-11-23", True, "an ordinary Monday"),
])
def test_workday_calendar(day: str, workday: bool, why: str) -> None:
    assert is_workday(date.fromisoformat(day)) is workday, why
    # workdays hours: open at 10:00 exactly on working days
    assert is_open(WORKDAYS, at(day)) is workday, why
    # daily hours ignore the calendar
    assert is_open(DAILY, at(day)) is True


@pytest.mark.parametrize("hours_, now, expected", [
    (WORKDAYS, at("2026-11-23", "08:29:59"), False),   # before the start
    (WORKDAYS, at("2026-11-23", "08:30"), True),       # start inclusive
    (WORKDAYS, at("2026-11-23", "17:29:59"), True),
    (WORKDAYS, at("2026-11-23", "17:30"), False),      # end exclusive
    (WORKDAYS, at("2026-11-23", "23:00"), False),
    (DAILY, at("2026-10-01", "07:59"), False),
    (DAILY, at("2026-10-01", "08:00"), True),
    (DAILY, at("2026-10-01", "20:00"), False),
    (None, at("2026-10-01", "03:00"), True),           # no hours: 7x24
    (None, at("2025-01-28", "23:59"), True),
])
def test_hours_boundaries(hours_: OfficeHours | None, now: datetime, expected: bool) -> None:
    assert is_open(hours_, now) is expected


@pytest.mark.parametrize("utc, expected", [
    ("2026-11-23T01:00", True),    # 09:00 in Shanghai, Monday
    ("2026-11-23T09:30", False),   # 17:30 in Shanghai
    ("2026-11-22T23:00", False),   # 07:00 Monday in Shanghai (still Sunday 23:00 in UTC)
    ("2026-11-21T02:00", False),   # Saturday 10:00 in Shanghai
    ("2026-02-13T17:00", False),   # 01:00 on Saturday 2026-02-14, a make-up working day: too early
    ("2026-02-14T02:00", True),    # 10:00 on that make-up Saturday
])
def test_now_is_converted_to_the_site_timezone(utc: str, expected: bool) -> None:
    now = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert is_open(WORKDAYS, now, SH) is expected


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(WORKDAYS, datetime(2026, 11, 23, 10, 0))
    with pytest.raises(ValueError):
        is_open(None, datetime(2026, 11, 23, 10, 0))


def test_supported_years_cover_2025_and_2026() -> None:
    first, last = supported_years()
    assert first <= 2025 and last >= 2026


def test_outside_the_calendar_weekdays_are_workdays_with_one_warning(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(hours, "_warned_years", set())
    year = supported_years()[1] + 5
    monday = next(date(year, 1, d) for d in range(1, 8) if date(year, 1, d).weekday() == 0)
    saturday = next(date(year, 1, d) for d in range(1, 8) if date(year, 1, d).weekday() == 5)
    with caplog.at_level(logging.WARNING, logger="ivr.hours"):
        assert is_workday(monday) is True
        assert is_workday(saturday) is False
        assert is_open(WORKDAYS, datetime.combine(monday, time(9, 0), SH)) is True
        assert is_open(WORKDAYS, datetime.combine(saturday, time(9, 0), SH)) is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, "one warning per year, not one per call"
    assert str(year) in warnings[0].getMessage() and "Monday to Friday" in warnings[0].getMessage()
    # a year before the calendar too
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ivr.hours"):
        assert is_workday(date(1999, 1, 4)) is True   # a Monday
    assert len(caplog.records) == 1
