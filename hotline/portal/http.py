"""``GET /portal`` (承办单位门户) and its two assets.

The page is static and holds no data, so it is served without a token, like the wallboard;
everything it shows comes from the work-order API as the logged-in unit user may see it
(``GET /api/work-orders``, ``…/{id}/lifecycle``; ``sign``, ``return``, ``request-extension``,
``reply``), which checks the unit on each order and protects the caller's identity. The page
writes every value as text (never as HTML), so an order's text cannot run as script.
"""

from __future__ import annotations

import html
from importlib import resources

from aiohttp import web

from hotline.exceptions import NotFound

ASSETS = {"portal.js": "application/javascript", "portal.css": "text/css"}
HEADERS = {"Cache-Control": "no-cache", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer",
           "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'none'"}


def _asset(name: str) -> bytes:
    return resources.files("hotline.portal").joinpath("static", name).read_bytes()


def page_html(timezone: str) -> bytes:
    """The page with the site's time zone (deadlines are shown in site time, whatever the browser's)."""
    return _asset("index.html").replace(b"{{timezone}}", html.escape(timezone).encode())


def add_routes(app: web.Application, timezone: str) -> None:
    body = page_html(timezone)

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/html", charset="utf-8", headers=HEADERS)

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["asset"]
        if name not in ASSETS:
            raise NotFound(f"no portal asset {name!r}", asset=name)
        return web.Response(body=_asset(name), content_type=ASSETS[name], charset="utf-8", headers=HEADERS)

    app.router.add_get("/portal", page)
    app.router.add_get("/portal/{asset}", asset)
