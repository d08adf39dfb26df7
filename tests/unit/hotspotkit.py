"""A site with subjects and areas, a scripted clock, and a stream of orders filed through the order
service at scripted times (the hotspot tests: tests/unit/test_hotspot_*.py)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hotline.config import parse_site
from hotline.config.site import SiteConfig
from hotline.records.call import CallRecord, Outcome
from hotline.store import Store
from hotline.work_orders.schemas import WorkOrderCreate
from hotline.work_orders.services import WorkOrderService

TZ = dt.timezone(dt.timedelta(hours=8))
LEADER = {"name": "王局长", "phone": "13800000001"}


def site(users: list[dict[str, Any]] | None = None, **hotspots: Any) -> SiteConfig:
    return parse_site({
        "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
        "seats": [{"id": "1001", "name": "坐席1001", "secret": "seat-secret-1001"}],
        "orders": {"units": [{"id": "shuiwu", "name": "水务局", "leader": LEADER}],
                   "subjects": [{"id": "water", "name": "供水", "unit": "shuiwu"},
                                {"id": "road", "name": "道路", "unit": "shuiwu"}],
                   "areas": [{"id": "hualong", "name": "华龙区"}, {"id": "puyang", "name": "濮阳县"}]},
        "hotspots": {"window_minutes": 60, "baseline_days": 7, "factor": 3.0, "min_count": 5, **hotspots},
        "users": users or []}, "hotspots.yaml")


class Clock:
    """The order service's clock, moved by the test."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def local(day: int, hh: int, mm: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, hh, mm, tzinfo=TZ)


class Stream:
    """Orders filed (and started with a subject and an area) at the clock's time."""

    def __init__(self, store: Store, s: SiteConfig, clock: Clock) -> None:
        self.clock = clock
        self.orders = WorkOrderService(store, orders=s.orders, timezone=s.site.timezone, now=clock)
        store.upsert_call(CallRecord(call_id="1795000000.1", dialled_number="12345", caller_number="13800138000",
                                     arrived_at=local(1, 9, 0), outcome=Outcome.answered))

    async def order(self, at: dt.datetime, subject: str, area: str) -> str:
        self.clock.at = at
        filed = await self.orders.create(WorkOrderCreate.model_validate_json(json.dumps({
            "call_ids": ["1795000000.1"], "title": "停水", "description": "小区停水", "category": "help",
            "created_by": "1001", "subject": subject, "area": area})))
        return str(filed["id"])

    async def baseline(self, today: int = 20, days: int = 7) -> None:
        """Each of the ``days`` days before ``today``: in 09:30-10:30 one 供水 and three 道路 orders in
        华龙区; one 供水 at 08:10 (outside the window)."""
        for day in range(today - days, today):
            await self.order(local(day, 8, 10), "water", "hualong")
            await self.order(local(day, 9, 40), "water", "hualong")
            await self.order(local(day, 9, 45), "road", "hualong")
            await self.order(local(day, 9, 50), "road", "hualong")
            await self.order(local(day, 9, 55), "road", "hualong")
