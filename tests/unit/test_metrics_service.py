"""KPIs over a real SQLite store (hotline.metrics.services), values computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hotline.records.call import Outcome
from hotline.config import parse_site
from hotline.exceptions import InvalidRequest
from hotline.metrics.services import MetricsService
from hotline.store import Store

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
SITE = parse_site({"trunks": [{"name": "carrier", "host": "127.0.0.2"}],
                   "queues": [{"name": "hotline", "wrapup": 10}, {"name": "renshe"}]})


@pytest.fixture
def service(sqlite_store: Store, make_call) -> MetricsService:
    def call(i: int, minutes_ago: float, outcome: Outcome, wait: float | None, talk: float | None = None,
             queue: str = "hotline", dialled: str = "12345"):
        at = NOW - timedelta(minutes=minutes_ago)
        sqlite_store.upsert_call(make_call(
            f"1795000000.{i}", arrived_at=at, queued_at=at, outcome=outcome, wait_seconds=wait,
            talk_seconds=talk, queue=queue, dialled_number=dialled, seat="1001" if talk else None))

    call(1, 10, Outcome.answered, 4, 100)
    call(2, 20, Outcome.answered, 20, 50)
    call(3, 30, Outcome.abandoned_in_queue, 3)            # short abandon
    call(4, 40, Outcome.abandoned_in_queue, 30)
    call(5, 50, Outcome.answered, 8, 70, queue="renshe", dialled="12333")
    call(6, 60 * 30, Outcome.answered, 1, 10)             # 30 hours ago: outside 24 h
    return MetricsService(sqlite_store, SITE, clock=lambda: NOW)


def test_report_by_queue(service: MetricsService) -> None:
    rows = {r["group"]: r for r in service.report(NOW - timedelta(hours=24), NOW, by="queue")["rows"]}
    h = rows["hotline"]
    # hotline: offered 4, short 1, base 3; answered 2 (one within 15 s); handle (100+10 + 50+10)/2
    assert (h["offered"], h["answered"], h["short_abandons"]) == (4, 2, 1)
    assert (h["answer_rate"], h["answer_rate_15s"], h["abandon_rate"]) == (0.6667, 0.3333, 0.3333)
    assert h["asa_seconds"] == 12.0 and h["aht_seconds"] == 85.0
    assert rows["renshe"]["answer_rate"] == 1.0 and rows["renshe"]["aht_seconds"] == 70.0


def test_report_by_dialled_number_and_hour(service: MetricsService) -> None:
    out = service.report(NOW - timedelta(hours=24), NOW, by="dialled_number", interval="hour")
    keys = [(r["group"], r["interval_start"]) for r in out["rows"]]
    assert ("12333", "2026-11-23T13:00:00+08:00") in keys
    assert sum(r["offered"] for r in out["rows"]) == 5


def test_rolling_24h(service: MetricsService) -> None:
    r = service.rolling()
    # offered 5, short 1 -> base 4, answered 3 -> 0.75 < 0.95
    assert r["answer_rate"] == 0.75 and r["alarm"] is True


@pytest.mark.parametrize("kwargs, field", [
    (dict(by="county"), "by"), (dict(interval="week"), "interval"),
])
def test_report_rejects_bad_parameters(service: MetricsService, kwargs, field) -> None:
    with pytest.raises(InvalidRequest) as info:
        service.report(NOW - timedelta(hours=1), NOW, **kwargs)
    assert info.value.details["field"] == field


def test_today_and_the_rolling_window_from_one_read(service: MetricsService, sqlite_store: Store, make_call) -> None:
    # 20 hours ago is 18:00 yesterday in Shanghai: in the rolling 24 h, not in today's KPIs
    at = NOW - timedelta(hours=20)
    sqlite_store.upsert_call(make_call("1795000000.7", arrived_at=at, queued_at=at, outcome=Outcome.answered,
                                       wait_seconds=2, talk_seconds=30, queue="hotline", seat="1001"))
    t = service.today()
    assert t["day"] == "2026-11-23"
    # today: offered 5, short 1 -> base 4; answered 3 (waits 4, 20, 8: two within 15 s); abandoned 2
    assert (t["offered"], t["answered"], t["abandoned"], t["short_abandons"]) == (5, 3, 2, 1)
    assert (t["answer_rate"], t["answer_rate_15s"], t["abandon_rate"]) == (0.75, 0.5, 0.25)
    # rolling 24 h: the call of yesterday evening too: base 5, answered 4
    assert t["rolling_24h"]["answer_rate"] == 0.8 and t["rolling_24h"]["alarm"] is True
