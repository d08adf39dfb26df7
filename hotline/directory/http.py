"""``/api/directory``: list and search the directory, look one number up."""

from __future__ import annotations

from aiohttp import web

from hotline.http.responses import json_response
from hotline.directory.schemas import parse_number, parse_query
from hotline.directory.services import DirectoryService


def add_routes(app: web.Application, service: DirectoryService) -> None:
    async def search(request: web.Request) -> web.Response:
        query = parse_query(request.query)
        items, total = service.search(query)
        return json_response({"items": items, "total": total, "limit": query.limit, "offset": query.offset})

    async def get(request: web.Request) -> web.Response:
        return json_response(service.get(parse_number(request.match_info["number"])))

    app.router.add_get("/api/directory", search)
    app.router.add_get("/api/directory/{number}", get)
