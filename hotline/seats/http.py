"""Seat routes: the seat list, login, logout, pause with a reason, unpause (in every queue of the
seat, or in the one queue the body names); live queues.

Each command is checked by the seat state machine before Asterisk is asked: a command that
does not fit answers 409 with the machine's error id and changes nothing; an unknown seat is
``no-such-seat`` (404), an unconfigured reason ``unknown-pause-reason`` (422).
"""

from __future__ import annotations

from aiohttp import web

from hotline.http.body import parse_json_body
from hotline.http.responses import json_response
from hotline.exceptions import NoSuchQueue
from hotline.live.hub import LiveHub

from .schemas import PauseBody, UnpauseBody
from .services import SeatService


def add_routes(app: web.Application, seats: SeatService, hub: LiveHub) -> None:
    async def list_seats(request: web.Request) -> web.Response:
        return json_response({"items": seats.views(),
                              "pause_reasons": [{"code": r.code, "name": r.name}
                                                for r in seats.site.seat_rules.pause_reasons]})

    async def get_seat(request: web.Request) -> web.Response:
        return json_response(seats.view(request.match_info["seat_id"]))

    async def login(request: web.Request) -> web.Response:
        return json_response(await seats.login(request.match_info["seat_id"]))

    async def logout(request: web.Request) -> web.Response:
        return json_response(await seats.logout(request.match_info["seat_id"]))

    async def pause(request: web.Request) -> web.Response:
        seat_id = request.match_info["seat_id"]
        seats.view(seat_id)   # an unknown seat is named before the body is looked at
        body = parse_json_body(PauseBody, await request.read())
        return json_response(await seats.pause(seat_id, body.reason, body.queue))

    async def unpause(request: web.Request) -> web.Response:
        seat_id = request.match_info["seat_id"]
        seats.view(seat_id)
        body = parse_json_body(UnpauseBody, await request.read())   # an empty body: every queue
        return json_response(await seats.unpause(seat_id, body.queue))

    async def list_queues(request: web.Request) -> web.Response:
        return json_response({"items": [seats.queue_view(q) for q in sorted(seats.queues)]})

    async def get_queue(request: web.Request) -> web.Response:
        name = request.match_info["queue"]
        if name not in seats.queues:
            raise NoSuchQueue(name)
        return json_response(seats.queue_view(name))

    async def live(request: web.Request) -> web.Response:
        return json_response(hub.snapshot())

    app.router.add_get("/api/seats", list_seats)
    app.router.add_get("/api/seats/{seat_id}", get_seat)
    app.router.add_post("/api/seats/{seat_id}/login", login)
    app.router.add_post("/api/seats/{seat_id}/logout", logout)
    app.router.add_post("/api/seats/{seat_id}/pause", pause)
    app.router.add_post("/api/seats/{seat_id}/unpause", unpause)
    app.router.add_get("/api/queues", list_queues)
    app.router.add_get("/api/queues/{queue}", get_queue)
    app.router.add_get("/api/live", live)
