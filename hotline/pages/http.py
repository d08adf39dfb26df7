"""``GET /pages/{asset}``: the script the web pages share (``hotline.wallboard``, ``hotline.portal``).

``common.js`` holds what both pages did alike: the element helpers, the one JSON call to the API
and the session (log in, who am I, log out). Static package data, no data in it: served without
a token, like the pages themselves; each page loads it before its own script.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from hotline.exceptions import NotFound

ASSETS = {"common.js": "application/javascript"}
HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def asset(name: str) -> bytes:
    return resources.files("hotline.pages").joinpath("static", name).read_bytes()


def add_routes(app: web.Application) -> None:
    async def serve(request: web.Request) -> web.Response:
        name = request.match_info["asset"]
        if name not in ASSETS:
            raise NotFound(f"no shared page asset {name!r}", asset=name)
        return web.Response(body=asset(name), content_type=ASSETS[name], charset="utf-8", headers=HEADERS)

    app.router.add_get("/pages/{asset}", serve)
