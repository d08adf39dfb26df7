"""The day rollup (``call_kpi_days``, hotline.store.kpi_days): a report per day or over whole local
days reads it, and equals the pure reference in a zone without DST, one with DST and one with a
half-hour offset (the store in that zone), on SQLite and PostgreSQL; the rebuilt day rollup equals
the maintained one; a record moved to the next local day moves its day row."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from hotline.metrics.services import MetricsService
from hotline.records.call import Outcome
from hotline.store import Store, kpi_days
from hotline.store.models import CallKpiDayRow, MetaRow
from tests.unit.test_kpi_rollup import _compare_reports, _record, _site

ZONES = ("Asia/Shanghai", "Europe/Berlin", "Asia/Kolkata")   # no DST; DST (falls back in the history); +05:30


@pytest.fixture(params=ZONES)
def zoned(request: pytest.FixtureRequest, store_url: str) -> Iterator[Store]:
    s = Store(store_url, timezone=request.param)
    s.upgrade()
    yield s
    s.close()


def test_day_reports_equal_the_reference_in_the_stores_zone(zoned: Store) -> None:
    rng = random.Random(21)
    records = [_record(rng, i) for i in range(600)]
    for r in records:
        zoned.upsert_call(r)
    tz = zoned.timezone.key
    assert _compare_reports(zoned, tz) > 500
    with zoned.session() as session:
        maintained = kpi_days.all_rows(session)
    assert zoned.rebuild_kpi_rollup() == len(records)
    with zoned.session() as session:
        assert kpi_days.all_rows(session) == maintained
    # 4 local days (5 in Berlin and Kolkata: the history starts in the afternoon) x 4 dimensions at least
    assert len({(row[0], row[1]) for row in maintained}) >= 16


def test_whole_days_are_read_from_the_day_rollup(zoned: Store, make_call: Any) -> None:
    """Proof the day rows answer: a damaged day row shows in a report over whole days (and the
    rebuild repairs it), not in one the hourly rollup answers (per hour)."""
    tz = ZoneInfo(zoned.timezone.key)
    day = datetime(2026, 10, 25, tzinfo=tz)   # Berlin's 25-hour day
    at = (day + timedelta(hours=20)).astimezone(UTC)
    zoned.upsert_call(make_call("1792000003.1", arrived_at=at, queued_at=at, queue="hotline", seat="1001",
                                wait_seconds=2.0, talk_seconds=30.0))
    service = MetricsService(zoned, _site(zoned.timezone.key))
    start, end = day.astimezone(UTC), (day + timedelta(days=1)).astimezone(UTC)

    def offered(interval: str | None) -> list[Any]:
        return [(r["interval_start"], r["offered"]) for r in service.report(start, end, by="seat",
                                                                             interval=interval)["rows"]]

    assert offered("day") == [(day.isoformat(), 1)]
    with zoned.session() as session:
        session.execute(update(CallKpiDayRow).values(offered=7))
    assert offered("day") == [(day.isoformat(), 7)] and offered(None) == [(None, 7)]
    assert sum(n for _, n in offered("hour")) == 1
    zoned.rebuild_kpi_rollup()
    assert offered("day") == [(day.isoformat(), 1)]


def test_a_record_moved_to_the_next_local_day_moves_its_day_row(zoned: Store, make_call: Any) -> None:
    tz = ZoneInfo(zoned.timezone.key)
    midnight = datetime(2026, 10, 25, tzinfo=tz).astimezone(UTC)
    first = make_call("1792000004.1", arrived_at=midnight - timedelta(microseconds=1), queued_at=midnight,
                      queue="hotline", outcome=Outcome.abandoned_in_queue, wait_seconds=3.0)
    zoned.upsert_call(first)
    zoned.upsert_call(first)
    moved = replace(first, arrived_at=midnight, outcome=Outcome.answered, seat="1002", wait_seconds=12.5,
                    talk_seconds=60.0)
    zoned.upsert_call(moved)
    with zoned.session() as session:
        rows = kpi_days.all_rows(session)
    want_day = kpi_days.day_of(midnight, tz)
    assert {row[1] for row in rows} == {want_day} and len(rows) == 4   # the day before has no row left
    assert all(row[4:7] == (1, 1, 1) for row in rows)   # calls, offered, answered
    zoned.rebuild_kpi_rollup()
    with zoned.session() as session:
        assert kpi_days.all_rows(session) == rows


def test_day_start_is_the_first_instant_of_the_local_day() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    for day in range(20_000, 20_800):
        at = kpi_days.day_start(day, berlin)
        assert kpi_days.day_of(at, berlin) == day
        assert kpi_days.day_of(at - timedelta(microseconds=1), berlin) == day - 1
    santiago = ZoneInfo("America/Santiago")   # skips local midnight on its spring-forward day
    for day in range(20_000, 20_800):
        at = kpi_days.day_start(day, santiago)
        assert kpi_days.day_of(at, santiago) == day
        assert kpi_days.day_of(at - timedelta(microseconds=1), santiago) == day - 1


def test_day_rows_stay_in_their_zone_until_a_rebuild(store_url: str, make_call: Any) -> None:
    """The site's zone changed (a store opened in another zone): the day rows keep the zone they
    were rebuilt in, reports in the new zone read the hourly rollup (still exact), and a rebuild
    moves the rows to the new zone."""
    berlin = Store(store_url, timezone="Europe/Berlin")
    berlin.upgrade()
    at = datetime(2026, 10, 24, 22, 30, tzinfo=UTC)   # 00:30 on the 25th in Berlin, 06:30 in Shanghai
    berlin.upsert_call(make_call("1792000005.1", arrived_at=at, queued_at=at, queue="hotline", seat="1001",
                                 wait_seconds=2.0, talk_seconds=30.0))
    berlin.close()
    shanghai = Store(store_url, timezone="Asia/Shanghai")
    try:
        later = at + timedelta(hours=20)   # 18:30 on the 25th in Berlin, 02:30 on the 26th in Shanghai
        shanghai.upsert_call(make_call("1792000005.2", arrived_at=later, queued_at=later, queue="hotline",
                                       seat="1001", wait_seconds=2.0, talk_seconds=30.0))
        with shanghai.session() as session:
            assert kpi_days.zone(session) == "Europe/Berlin"
            assert {row[1] for row in kpi_days.all_rows(session)} == {kpi_days.day_of(at, ZoneInfo("Europe/Berlin"))}
        service = MetricsService(shanghai, _site("Asia/Shanghai"))
        start, end = datetime(2026, 10, 23, 16, tzinfo=UTC), datetime(2026, 10, 26, 16, tzinfo=UTC)
        want = [("2026-10-25T00:00:00+08:00", 1), ("2026-10-26T00:00:00+08:00", 1)]
        rows = service.report(start, end, by="all", interval="day")["rows"]
        assert [(r["interval_start"], r["offered"]) for r in rows] == want
        shanghai.rebuild_kpi_rollup()
        with shanghai.session() as session:
            assert kpi_days.zone(session) == "Asia/Shanghai"
            assert len({row[1] for row in kpi_days.all_rows(session)}) == 2
        rows = service.report(start, end, by="all", interval="day")["rows"]
        assert [(r["interval_start"], r["offered"]) for r in rows] == want
    finally:
        shanghai.close()


def test_a_zone_unknown_here_never_fails_the_record(store_url: str, make_call: Any) -> None:
    """The day rows were rebuilt in a zone this host's zone database lacks (another node's, a
    test's own zone database): the record is stored, the hourly rollup counts it, and the day rows
    are no longer kept (no report reads them) until a rebuild."""
    store = Store(store_url, timezone="Asia/Shanghai")
    store.upgrade()
    try:
        with store.session() as session:
            session.execute(update(MetaRow).where(MetaRow.key == kpi_days.ZONE_KEY).values(value="Mars/Olympus"))
        at = datetime(2026, 10, 24, 22, 30, tzinfo=UTC)
        store.upsert_call(make_call("1792000006.1", arrived_at=at, queued_at=at, queue="hotline", seat="1001",
                                    wait_seconds=2.0, talk_seconds=30.0))
        assert store.get_call("1792000006.1") is not None
        with store.session() as session:
            assert kpi_days.zone(session) is None
        rows = MetricsService(store, _site("Asia/Shanghai")).report(
            at - timedelta(days=1), at + timedelta(days=1), by="all", interval="day")["rows"]
        assert sum(r["offered"] for r in rows) == 1
        store.rebuild_kpi_rollup()
        with store.session() as session:
            assert kpi_days.zone(session) == "Asia/Shanghai"
    finally:
        store.close()
