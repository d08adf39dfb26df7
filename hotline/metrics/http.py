"""GET /api/metrics (KPI report) and GET /metrics (Prometheus, :mod:`hotline.metrics.prom`)."""

from __future__ import annotations

import asyncio
import inspect
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from hotline.http.query import date_time
from hotline.http.responses import json_response
from hotline.exceptions import InvalidRequest

from .errors import WindowInverted
from .prom import PromMetrics
from .services import MetricsService

METRICS = web.AppKey("metrics", MetricsService)
LIVE: web.AppKey[Callable[[], Any]] = web.AppKey("metrics_live")
PROM = web.AppKey("metrics_prom", PromMetrics)

_PARAMS = {"start", "end", "by", "interval", "queue", "seat", "dialled_number"}


def _time(request: web.Request, name: str, default: datetime) -> datetime:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    return date_time(name, raw.replace(" ", "+"))   # an unencoded + arrives as a space


async def report(request: web.Request) -> web.Response:
    unknown = set(request.query) - _PARAMS
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidRequest(name, "unknown query parameter", request.query[name])
    now = datetime.now(timezone.utc)
    start = _time(request, "start", now - timedelta(hours=24))
    end = _time(request, "end", now)
    if end <= start:
        raise WindowInverted("end", f"must be after start ({start.isoformat()})", end.isoformat())
    service = request.app[METRICS]
    only = {k: request.query[k] for k in ("queue", "seat", "dialled_number") if request.query.get(k)}
    body = await asyncio.to_thread(service.report, start, end, request.query.get("by", "all") or "all",
                                   request.query.get("interval") or None, **only)
    body["rolling_24h"] = await asyncio.to_thread(service.rolling)
    return json_response(body)


async def prometheus(request: web.Request) -> web.Response:
    live = request.app[LIVE]()
    if inspect.isawaitable(live):
        live = await live
    body = request.app[PROM].exposition(live)   # no database read: counters and in-memory gauges only
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(app: web.Application, service: MetricsService,
               live: Callable[[], dict[str, Any] | Awaitable[dict[str, Any]]], prom: PromMetrics) -> None:
    app[METRICS] = service
    app[LIVE] = live
    app[PROM] = prom
    app.router.add_get("/api/metrics", report)
    app.router.add_get("/metrics", prometheus)
