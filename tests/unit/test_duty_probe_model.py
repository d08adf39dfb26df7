"""Duty-phone probes: the try/event state machine and the schedule (pure, table tests)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from hotline.config.site import Department, ProbeWindow, Unit
from hotline.duty_probes import model, schedule
from hotline.duty_probes.model import Probe, Status, TryResult
from hotline.duty_probes.schedule import Phone

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 3, 10, 0, tzinfo=TZ)
SPACING = dt.timedelta(minutes=5)
OFFICE = ProbeWindow(name="office", start=dt.time(9), end=dt.time(17), probes=2)
NIGHT = ProbeWindow(name="night", start=dt.time(20), end=dt.time(7), probes=1)


def probe(**fields: object) -> Probe:
    base = Probe(id=1, unit_id="renshe", window="office", day=T0.date(), slot=0, number="4567890",
                 status=Status.pending, attempts=0, max_attempts=3, due_at=T0, next_at=None, created_at=T0,
                 updated_at=T0)
    return replace(base, **fields)  # type: ignore[arg-type]


def run(results: list[str]) -> Probe:
    p, now = probe(), T0
    for n, result in enumerate(results, start=1):
        p = model.dial(p, now)
        p = model.finish(p, TryResult(f"17960000{n}.1", n, result), now, SPACING)
        now += SPACING
    return p


@pytest.mark.parametrize(("results", "status", "next_at", "ended"), [
    (["answered"], Status.answered, None, True),
    (["no_answer"], Status.pending, T0 + SPACING, False),
    (["busy", "answered"], Status.answered, None, True),
    (["no_answer", "busy"], Status.pending, T0 + 2 * SPACING, False),
    (["no_answer", "busy", "failed"], Status.unreachable, None, True),     # 3 failures: one 不通 event
    (["lost", "no_answer", "answered"], Status.answered, None, True),
    (["failed", "failed", "lost"], Status.unreachable, None, True),
])
def test_a_probe_after_its_tries(results: list[str], status: Status, next_at: dt.datetime | None,
                                 ended: bool) -> None:
    p = run(results)
    assert (p.status, p.next_at, p.attempts) == (status, next_at, len(results))
    assert (p.ended_at is not None) is ended
    assert [t["result"] for t in p.tries] == results
    assert p.ended_at == (T0 + SPACING * (len(results) - 1) if ended else None)


def test_a_replayed_or_stale_record_is_not_the_current_try() -> None:
    p = model.dial(probe(), T0)
    done = model.finish(p, TryResult("1796000000.1", 1, "no_answer"), T0, SPACING)
    again = model.dial(replace(done, next_at=None), T0 + SPACING)
    assert not model.is_current(again, TryResult("1796000000.1", 1, "no_answer")), "try 1 again"
    assert not model.is_current(again, TryResult("1796000000.2", 1, "no_answer")), "not try 2"
    assert model.is_current(again, TryResult("1796000000.2", 2, "busy"))
    with pytest.raises(model.InvalidStep):
        model.finish(done, TryResult("1796000000.3", 1, "answered"), T0, SPACING)
    with pytest.raises(ValueError, match="not a try result"):
        model.finish(p, TryResult("1796000000.4", 1, "rated"), T0, SPACING)


@pytest.mark.parametrize(("step", "status"), [
    (lambda p: model.dial(p, T0), Status.answered),
    (lambda p: model.postpone(p, T0, SPACING), Status.dialling),
    (lambda p: model.unplaced(p, T0, SPACING), Status.pending),
    (lambda p: model.dial(p, T0), Status.skipped),
])
def test_steps_refused_in_the_wrong_status(step: object, status: Status) -> None:
    with pytest.raises(model.InvalidStep):
        step(probe(status=status))  # type: ignore[operator]


def test_postponed_and_unplaced_tries_never_count() -> None:
    p = model.postpone(probe(), T0, dt.timedelta(minutes=7))
    assert (p.status, p.next_at, p.postponed, p.attempts) == (Status.pending, T0 + dt.timedelta(minutes=7), 1, 0)
    p = model.unplaced(model.dial(p, T0), T0, dt.timedelta(minutes=1))
    assert (p.status, p.attempts, p.next_at) == (Status.pending, 0, T0 + dt.timedelta(minutes=1))


# --- the schedule --------------------------------------------------------------------------------

def unit(**fields: object) -> Unit:
    return Unit.model_validate({"id": "renshe", "name": "市人社局", "leader": {"name": "王", "phone": "13800000001"},
                                **fields})


@pytest.mark.parametrize(("fields", "departments", "expected"), [
    ({}, [], []),
    ({"duty_phones": ["4567890", "13800000002"]}, [],
     [("4567890", "orders.units.3.duty_phones.0"), ("13800000002", "orders.units.3.duty_phones.1")]),
    ({"department": "rs"}, [Department(id="x", name="X", duty_phone="111"), Department(id="rs", name="人社",
                                                                                       duty_phone="4567891")],
     [("4567891", "departments.1.duty_phone")]),
    ({"department": "rs", "duty_phones": ["4567891"]}, [Department(id="rs", name="人社", duty_phone="4567891")],
     [("4567891", "orders.units.3.duty_phones.0")]),                   # listed once
    ({"department": "rs"}, [Department(id="rs", name="人社")], []),     # no duty_phone
])
def test_the_phones_of_a_unit(fields: dict[str, object], departments: list[Department],
                              expected: list[tuple[str, str]]) -> None:
    assert [(p.number, p.field) for p in schedule.phones_of(3, unit(**fields), departments)] == expected


@pytest.mark.parametrize(("window", "day", "start", "end"), [
    (OFFICE, dt.date(2026, 11, 3), dt.datetime(2026, 11, 3, 9, tzinfo=TZ), dt.datetime(2026, 11, 3, 17, tzinfo=TZ)),
    (NIGHT, dt.date(2026, 11, 30), dt.datetime(2026, 11, 30, 20, tzinfo=TZ), dt.datetime(2026, 12, 1, 7, tzinfo=TZ)),
])
def test_a_window_of_a_day(window: ProbeWindow, day: dt.date, start: dt.datetime, end: dt.datetime) -> None:
    assert schedule.span(day, window, TZ) == (start, end)


@pytest.mark.parametrize(("now", "expected"), [
    (dt.datetime(2026, 11, 3, 6, 59, tzinfo=TZ), [("11-02", "night"), ("11-03", "office"), ("11-03", "night")]),
    (dt.datetime(2026, 11, 3, 7, 0, tzinfo=TZ), [("11-03", "office"), ("11-03", "night")]),
    (dt.datetime(2026, 11, 3, 10, 0, tzinfo=TZ), [("11-03", "office"), ("11-03", "night")]),
    (dt.datetime(2026, 11, 3, 18, 0, tzinfo=TZ), [("11-03", "night")]),
    (dt.datetime(2026, 11, 4, 2, 0, tzinfo=TZ), [("11-03", "night"), ("11-04", "office"), ("11-04", "night")]),
])
def test_the_windows_not_over_yet(now: dt.datetime, expected: list[tuple[str, str]]) -> None:
    got = [(d.isoformat()[5:], w.name) for d, w in schedule.open_windows(now, [OFFICE, NIGHT], TZ)]
    assert got == expected


def test_drawn_times_fall_inside_the_window_seeded_and_rotate_the_phones() -> None:
    phones = [Phone("4567890", "a"), Phone("4567891", "b")]
    units = [("renshe", phones), ("zhujian", [Phone("4567892", "c")]), ("nophone", [])]
    day = dt.date(2026, 11, 3)
    start = dt.datetime(2026, 11, 3, 6, tzinfo=TZ)   # before the window: all of it
    one = schedule.plan(units, day, OFFICE, 0, TZ, start, random.Random(7))
    two = schedule.plan(units, day, OFFICE, 0, TZ, start, random.Random(7))
    assert one == two, "the same seed draws the same times"
    assert [(p.unit_id, p.slot) for p in one] == [("renshe", 0), ("renshe", 1), ("zhujian", 0), ("zhujian", 1)]
    lo, hi = schedule.span(day, OFFICE, TZ)
    assert all(lo <= p.due_at < hi and p.due_at.tzinfo is not None for p in one)
    assert one[0].due_at <= one[1].due_at, "slots in time order"
    assert {one[0].phone.number, one[1].phone.number} == {"4567890", "4567891"}, "two probes, both phones"
    late = dt.datetime(2026, 11, 3, 16, 0, tzinfo=TZ)
    assert all(late <= p.due_at < hi for p in schedule.plan(units, day, OFFICE, 0, TZ, late, random.Random(1))), \
        "a window already open: drawn from now on"
    assert schedule.plan(units, day, OFFICE, 0, TZ, hi, random.Random(1)) == [], "a window over: none"
    spread = {schedule.plan(units, day, OFFICE, 0, TZ, start, random.Random(s))[0].due_at for s in range(20)}
    assert len(spread) > 10, "times are drawn, not fixed"


def test_to_dial_keeps_the_cap_one_try_per_unit_and_the_order() -> None:
    at = T0
    probes = [probe(id=1, unit_id="a", due_at=at - dt.timedelta(minutes=1)),
              probe(id=2, unit_id="a", due_at=at - dt.timedelta(minutes=9)),
              probe(id=3, unit_id="b", due_at=at - dt.timedelta(minutes=5)),
              probe(id=4, unit_id="c", due_at=at + dt.timedelta(minutes=1)),             # not due
              probe(id=5, unit_id="d", due_at=at - dt.timedelta(hours=1), next_at=at + SPACING),   # spacing
              probe(id=6, unit_id="e", status=Status.dialling, dialled_at=at),
              probe(id=7, unit_id="e", due_at=at - dt.timedelta(minutes=30))]            # e is busy
    assert [p.id for p in schedule.to_dial(probes, at, max_concurrent=5)] == [2, 3]
    assert [p.id for p in schedule.to_dial(probes, at, max_concurrent=2)] == [2]
    assert schedule.to_dial(probes, at, max_concurrent=1) == []


def test_lost_tries_and_month_spans() -> None:
    ring = dt.timedelta(seconds=30)
    tries = [probe(id=1, status=Status.dialling, dialled_at=T0),
             probe(id=2, status=Status.dialling, dialled_at=T0 - ring - schedule.LOST_AFTER - dt.timedelta(seconds=1))]
    assert [p.id for p in schedule.lost(tries, T0, ring)] == [2]
    assert schedule.month_span(2026, 12, TZ) == (dt.datetime(2026, 11, 30, 16, tzinfo=dt.UTC),
                                                 dt.datetime(2026, 12, 31, 16, tzinfo=dt.UTC))
