"""``GET /api/seats/{seat_id}/pop``: the seat's screen pop (:mod:`hotline.pop.services`).

Who reads what (:func:`hotline.privacy.sees_full`, the one rule): a seat user only its own seat's
pop (``forbidden`` otherwise: the own-seat rule of ``hotline.auth.roles`` for every ``{seat_id}``
route), supervisors and admins any. The caller's number of the live call is in full for the seat
it rings or talks at (the seat is handling it) unless the call is confidential (a work order about
it is ``caller_confidential``); the earlier calls' numbers in full only for the seat that handled
each and never for a confidential one; supervisors and admins see all. Every response that hands
out a full number is audited (``read.caller_number``, once a minute for the same read: the page
polls) and the context's ``caller_number`` is the live call's as masked.

``GET /api/seats/{seat_id}/pop/events``: the seat's changes as server-sent events
(:mod:`hotline.pop.events`, same own-seat rule), so the page reads the pop when its phone rings
instead of polling.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from hotline.audit.disclosure import DISCLOSURE
from hotline.http.responses import json_response
from hotline.live.hub import LiveHub
from hotline.privacy import mask_record

from .events import HEARTBEAT_S, seat_frames
from .schemas import parse_query
from .services import PopService


def add_routes(app: web.Application, pops: PopService, hub: LiveHub, heartbeat_s: float = HEARTBEAT_S) -> None:
    streams: set[asyncio.Task[object]] = set()

    async def close_streams(app: web.Application) -> None:
        """On shutdown: an open page must not hold the server for its shutdown timeout."""
        for task in list(streams):
            task.cancel()

    async def events(request: web.Request) -> web.StreamResponse:
        seat_id = request.match_info["seat_id"]
        initial = pops.seat_view(seat_id)   # no-such-seat before the stream starts
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                               "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        await response.prepare(request)
        frames = seat_frames(hub, seat_id, initial, heartbeat_s)
        task = asyncio.current_task()
        if task is not None:
            streams.add(task)
        try:
            async for chunk in frames:
                await response.write(chunk)
        except ConnectionResetError:
            pass   # the page went away (noticed at the next write)
        finally:
            if task is not None:
                streams.discard(task)
            await frames.aclose()
        return response

    async def get_pop(request: web.Request) -> web.Response:
        seat_id = request.match_info["seat_id"]
        query = parse_query(request.query)
        pop = await pops.pop(seat_id, calls=query.calls, orders=query.orders)
        out = pop.to_dict()
        if pop.call is None:
            return json_response(out)
        items: list[dict[str, Any]] = [pop.call, *pop.history["calls"]]
        shown = await request.app[DISCLOSURE].apply(request, items, handled_by=_seat,
                                                    mask=mask_record)
        out["call"] = shown[0]
        out["history"] = {**pop.history, "calls": shown[1:]}
        if out["order_context"] is not None:
            out["order_context"] = {**out["order_context"], "caller_number": shown[0]["caller_number"]}
        return json_response(out)

    app.router.add_get("/api/seats/{seat_id}/pop", get_pop)
    app.router.add_get("/api/seats/{seat_id}/pop/events", events)
    app.on_shutdown.append(close_streams)


def _seat(item: dict[str, Any]) -> list[str | None]:
    return [item.get("seat")]
