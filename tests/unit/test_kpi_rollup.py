"""The SQL KPI path (rollup + raw edges, hotline.metrics.kpi_query) equals the pure reference
(queue_manager.metrics over every record) on a random history, on SQLite and PostgreSQL; the
rebuilt rollup equals the maintained one; a record rewritten after the fact counts once."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hotline.config import parse_site
from hotline.metrics.services import MetricsService
from hotline.records.call import CallRecord, Outcome
from hotline.store import Store
from hotline.store import kpi_rollup
from queue_manager import metrics

# Europe/Berlin falls back on 2026-10-25 at 01:00 UTC: the history spans it and 4 local midnights.
T0 = datetime(2026, 10, 23, 13, 0, tzinfo=UTC)
SPAN_H = 4 * 24
QUEUES = ("hotline", "renshe", None)
SEATS = ("1001", "1002", "1003", None)
NUMBERS = ("12345", "12333", "")
WAITS = (0.0, 1.5, 4.999, 5.0, 5.001, 14.999, 15.0, 15.001, 33.333, 120.25)


def _site(tz: str) -> Any:
    return parse_site({"site": {"timezone": tz}, "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
                       "queues": [{"name": "hotline", "wrapup": 10}, {"name": "renshe", "wrapup": 3}]})


def _record(rng: random.Random, i: int) -> CallRecord:
    arrived = T0 + timedelta(microseconds=rng.randrange(SPAN_H * 3600 * 10**6))
    if rng.random() < 0.05:   # right on an hour (a local midnight for Shanghai and Berlin among them)
        arrived = arrived.replace(minute=0, second=0, microsecond=0)
    outcome = rng.choice(list(Outcome))
    queued = outcome not in (Outcome.abandoned_before_queue, Outcome.ended_after_notice) or rng.random() < 0.1
    wait = rng.choice(WAITS) if rng.random() < 0.6 else round(rng.uniform(0, 90), 3)
    return CallRecord(
        call_id=f"1792000000.{i}", dialled_number=rng.choice(NUMBERS), caller_number="13800138000",
        arrived_at=arrived, queue=rng.choice(QUEUES), seat=rng.choice(SEATS),
        queued_at=arrived + timedelta(seconds=1) if queued else None,
        wait_seconds=None if rng.random() < 0.05 else wait,
        talk_seconds=round(rng.uniform(0, 600), 3) if rng.random() < 0.9 else None, outcome=outcome,
        extra={"seat_talk_seconds": round(rng.uniform(0, 60), 3)} if rng.random() < 0.2 else {})   # left a transfer


@pytest.fixture
def history(store: Store) -> list[CallRecord]:
    rng = random.Random(15)
    records = [_record(rng, i) for i in range(1000)]
    for r in records:
        store.upsert_call(r)
    return records


def _reference(service: MetricsService, records: list[CallRecord], by: str, interval: str | None,
               tz: Any) -> list[dict[str, Any]]:
    groups = metrics.grouped(records, by, interval=interval, tz=tz, **service.options())
    return [{"group": k[0], "interval_start": k[1], **v.as_dict()} for k, v in groups.items()]


def _ranges(rng: random.Random) -> list[tuple[datetime, datetime]]:
    aligned = (T0 - timedelta(hours=1), T0 + timedelta(hours=SPAN_H + 1))
    local_days = (datetime(2026, 10, 24, 16, tzinfo=UTC), datetime(2026, 10, 26, 16, tzinfo=UTC))
    out = [aligned, local_days, (T0 + timedelta(minutes=10), T0 + timedelta(minutes=50))]
    for _ in range(3):
        a = T0 + timedelta(seconds=rng.uniform(-3600, SPAN_H * 3600))
        out.append((a, a + timedelta(seconds=rng.uniform(60, 80 * 3600))))
    return out


def test_sql_kpis_equal_the_reference_and_the_rebuild(store: Store, history: list[CallRecord]) -> None:
    """One history (written record by record, so the rollup is the maintained one), three checks."""
    compared = 0
    for tz in ("Asia/Shanghai", "Europe/Berlin", "Asia/Kolkata"):   # no DST; DST; a half-hour offset
        compared += _compare_reports(store, tz)
    assert compared > 1000
    _compare_today(store)
    with store.session() as session:
        maintained = kpi_rollup.all_rows(session)
    assert store.rebuild_kpi_rollup() == len(history)
    with store.session() as session:
        assert kpi_rollup.all_rows(session) == maintained
    assert len(maintained) > 1000


def _compare_reports(store: Store, tz: str) -> int:
    service = MetricsService(store, _site(tz))
    rng = random.Random(tz)
    compared = 0
    for start, end in _ranges(rng):
        records = service.records(start, end)
        for by in ("all", "queue", "seat", "dialled_number"):
            for interval in (None, "hour", "day", "15min"):
                got = service.report(start, end, by=by, interval=interval)["rows"]
                want = _reference(service, records, by, interval, ZoneInfo(tz))
                for row in got:
                    for name in ("staffed_seconds", "handle_seconds", "occupancy"):
                        row.pop(name, None)
                assert got == want, (tz, start, end, by, interval)
                compared += len(want)
    return compared


def _compare_today(store: Store) -> None:
    now = T0 + timedelta(hours=50, minutes=17, seconds=3)
    service = MetricsService(store, _site("Europe/Berlin"), clock=lambda: now)
    window = service.records(now - timedelta(hours=24), now + timedelta(seconds=1))
    day = datetime(2026, 10, 24, 22, tzinfo=UTC)   # local midnight in Berlin (summer time)
    today = service.today()
    assert today["rolling_24h"] == metrics.rolling_alarm(window, now, **service.options())
    want = metrics.kpis([r for r in window if r.arrived_at >= day], **service.options()).as_dict()
    assert {k: today[k] for k in want} == want and today["offered"] > 0


def test_a_record_rewritten_after_the_fact_counts_once(store: Store, make_call: Any) -> None:
    at = datetime(2026, 10, 24, 15, 59, 59, 999999, tzinfo=UTC)   # a µs before midnight in Shanghai
    first = make_call("1792000001.1", arrived_at=at, queued_at=at, queue="hotline", outcome=Outcome.abandoned_in_queue,
                      wait_seconds=3.0)
    service = MetricsService(store, _site("Asia/Shanghai"))
    start, end = at - timedelta(days=1), at + timedelta(days=1)
    store.upsert_call(first)
    store.upsert_call(first)                                      # a replay: nothing moves
    late = replace(first, outcome=Outcome.answered, seat="1002", wait_seconds=12.5, talk_seconds=60.0)
    store.upsert_call(late)                                       # a late leg: the abandon becomes an answer
    moved = replace(late, arrived_at=at + timedelta(microseconds=1), queue="renshe")   # and the next local day
    store.upsert_call(moved)
    store.upsert_call(moved)
    for by in ("all", "queue", "seat"):
        rows = service.report(start, end, by=by, interval="day")["rows"]
        assert [(r["group"], r["interval_start"], r["offered"], r["answered"], r["abandoned"]) for r in rows] == [
            ({"all": None, "queue": "renshe", "seat": "1002"}[by], "2026-10-25T00:00:00+08:00", 1, 1, 0)]
        assert rows[0]["aht_seconds"] == 63.0 and rows[0]["asa_seconds"] == 12.5
    with store.session() as session:
        maintained = kpi_rollup.all_rows(session)
    store.rebuild_kpi_rollup()
    with store.session() as session:
        assert kpi_rollup.all_rows(session) == maintained
    assert len(maintained) == 4   # one row per dimension: the old hour's rows are gone


def test_cli_rebuilds_a_damaged_rollup(tmp_path: Any, make_call: Any, capsys: Any) -> None:
    import json

    import yaml
    from sqlalchemy import delete, update

    from hotline import cli
    from hotline.store.models import CallKpiHourRow

    site_file = tmp_path / "site.yaml"
    site_file.write_text(yaml.safe_dump({"trunks": [{"name": "carrier", "host": "127.0.0.2"}]}), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'h.db'}"
    store = Store(url)
    store.upgrade()
    at = datetime(2026, 10, 24, 3, 4, 5, tzinfo=UTC)
    for i in range(3):
        store.upsert_call(make_call(f"1792000002.{i}", arrived_at=at, queued_at=at, queue="hotline", seat="1001",
                                    wait_seconds=2.0 + i, talk_seconds=30.0))
    with store.session() as session:
        good = kpi_rollup.all_rows(session)
        session.execute(update(CallKpiHourRow).where(CallKpiHourRow.dim == "seat").values(answered=99))
        session.execute(delete(CallKpiHourRow).where(CallKpiHourRow.dim == "queue"))
    assert cli.main(["--site", str(site_file), "--state-dir", str(tmp_path / "state"), "--set", f"store.url={url}",
                     "rollups", "rebuild"]) == 0
    assert json.loads(capsys.readouterr().out) == {"rollups": ["call_kpi_hours", "call_kpi_days"], "records": 3}
    with store.session() as session:
        assert kpi_rollup.all_rows(session) == good and len(good) == 4
    store.close()
