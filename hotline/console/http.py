"""``GET /console`` (坐席工作台), its assets, the pinned browser SIP library, and the seat's phone.

The page is static and holds no data, so it is served without a token, like the wallboard and
the portal; everything it shows comes from the API as the logged-in seat user may see it (seat
state and commands ``/api/seats/{seat_id}/…``, queues ``/api/queues``, live calls and call
control ``/api/calls/…``, the screen pop ``/api/seats/{seat_id}/pop``). The WebRTC phone's
credentials come from ``GET /api/seats/{seat_id}/phone``, which the own-seat rule keeps to the
seat's own user (``hotline.auth.roles``). The page writes every value as text, never as HTML.
"""

from __future__ import annotations

import html
import json
from importlib import resources

from aiohttp import web

from hotline.config.site import SiteConfig
from hotline.console import vendor
from hotline.console.services import phone_config
from hotline.exceptions import NotFound
from hotline.http.responses import json_response

ASSETS = {"console.js": "application/javascript", "phone.js": "application/javascript", "console.css": "text/css"}


def headers(site: SiteConfig) -> dict[str, str]:
    """The page may open a WebSocket only to Asterisk's (another port, so not 'self')."""
    return {"Cache-Control": "no-cache", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob:; "
                                       "frame-ancestors 'none'; form-action 'none'"}


def _asset(name: str) -> bytes:
    return resources.files("hotline.console").joinpath("static", name).read_bytes()


def page_html(site: SiteConfig) -> bytes:
    """The page with the site's pause reasons (a seat user may not read the seat list that has them)."""
    reasons = [{"code": r.code, "name": r.name} for r in site.seat_rules.pause_reasons]
    data = html.escape(json.dumps(reasons, ensure_ascii=False))
    return _asset("index.html").replace(b"{{pause_reasons}}", data.encode())


def add_routes(app: web.Application, site: SiteConfig) -> None:
    hdrs = headers(site)
    body = page_html(site)

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/html", charset="utf-8", headers=hdrs)

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["asset"]
        if name not in ASSETS:
            raise NotFound(f"no console asset {name!r}", asset=name)
        return web.Response(body=_asset(name), content_type=ASSETS[name], charset="utf-8", headers=hdrs)

    async def library(request: web.Request) -> web.Response:
        path = request.match_info["path"]
        body = vendor.library().get(path)
        if body is None:
            raise NotFound(f"no file {path!r} in {vendor.NAME} {vendor.VERSION}", path=path)
        return web.Response(body=body, content_type="application/javascript", charset="utf-8",
                            headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"})

    async def phone(request: web.Request) -> web.Response:
        host = request.url.host or "localhost"
        return json_response(dict(phone_config(site, request.match_info["seat_id"], host, request.secure)),
                             headers={"Cache-Control": "no-store"})

    app.router.add_get("/console", page)
    app.router.add_get("/console/vendor/sip.js/{path:[A-Za-z0-9_/.-]+}", library)
    app.router.add_get("/console/{asset}", asset)
    app.router.add_get("/api/seats/{seat_id}/phone", phone)
