"""``POST /api/seats/{seat_id}/spy`` ``{"mode": "listen"|"whisper"|"barge"}`` (supervisor, admin).

202: the supervisor's phone is ringing; it joins the seat's call when answered."""

from __future__ import annotations

from aiohttp import web

from hotline.http.body import parse_json_body
from hotline.http.responses import json_response
from hotline.auth.middleware import principal_of
from hotline.spy.schemas import SpyBody
from hotline.spy.services import SpyService


def add_routes(app: web.Application, spy: SpyService) -> None:
    async def start(request: web.Request) -> web.Response:
        body = parse_json_body(SpyBody, await request.read())
        principal = principal_of(request)
        done = await spy.spy(user=principal.name if principal else None, phone=principal.seat if principal else None,
                             seat_id=request.match_info["seat_id"], mode=body.mode)
        return json_response(done, status=202)

    app.router.add_post("/api/seats/{seat_id}/spy", start)
