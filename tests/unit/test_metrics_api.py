"""GET /api/metrics and GET /metrics through the real app (SQLite store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from hotline.calls.model import Outcome
from hotline.store import Store
from apikit import api_app


async def test_metrics_report_and_prometheus(sqlite_store: Store, make_call) -> None:
    now = datetime.now(UTC)
    for i, (outcome, wait) in enumerate([(Outcome.answered, 3.0), (Outcome.answered, 30.0),
                                         (Outcome.abandoned_in_queue, 12.0)]):
        at = now - timedelta(minutes=5 + i)
        sqlite_store.upsert_call(make_call(f"1795000001.{i}", arrived_at=at, queued_at=at, outcome=outcome,
                                           wait_seconds=wait, talk_seconds=20.0 if outcome == Outcome.answered
                                           else None, queue="hotline"))
    app = api_app(sqlite_store)
    async with TestClient(TestServer(app)) as client:
        r = await client.get("/api/metrics?by=queue")
        assert r.status == 200
        body: dict[str, Any] = await r.json()
        row = body["rows"][0]
        assert (row["group"], row["offered"], row["answered"], row["answered_in_sl"]) == ("hotline", 3, 2, 1)
        assert row["answer_rate"] == 0.6667 and row["answer_rate_15s"] == 0.3333
        assert body["rolling_24h"]["alarm"] is True
        r = await client.get("/api/metrics?by=county")
        assert r.status == 400 and (await r.json())["details"]["field"] == "by"
        r = await client.get("/api/metrics?start=yesterday")
        assert r.status == 400 and (await r.json())["details"]["field"] == "start"
        r = await client.get("/api/metrics?colour=red")
        assert r.status == 400 and (await r.json())["details"]["field"] == "colour"
        r = await client.get("/metrics")
        assert r.status == 200 and r.content_type == "text/plain"
        text = await r.text()
        assert 'hotline_component_up{component="ami",' in text
        assert "hotline_offered" not in text    # today's ratios are PromQL now, not gauges read from the store
