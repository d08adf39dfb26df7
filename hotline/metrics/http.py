"""GET /api/metrics (KPI report) and GET /metrics (Prometheus)."""

from __future__ import annotations

import asyncio
import inspect
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

from aiohttp import web

from hotline.api.responses import json_response
from hotline.exceptions import InvalidRequest

from .services import MetricsService

METRICS = web.AppKey("metrics", MetricsService)
LIVE = web.AppKey("metrics_live", Callable[[], Any])

_PARAMS = {"start", "end", "by", "interval"}


def _time(request: web.Request, name: str, default: datetime) -> datetime:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError:
        raise InvalidRequest(name, "must be an ISO 8601 time with a UTC offset", raw) from None
    if value.tzinfo is None:
        raise InvalidRequest(name, "must include a UTC offset", raw)
    return value


async def report(request: web.Request) -> web.Response:
    unknown = set(request.query) - _PARAMS
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidRequest(name, "unknown query parameter", request.query[name])
    now = datetime.now(timezone.utc)
    start = _time(request, "start", now - timedelta(hours=24))
    end = _time(request, "end", now)
    if end <= start:
        raise InvalidRequest("end", f"must be after start ({start.isoformat()})", end.isoformat())
    service = request.app[METRICS]
    body = await asyncio.to_thread(service.report, start, end, request.query.get("by", "all") or "all",
                                   request.query.get("interval") or None)
    body["rolling_24h"] = await asyncio.to_thread(service.rolling)
    return json_response(body)


async def prometheus(request: web.Request) -> web.Response:
    live = request.app[LIVE]()
    if inspect.isawaitable(live):
        live = await live
    text = await asyncio.to_thread(request.app[METRICS].prometheus, live)
    return web.Response(text=text, content_type="text/plain", charset="utf-8",
                        headers={"X-Prometheus-Format": "0.0.4"})


def add_routes(app: web.Application, service: MetricsService,
               live: Callable[[], dict[str, Any] | Awaitable[dict[str, Any]]]) -> None:
    app[METRICS] = service
    app[LIVE] = live
    app.router.add_get("/api/metrics", report)
    app.router.add_get("/metrics", prometheus)
