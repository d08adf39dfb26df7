"""``GET /wallboard`` (the page and its two assets) and ``GET /api/live/stream`` (its data).

The page is static and holds no data, so it is served without a token; everything it shows
comes from ``/api/live/stream`` (supervisor, admin), with callers masked in the controller."""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import Any

from aiohttp import web

from hotline.auth.middleware import principal_of
from hotline.config.site import SiteConfig
from hotline.exceptions import NotFound
from hotline.wallboard.services import HEARTBEAT_S, LiveSource, live_frames

ASSETS = {"wallboard.js": "application/javascript", "wallboard.css": "text/css"}


def _asset(name: str) -> bytes:
    return resources.files("hotline.wallboard").joinpath("static", name).read_bytes()


def add_routes(app: web.Application, live: LiveSource, site: SiteConfig,
               heartbeat_s: float = HEARTBEAT_S) -> None:
    reasons = [{"code": r.code, "name": r.name} for r in site.seat_rules.pause_reasons]
    streams: set[asyncio.Task[object]] = set()

    async def close_streams(app: web.Application) -> None:
        """On shutdown: an open wallboard must not hold the server for its shutdown timeout."""
        for task in list(streams):
            task.cancel()

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=_asset("index.html"), content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-cache", "X-Frame-Options": "DENY",
                                     "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'"})

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["asset"]
        if name not in ASSETS:
            raise NotFound(f"no wallboard asset {name!r}", asset=name)
        return web.Response(body=_asset(name), content_type=ASSETS[name], charset="utf-8",
                            headers={"Cache-Control": "no-cache"})

    async def stream(request: web.Request) -> web.StreamResponse:
        principal = principal_of(request)
        extra: dict[str, Any] = {"pause_reasons": reasons,
                                 "me": principal.to_dict() if principal else {"name": None, "role": "admin"}}
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                               "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        await response.prepare(request)
        frames = live_frames(live, heartbeat_s, extra)
        task = asyncio.current_task()
        if task is not None:
            streams.add(task)
        try:
            async for chunk in frames:
                await response.write(chunk)
        except ConnectionResetError:
            pass   # the browser went away (noticed at the next write: an event or the heartbeat)
        finally:
            streams.discard(task)   # type: ignore[arg-type]
            await frames.aclose()
        return response

    app.router.add_get("/wallboard", page)
    app.router.add_get("/wallboard/{asset}", asset)
    app.router.add_get("/api/live/stream", stream)
    app.on_shutdown.append(close_streams)
