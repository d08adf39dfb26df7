"""``GET /api/audit?limit=&user=&action=``: the newest audit rows first (supervisor, admin)."""

from __future__ import annotations

from aiohttp import web

from hotline.http.responses import json_response
from hotline.audit.services import AuditService
from hotline.http.query import integer


def add_routes(app: web.Application, audit: AuditService) -> None:
    async def list_audit(request: web.Request) -> web.Response:
        limit = integer("limit", request.query.get("limit", "100"))
        items = await audit.list(limit=limit, user=request.query.get("user") or None,
                                 action=request.query.get("action") or None)
        return json_response({"items": items, "total": len(items)})

    app.router.add_get("/api/audit", list_audit)
