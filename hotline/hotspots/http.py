"""``/api/hotspots``: the hotspot warning's alerts (热点预警), and a supervisor's acknowledgement.

Supervisors and admins only (the route table of :mod:`hotline.auth.roles`: a seat, department or
unit user is ``forbidden``); the acknowledgement is in the audit log (the audit middleware) and
names who acknowledged in the alert.
"""

from __future__ import annotations

from aiohttp import web

from hotline.hotspots.schemas import AckBody, alert_id, limit_query
from hotline.hotspots.services import HotspotService
from hotline.http.body import parse_json_body
from hotline.http.responses import json_response
from hotline.principal import principal_of


def add_routes(app: web.Application, service: HotspotService) -> None:
    async def listing(request: web.Request) -> web.Response:
        return json_response(await service.listing(limit_query(request.query)))

    async def ack(request: web.Request) -> web.Response:
        which = alert_id(request.match_info["alert_id"])
        parse_json_body(AckBody, await request.read())
        p = principal_of(request)
        return json_response(await service.ack(which, p.name if p else "api"))

    app.router.add_get("/api/hotspots", listing)
    app.router.add_post("/api/hotspots/{alert_id}/ack", ack)
