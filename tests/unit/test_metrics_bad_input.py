"""Bad input to the KPI report (issue 15): every bad window, group, interval and member gets a stable
error id naming the field and value, through the service and through GET /api/metrics; an empty
window says so (every rate null, never a division by zero); a report over MAX_ROWS rows is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from apikit import api_app
from hotline.config import parse_site
from hotline.exceptions import HotlineError
from hotline.metrics import services
from hotline.metrics.services import MetricsService
from hotline.records.call import Outcome
from hotline.store import Store

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
SITE = parse_site({"trunks": [{"name": "carrier", "host": "127.0.0.2"}],
                   "queues": [{"name": "hotline", "wrapup": 10}, {"name": "renshe"}],
                   "seats": [{"id": "1001", "name": "坐席1001", "secret": "seatsecret-1001"}]})
DAY = (NOW - timedelta(days=1), NOW)

# (report arguments, error id, field, value)
BAD: list[tuple[dict[str, Any], str, str, str]] = [
    ({"start": NOW, "end": NOW}, "metrics-window-inverted", "end", NOW.isoformat()),
    ({"start": NOW, "end": NOW - timedelta(hours=1)}, "metrics-window-inverted", "end",
     (NOW - timedelta(hours=1)).isoformat()),
    ({"start": NOW - timedelta(days=92, seconds=1), "end": NOW}, "metrics-window-too-long", "end", NOW.isoformat()),
    ({"by": "county"}, "metrics-bad-group", "by", "county"),
    ({"interval": "week"}, "metrics-bad-interval", "interval", "week"),
    ({"interval": "HOUR"}, "metrics-bad-interval", "interval", "HOUR"),
    ({"queue": "nosuchq"}, "unknown-queue", "queue", "nosuchq"),
    ({"seat": "9999"}, "unknown-seat", "seat", "9999"),
    ({"dialled_number": "96000"}, "unknown-dialled-number", "dialled_number", "96000"),
    ({"seat": "1001", "dialled_number": "12345"}, "metrics-filter-unsupported", "dialled_number", "12345"),
    ({"seat": "1001", "by": "dialled_number"}, "metrics-filter-unsupported", "seat", "1001"),
    ({"dialled_number": "12345", "by": "seat"}, "metrics-filter-unsupported", "dialled_number", "12345"),
]


@pytest.fixture
def service(sqlite_store: Store, make_call: Any) -> MetricsService:
    for i, (seat, number, queue) in enumerate([("1001", "12345", "hotline"), ("1077", "12333", "renshe")]):
        at = NOW - timedelta(hours=2, minutes=i)
        sqlite_store.upsert_call(make_call(f"1795100000.{i}", arrived_at=at, queued_at=at, queue=queue, seat=seat,
                                           dialled_number=number, wait_seconds=3.0, talk_seconds=40.0))
    return MetricsService(sqlite_store, SITE, clock=lambda: NOW)


@pytest.mark.parametrize(("kwargs", "error_id", "field", "value"), BAD)
def test_bad_input_has_a_stable_error_id(service: MetricsService, kwargs: dict[str, Any], error_id: str,
                                         field: str, value: str) -> None:
    args = {"start": DAY[0], "end": DAY[1], **kwargs}
    with pytest.raises(HotlineError) as info:
        service.report(args.pop("start"), args.pop("end"), **args)
    assert info.value.error_id == error_id and info.value.http_status == 400
    assert info.value.details["field"] == field and info.value.details["value"] == repr(value)


def test_a_member_known_only_from_its_calls_is_not_unknown(service: MetricsService) -> None:
    # seat 1077 and number 12333 are in no site config, but calls counted under them: a removed seat's history
    # AHT: 40 s talk + the queue's wrap-up (hotline 10 s, renshe none)
    for only, aht in (({"seat": "1077"}, 40.0), ({"dialled_number": "12333"}, 40.0), ({"queue": "renshe"}, 40.0),
                      ({"seat": "1001"}, 50.0), ({"queue": "hotline", "seat": "1001"}, 50.0)):
        rows = service.report(*DAY, **only)["rows"]
        assert [(r["group"], r["answered"], r["aht_seconds"]) for r in rows] == [(None, 1, aht)], only


def test_an_empty_window_says_so_and_divides_by_nothing(service: MetricsService, sqlite_store: Store,
                                                        make_call: Any) -> None:
    empty = service.report(NOW - timedelta(days=30), NOW - timedelta(days=29), by="queue", interval="hour")
    assert empty["empty"] is True and empty["rows"] == []
    assert service.report(*DAY)["empty"] is False
    # only calls never offered (hung up before the queue): a row, every rate null, not 0 or 100 %
    at = NOW - timedelta(days=10)
    sqlite_store.upsert_call(make_call("1795100001.9", arrived_at=at, outcome=Outcome.abandoned_before_queue))
    out = service.report(at - timedelta(hours=1), at + timedelta(hours=1))
    assert out["empty"] is False
    row = out["rows"][0]
    assert (row["offered"], row["answer_rate"], row["answer_rate_15s"], row["abandon_rate"], row["asa_seconds"],
            row["aht_seconds"]) == (0, None, None, None, None, None)


def test_a_report_over_max_rows_is_refused(service: MetricsService, monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(service.report(*DAY, by="seat")["rows"]) == 2
    monkeypatch.setattr(services, "MAX_ROWS", 1)
    for args in ({"by": "seat"}, {"by": "seat", "interval": "hour"}, {"by": "dialled_number", "interval": "15min"}):
        with pytest.raises(HotlineError) as info:
            service.report(*DAY, **args)
        assert info.value.error_id == "metrics-report-too-large" and info.value.http_status == 422
        assert info.value.details["max_rows"] == 1
    assert len(service.report(*DAY, by="seat", seat="1001")["rows"]) == 1   # narrowed: within the limit


async def test_bad_input_through_the_api(sqlite_store: Store, make_call: Any) -> None:
    app = api_app(sqlite_store)
    async with TestClient(TestServer(app)) as client:
        for query, error_id, field in [
                ("start=2026-11-23T06:00:00Z&end=2026-11-22T06:00:00Z", "metrics-window-inverted", "end"),
                ("start=2026-01-01T00:00:00Z&end=2026-11-22T06:00:00Z", "metrics-window-too-long", "end"),
                ("interval=fortnight", "metrics-bad-interval", "interval"),
                ("by=county", "metrics-bad-group", "by"),
                ("queue=nosuchq", "unknown-queue", "queue"),
                ("seat=9999", "unknown-seat", "seat"),
                ("start=yesterday", "invalid-request", "start")]:
            r = await client.get(f"/api/metrics?{query}")
            body = await r.json()
            assert (r.status, body["error_id"], body["details"]["field"]) == (400, error_id, field), query
        r = await client.get("/api/metrics?start=2026-11-22T06:00:00Z&end=2026-11-23T06:00:00Z")
        body = await r.json()
        assert r.status == 200 and body["empty"] is True and body["rows"] == []
