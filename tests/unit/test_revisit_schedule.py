"""回访 scheduling (hotline.revisits.schedule, model): quiet hours, the cap, retries, giving up.
Table-driven, on given times (no clock is read)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from hotline.config.site import RevisitHours
from hotline.revisits import model
from hotline.revisits.model import InvalidStep, Status, Task, TryResult
from hotline.revisits.schedule import LOST_AFTER, in_hours, lost, next_opening, to_dial

TZ = ZoneInfo("Asia/Shanghai")
HOURS = RevisitHours(start=dt.time(8, 30), end=dt.time(20, 30))
SPACING = dt.timedelta(minutes=30)


def at(hhmm: str, day: int = 2) -> dt.datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return dt.datetime(2026, 11, day, h, m, tzinfo=TZ)


def task(i: int, status: Status = Status.pending, next_at: dt.datetime | None = None, attempts: int = 0,
         dialled_at: dt.datetime | None = None) -> Task:
    created = at("08:00", 1) + dt.timedelta(minutes=i)
    return Task(id=i, work_order_id=f"WO-20261101-{i:06d}", verify_event_id=i, number="13800138000",
                status=status, attempts=attempts, max_attempts=3, next_at=next_at, created_at=created,
                updated_at=created, dialled_at=dialled_at)


@pytest.mark.parametrize(("now", "inside", "opening"), [
    ("08:29", False, at("08:30")),
    ("08:30", True, at("08:30")),
    ("12:00", True, at("12:00")),
    ("20:29", True, at("20:29")),
    ("20:30", False, at("08:30", 3)),
    ("23:59", False, at("08:30", 3)),
    ("00:00", False, at("08:30")),
])
def test_quiet_hours(now: str, inside: bool, opening: dt.datetime) -> None:
    assert in_hours(at(now), HOURS, TZ) is inside
    assert next_opening(at(now), HOURS, TZ) == opening


def test_hours_are_site_time_whatever_zone_now_is_in() -> None:
    utc = at("08:40").astimezone(dt.UTC)      # 00:40 UTC
    assert in_hours(utc, HOURS, TZ)


# (tasks, now, max_concurrent, the ids dialled)
PICKS = [
    ([task(1), task(2), task(3)], "09:00", 2, [1, 2]),                       # the cap
    ([task(1, Status.dialling), task(2), task(3)], "09:00", 2, [2]),           # one line already busy
    ([task(1, Status.dialling), task(2, Status.dialling), task(3)], "09:00", 2, []),
    ([task(1), task(2)], "21:00", 2, []),                                     # outside: waits
    ([task(1), task(2)], "07:59", 5, []),
    ([task(1, next_at=at("09:30")), task(2)], "09:00", 2, [2]),               # a retry not yet due
    ([task(1, next_at=at("09:30")), task(2, next_at=at("09:10"))], "09:31", 1, [2]),   # longest waiting first
    ([task(1, Status.with_seat), task(2, Status.rated), task(3, Status.skipped)], "09:00", 2, []),
]


@pytest.mark.parametrize(("tasks", "now", "cap", "ids"), PICKS)
def test_what_is_dialled(tasks: list[Task], now: str, cap: int, ids: list[int]) -> None:
    assert [t.id for t in to_dial(tasks, at(now), hours=HOURS, tz=TZ, max_concurrent=cap)] == ids


def _try(t: Task, result: str, keys: str = "", rating: str | None = None) -> TryResult:
    return TryResult(call_id=f"call-{t.id}-{t.attempts}", attempt=t.attempts, result=result, keys=keys, rating=rating)


# (results of successive tries, final status, attempts, rating)
RUNS = [
    (["rated"], Status.rated, 1, "unsatisfied"),
    (["no_answer", "rated"], Status.rated, 2, "unsatisfied"),
    (["busy", "failed", "no_answer"], Status.failed, 3, None),
    (["lost", "lost", "lost"], Status.failed, 3, None),
    (["no_answer", "to_seat"], Status.with_seat, 2, None),
    (["no_rating"], Status.no_rating, 1, None),
]


@pytest.mark.parametrize(("results", "status", "attempts", "rating"), RUNS)
def test_tries_until_answered_or_given_up(results: list[str], status: Status, attempts: int,
                                          rating: str | None) -> None:
    t, now = task(1), at("09:00")
    for result in results:
        assert t.status is Status.pending and (t.next_at is None or t.next_at <= now)
        t = model.dial(t, now)
        r = _try(t, result, "3" if result == "rated" else "", "unsatisfied" if result == "rated" else None)
        assert model.is_current(t, r)
        t = model.finish(t, r, now, SPACING)
        if t.status is Status.pending:
            assert t.next_at == now + SPACING, "retried at the configured spacing"
            assert to_dial([t], now + SPACING - dt.timedelta(seconds=1), hours=HOURS, tz=TZ, max_concurrent=2) == []
            now = now + SPACING
    assert (t.status, t.attempts, t.rating) == (status, attempts, rating)
    assert [x["result"] for x in t.tries] == results, "every try recorded"


def test_a_replayed_try_is_not_current() -> None:
    t = model.dial(task(1), at("09:00"))
    r = _try(t, "no_answer")
    t = model.finish(t, r, at("09:01"), SPACING)
    assert not model.is_current(t, r)
    t = model.dial(replace(t, next_at=None), at("09:40"))
    assert not model.is_current(t, r), "the first try's record again, while the second is dialling"
    with pytest.raises(InvalidStep):
        model.finish(model.finish(t, _try(t, "rated", "1", "satisfied"), at("09:41"), SPACING), r, at("09:42"),
                     SPACING)


def test_a_retry_due_after_hours_waits_for_the_morning() -> None:
    t = model.finish(model.dial(task(1), at("20:10")), TryResult("c", 1, "no_answer"), at("20:11"), SPACING)
    assert t.next_at == at("20:41")
    assert to_dial([t], at("20:41"), hours=HOURS, tz=TZ, max_concurrent=2) == []
    assert to_dial([t], at("08:30", 3), hours=HOURS, tz=TZ, max_concurrent=2) == [t]


def test_lost_tries() -> None:
    ring = dt.timedelta(seconds=30)
    t = task(1, Status.dialling, attempts=1, dialled_at=at("09:00"))
    assert lost([t], at("09:00") + ring + LOST_AFTER, ring) == []
    assert lost([t], at("09:00") + ring + LOST_AFTER + dt.timedelta(seconds=1), ring) == [t]


@pytest.mark.parametrize("status", [Status.pending, Status.dialling, Status.with_seat, Status.no_rating,
                                    Status.failed])
def test_a_seat_rates_by_hand(status: Status) -> None:
    t = model.rate_by_hand(task(1, status), "satisfied", "1001", at("10:00"))
    assert (t.status, t.rating, t.seat) == (Status.rated, "satisfied", "1001")


@pytest.mark.parametrize("status", [Status.rated, Status.skipped, Status.superseded])
def test_no_rating_by_hand_once_closed(status: Status) -> None:
    with pytest.raises(InvalidStep):
        model.rate_by_hand(task(1, status), "satisfied", "1001", at("10:00"))


def test_a_seat_rates_during_the_call_then_its_record_adds_the_try() -> None:
    t = model.dial(task(1), at("09:00"))
    t = model.rate_by_hand(t, "satisfied", "1001", at("09:02"))
    r = _try(t, "to_seat", "0")
    assert model.is_current(t, r)
    t = model.finish(t, r, at("09:05"), SPACING)
    assert (t.status, t.rating, t.seat, [x["result"] for x in t.tries]) == (Status.rated, "satisfied", "1001",
                                                                             ["to_seat"])
    assert not model.is_current(t, r), "and a replay of it changes nothing"
