"""``GET /api/reconciliation?day=YYYY-MM-DD``: the reconciliation report (supervisor)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from hotline.exceptions import InvalidRequest
from hotline.http.responses import json_response

from .schemas import day
from .services import ReconcileService

RECONCILE = web.AppKey("reconcile", ReconcileService)


async def get_report(request: web.Request) -> web.Response:
    unknown = set(request.query) - {"day"}
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidRequest(name, "unknown query parameter", request.query[name])
    wanted = day(request.query.get("day"))
    body = await asyncio.to_thread(request.app[RECONCILE].report, wanted)
    return json_response(body)


def add_routes(app: web.Application, service: ReconcileService) -> None:
    app[RECONCILE] = service
    app.router.add_get("/api/reconciliation", get_report)
