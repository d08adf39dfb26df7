"""``/api/knowledge``: the knowledge base's entries, search, the stale list; and
``/api/work-orders/{id}/knowledge``, an answer used on the order's call.

Search: ``GET /api/knowledge?q=`` (the controller's server takes a request line of up to 256 KiB,
:data:`hotline.api.app.MAX_LINE`: 10 KB of any text, percent-encoded) or
``POST /api/knowledge/search`` with ``{"q": ...}`` for a long text; both answer 200 with a list,
empty when nothing matches or the text holds no letter or digit. Every write is a version with
its author; supervisors' writes are in the audit log too (the audit middleware). The unit rule is
the service's (:mod:`hotline.knowledge.services`).
"""

from __future__ import annotations

from aiohttp import web

from hotline.http.body import parse_json_body
from hotline.http.responses import json_response
from hotline.knowledge.schemas import LinkBody, entry_id, list_query, parse_entry, parse_search, unit_query
from hotline.knowledge.services import KnowledgeService, Who
from hotline.principal import principal_of
from hotline.http.query import NON_NEGATIVE, integer, single_values


def who_of(request: web.Request) -> Who:
    p = principal_of(request)
    return Who("api", "admin") if p is None else Who(p.name, p.role.value, p.unit)


def add_routes(app: web.Application, service: KnowledgeService) -> None:
    async def listing(request: web.Request) -> web.Response:
        service.may_read(who_of(request))
        q = list_query(request.query)
        if q.q is not None:
            return json_response(await service.search(q.q, q.unit, q.limit))
        return json_response(await service.listing(q.unit, q.limit))

    async def search(request: web.Request) -> web.Response:
        service.may_read(who_of(request))
        body = parse_search(await request.read())
        return json_response(await service.search(body.q, body.unit, body.limit))

    async def create(request: web.Request) -> web.Response:
        body = parse_entry(await request.read(), update=False)
        return json_response(await service.create(body, who_of(request)), status=201)

    async def one(request: web.Request) -> web.Response:
        service.may_read(who_of(request))
        args = single_values(request.query, ("version",))
        version = integer("version", args["version"], pattern=NON_NEGATIVE) if "version" in args else None
        return json_response(await service.get(entry_id(request.match_info["entry_id"]), version))

    async def update(request: web.Request) -> web.Response:
        body = parse_entry(await request.read(), update=True)
        return json_response(await service.update(entry_id(request.match_info["entry_id"]), body, who_of(request)))

    async def withdraw(request: web.Request) -> web.Response:
        return json_response(await service.withdraw(entry_id(request.match_info["entry_id"]), who_of(request)))

    async def stale(request: web.Request) -> web.Response:
        return json_response(await service.stale(unit_query(request.query)))

    async def link(request: web.Request) -> web.Response:
        body = parse_json_body(LinkBody, await request.read())
        done, new = await service.link(request.match_info["work_order_id"], body.entry_id, body.version,
                                       who_of(request))
        return json_response(done, status=201 if new else 200)

    app.router.add_get("/api/knowledge", listing)
    app.router.add_post("/api/knowledge", create)
    app.router.add_post("/api/knowledge/search", search)
    app.router.add_get("/api/knowledge/stale", stale)
    app.router.add_get("/api/knowledge/{entry_id}", one)
    app.router.add_put("/api/knowledge/{entry_id}", update)
    app.router.add_delete("/api/knowledge/{entry_id}", withdraw)
    app.router.add_post("/api/work-orders/{work_order_id}/knowledge", link)
