"""``/api/abandoned`` and ``/api/callbacks``: abandoned calls and the callback tasks seats take."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hotline.http.body import parse_json_body
from hotline.http.responses import json_response
from hotline.audit.disclosure import DISCLOSURE, mask_field
from hotline.callbacks.errors import NoSuchCallback
from hotline.callbacks.schemas import DEFAULT_LIMIT, CreateBody, TakeBody, query
from hotline.callbacks.services import CallbackService


def _task_seat(item: dict[str, Any]) -> list[str | None]:
    return [item.get("seat")]


def _no_seat(item: dict[str, Any]) -> list[str | None]:
    return []   # an abandoned call: no seat handled it


async def _tasks(request: web.Request, items: list[dict[str, Any]], full: bool = True) -> list[dict[str, Any]]:
    """Callback tasks as the reader may see them: the number in full only for the seat that took
    the task (and supervisors, admins), audited (hotline.audit.disclosure)."""
    return await request.app[DISCLOSURE].apply(request, items, handled_by=_task_seat, mask=mask_field("number"),
                                               full_asked=full)


def add_routes(app: web.Application, service: CallbackService) -> None:
    async def abandoned(request: web.Request) -> web.Response:
        args = query(request.query, {"since": "datetime", "queue": "queue", "limit": "int", "full": "flag",
                                     "reason": "text"})
        items = await service.abandoned(since=args.get("since"), queue=args.get("queue"),
                                        limit=args.get("limit", DEFAULT_LIMIT), full=True)
        items = await request.app[DISCLOSURE].apply(request, items, handled_by=_no_seat,
                                                    mask=mask_field("caller_number"),
                                                    full_asked=args.get("full", False))
        return json_response({"items": items, "total": len(items)})

    async def list_callbacks(request: web.Request) -> web.Response:
        args = query(request.query, {"status": "status", "limit": "int", "full": "flag", "reason": "text"})
        tasks = await service.list(args.get("status"), args.get("limit", DEFAULT_LIMIT))
        items = await _tasks(request, [t.to_dict() for t in tasks], args.get("full", False))
        return json_response({"items": items, "total": len(items)})

    async def create(request: web.Request) -> web.Response:
        body = parse_json_body(CreateBody, await request.read())
        task = await service.create_for_call(body.call_id)
        return json_response((await _tasks(request, [task.to_dict()]))[0], status=201, headers={"Location": f"/api/callbacks/{task.id}"})

    def task_id(request: web.Request) -> int:
        raw = request.match_info["callback_id"]
        if not raw.isdigit() or len(raw) > 12:
            raise NoSuchCallback(raw)
        return int(raw)

    async def get(request: web.Request) -> web.Response:
        return json_response((await _tasks(request, [(await service.get(task_id(request))).to_dict()]))[0])

    async def take(request: web.Request) -> web.Response:
        body = parse_json_body(TakeBody, await request.read())
        task = await service.take(task_id(request), body.seat)
        return json_response((await _tasks(request, [task.to_dict()]))[0], status=202)

    app.router.add_get("/api/abandoned", abandoned)
    app.router.add_get("/api/callbacks", list_callbacks)
    app.router.add_post("/api/callbacks", create)
    app.router.add_get("/api/callbacks/{callback_id}", get)
    app.router.add_post("/api/callbacks/{callback_id}/take", take)
