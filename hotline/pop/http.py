"""``GET /api/seats/{seat_id}/pop``: the seat's screen pop (:mod:`hotline.pop.services`).

Who reads what (:func:`hotline.privacy.sees_full`, the one rule): a seat user only its own seat's
pop (``forbidden`` otherwise: the own-seat rule of ``hotline.auth.roles`` for every ``{seat_id}``
route), supervisors and admins any. The caller's number of the live call is in full for the seat
it rings or talks at (the seat is handling it) unless the call is confidential (a work order about
it is ``caller_confidential``); the earlier calls' numbers in full only for the seat that handled
each and never for a confidential one; supervisors and admins see all. Every response that hands
out a full number is audited (``read.caller_number``, once a minute for the same read: the page
polls) and the context's ``caller_number`` is the live call's as masked.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hotline.audit.disclosure import DISCLOSURE
from hotline.http.responses import json_response
from hotline.privacy import mask_record

from .schemas import parse_query
from .services import PopService


def add_routes(app: web.Application, pops: PopService) -> None:
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


def _seat(item: dict[str, Any]) -> list[str | None]:
    return [item.get("seat")]
