"""``/api/revisits`` and ``/api/revisit-refusals``: 回访 tasks, a seat's rating and number, the
refusal list.

A task's number is shown masked unless ``full=1`` and the reader may see it (supervisors and
admins; a seat for the tasks it rated), audited like every full number
(:mod:`hotline.audit.disclosure`). A number the outbound rule refuses is ``number-not-allowed``
(422), and the refusal is written to the audit log whoever asked (seats too).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hotline.audit.disclosure import DISCLOSURE, mask_field
from hotline.http.body import parse_json_body
from hotline.http.responses import json_response
from hotline.principal import principal_of
from hotline.revisits.errors import NoSuchRevisit
from hotline.revisits.schemas import DEFAULT_LIMIT, NumberBody, RatingBody, RefusalBody, list_query
from hotline.revisits.services import RevisitService
from hotline.work_orders.transitions import Actor

OPEN_ACTOR = Actor("api", "admin")   # no users configured: the operator's own API


def _actor(request: web.Request) -> Actor:
    p = principal_of(request)
    return OPEN_ACTOR if p is None else Actor(p.name, p.role.value, p.unit)


async def _shown(request: web.Request, items: list[dict[str, Any]], full: bool) -> list[dict[str, Any]]:
    return await request.app[DISCLOSURE].apply(request, items, handled_by=lambda i: [i.get("seat")],
                                               mask=mask_field("number"), call_id=lambda i: None, full_asked=full)


def add_routes(app: web.Application, service: RevisitService) -> None:
    def task_id(request: web.Request) -> int:
        raw = request.match_info["revisit_id"]
        if not raw.isdigit() or len(raw) > 12:
            raise NoSuchRevisit(raw)
        return int(raw)

    async def list_tasks(request: web.Request) -> web.Response:
        args = list_query(request.query)
        tasks = await service.list(args.get("status"), args.get("work_order_id"), args.get("limit", DEFAULT_LIMIT))
        items = await _shown(request, [t.to_dict() for t in tasks], args.get("full", False))
        return json_response({"items": items, "total": len(items)})

    async def get(request: web.Request) -> web.Response:
        full = list_query(request.query).get("full", False)
        return json_response((await _shown(request, [(await service.get(task_id(request))).to_dict()], full))[0])

    async def rating(request: web.Request) -> web.Response:
        body = parse_json_body(RatingBody, await request.read())
        task = await service.rate(task_id(request), body.rating.value, _actor(request))
        return json_response((await _shown(request, [task.to_dict()], False))[0])

    def by_hand(step: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            move = service.claim if step == "claim" else service.release
            task = await move(task_id(request), _actor(request))
            return json_response((await _shown(request, [task.to_dict()], False))[0])
        return handler

    async def number(request: web.Request) -> web.Response:
        body = parse_json_body(NumberBody, await request.read())
        task = await service.renumber(task_id(request), body.number, _actor(request))
        return json_response((await _shown(request, [task.to_dict()], False))[0])

    async def refusals(request: web.Request) -> web.Response:
        args = list_query(request.query)
        items = await service.refusals(args.get("limit", DEFAULT_LIMIT))
        return json_response({"items": items, "total": len(items)})

    async def refuse(request: web.Request) -> web.Response:
        body = parse_json_body(RefusalBody, await request.read())
        actor = _actor(request)
        done = await service.refuse(body.number, user=actor.name, role=actor.role, reason=body.reason)
        return json_response(done, status=201 if done["added"] else 200)

    app.router.add_get("/api/revisits", list_tasks)
    app.router.add_get("/api/revisits/{revisit_id}", get)
    app.router.add_post("/api/revisits/{revisit_id}/rating", rating)
    app.router.add_post("/api/revisits/{revisit_id}/number", number)
    app.router.add_post("/api/revisits/{revisit_id}/claim", by_hand("claim"))
    app.router.add_post("/api/revisits/{revisit_id}/release", by_hand("release"))
    app.router.add_get("/api/revisit-refusals", refusals)
    app.router.add_post("/api/revisit-refusals", refuse)
