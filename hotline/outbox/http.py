"""``/api/outbox/dead-letters`` (supervisors) and ``/api/integration/{system}/changes`` (the
order system itself, authenticated by its own token or HMAC, not by a hotline user)."""

from __future__ import annotations

from aiohttp import web

from hotline.http.responses import json_response
from hotline.outbox.schemas import delivery_id, limit
from hotline.outbox.services import OutboxService

MAX_BODY = 64 * 1024


def add_routes(app: web.Application, service: OutboxService) -> None:
    async def dead_letters(request: web.Request) -> web.Response:
        items = await service.dead_letters(limit(request.query))
        return json_response({"items": items, "total": len(items), "purged": await service.purged()})

    async def retry(request: web.Request) -> web.Response:
        return json_response(await service.retry(delivery_id(request.match_info["delivery_id"])))

    async def discard(request: web.Request) -> web.Response:
        await service.discard(delivery_id(request.match_info["delivery_id"]))
        return web.Response(status=204)

    async def receive(request: web.Request) -> web.Response:
        body = await request.content.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=len(body))
        answer, replayed = await service.receive(request.match_info["system"], body,
                                                 authorization=request.headers.get("Authorization"),
                                                 signature=request.headers.get("X-Hotline-Signature"))
        return json_response({**answer, "replayed": replayed}, status=int(answer["http_status"]))

    async def changes(request: web.Request) -> web.Response:
        items = await service.inbound_changes(limit(request.query))
        return json_response({"items": items, "total": len(items)})

    app.router.add_get("/api/outbox/dead-letters", dead_letters)
    app.router.add_post("/api/outbox/dead-letters/{delivery_id}/retry", retry)
    app.router.add_delete("/api/outbox/dead-letters/{delivery_id}", discard)
    app.router.add_post("/api/integration/{system}/changes", receive)
    app.router.add_get("/api/integration/changes", changes)
