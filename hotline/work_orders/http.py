"""``/api/work-orders``: filing and reading work orders, their lifecycle actions, trail and KPIs.

One ``POST /api/work-orders/{id}/<action>`` per action of the lifecycle table (dashes for
underscores: ``request-extension``); whether the caller's role may take it is the table's
(``illegal-transition`` otherwise), and a unit user acts only on its unit's orders
(``not-your-order``); a 协办 unit takes only the table's ``co_unit`` rows (``contribute``, its 协办意见).
A unit user finds (search) and reads (lifecycle) an order only when its unit holds it (主办) or
helps (协办), or, for the duty office's users (``orders.duty_office.id``), when it is an emergency
item (reported to them at once; they act on it only as its 主办), and sees the caller as
:mod:`hotline.work_orders.identity` allows.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web
from multidict import MultiDict

from hotline.audit.disclosure import DISCLOSURE
from hotline.exceptions import InvalidRequest, NotYourOrder
from hotline.exports.download import export_format
from hotline.http.responses import json_response
from hotline.principal import principal_of
from hotline.privacy import Viewer
from hotline.work_orders.export import export_orders, report_handler
from hotline.work_orders.identity import for_unit
from hotline.work_orders.kpis import DIMENSIONS
from hotline.work_orders.lifecycle import TABLE
from hotline.work_orders.schemas import parse_action, parse_create, parse_search, parse_start, parse_update
from hotline.work_orders.services import WorkOrderService, event_payload
from hotline.work_orders.transitions import Actor, Order

# The actions a client posts (reopen is evaluate with rating unsatisfied; warn and flag_overdue
# are the system's).
API_ACTIONS = tuple(r.action for r in TABLE if r.action not in ("reopen", "warn", "flag_overdue"))
OPEN_ACTOR = Actor("api", "admin")   # no users configured: the operator's own API


def path_of(action: str) -> str:
    return f"/api/work-orders/{{work_order_id}}/{action.replace('_', '-')}"


def actor_of(request: web.Request) -> Actor:
    p = principal_of(request)
    return OPEN_ACTOR if p is None else Actor(p.name, p.role.value, p.unit)


def lifecycle_dict(order: Order, meta: dict[str, str | None]) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None
    return {"id": order.id, "state": order.state.value, "urgency": order.urgency.value, **meta,
            "unit": order.unit, "co_units": list(order.co_units), "dispatch_due": iso(order.dispatch_due),
            "dispatched_at": iso(order.dispatched_at), "return_due": iso(order.return_due), "due": iso(order.due),
            "closure": order.closure.value if order.closure else None,
            "rating": order.rating.value if order.rating else None, "redo_count": order.redo_count,
            "extension_days": order.extension_days}


def update_handler(service: WorkOrderService) -> Any:
    """``PATCH /api/work-orders/{id}``: the filed order's fields that may change (``no_revisit``)."""
    async def update(request: web.Request) -> web.Response:
        body = parse_update(await request.read())
        return json_response(await service.update(request.match_info["work_order_id"], body.changes()))
    return update


def kpis_handler(service: WorkOrderService) -> Any:
    async def kpis(request: web.Request) -> web.Response:
        dimension = request.query.get("dimension", "unit")
        if dimension not in DIMENSIONS:
            raise InvalidRequest("dimension", f"one of {', '.join(DIMENSIONS)}", dimension)
        return json_response(await service.kpis(dimension))
    return kpis


def add_routes(app: web.Application, service: WorkOrderService) -> None:
    async def create(request: web.Request) -> web.Response:
        order = await service.create(parse_create(await request.read()), actor_of(request))
        return json_response(order, status=201, headers={"Location": f"/api/work-orders/{order['id']}"})

    async def search(request: web.Request) -> web.StreamResponse:
        params = MultiDict(request.query)
        formats = params.popall("format", [])
        if len(formats) > 1:
            raise InvalidRequest("format", "given more than once", formats)
        fmt = export_format(formats[0]) if formats else None
        query = parse_search(params)
        actor = actor_of(request)
        if actor.role == "unit":
            if query.number is not None:
                raise InvalidRequest("number", "a unit user does not search by caller number", query.number)
            if query.unit not in (None, actor.unit):
                raise NotYourOrder(query.id or "*", query.unit)
            # its orders as 主办 and as 协办 (each item's party says which); unit=<its own>: 主办 only;
            # the duty office also finds every emergency item reported to it (party: duty)
            query = dataclasses.replace(query, involving=actor.unit, or_reported=actor.unit == service.duty_office)

        def shape(item: dict[str, Any]) -> dict[str, Any]:
            if actor.role != "unit":
                return item
            return for_unit(item, Viewer(actor.name, "unit"), caller_number=None, units_see_numbers=False)[0]
        if fmt is not None:
            return await export_orders(request, service.search, query, fmt, tz=service.timezone, shape=shape)
        found = await service.search(query)
        found["items"] = [shape(i) for i in found["items"]]
        return json_response(found)

    async def get(request: web.Request) -> web.Response:
        return json_response(await service.get(request.match_info["work_order_id"]))

    async def start(request: web.Request) -> web.Response:
        body = parse_start(await request.read())
        events = await service.start(request.match_info["work_order_id"], urgency=body.urgency,
                                     subject=body.subject, area=body.area, actor=actor_of(request))
        return json_response({"events": [event_payload(e) for e in events]}, status=201)

    def act(action: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            body = parse_action(await request.read())
            event = await service.act(request.match_info["work_order_id"], action, actor_of(request), body.fields())
            return json_response(event_payload(event))
        return handler

    async def lifecycle(request: web.Request) -> web.Response:
        order_id = request.match_info["work_order_id"]
        actor = actor_of(request)
        order, meta = await service.order(order_id)
        filed = await service.get(order_id)
        events = await service.trail(order_id)
        if actor.role == "unit":
            reported = actor.unit == service.duty_office and any(e["action"] == "report_duty" for e in events)
            if actor.unit != order.unit and actor.unit not in order.co_units and not reported:
                raise NotYourOrder(order_id, actor.unit)
            call_id, number = await service.caller_number(filed["call_ids"])
            filed, full = for_unit(filed, Viewer(actor.name, "unit"), caller_number=number,
                                   units_see_numbers=service.units_see_numbers)
            if full and call_id is not None:
                await request.app[DISCLOSURE].record_full(request, [call_id])
        return json_response({"order": filed, "lifecycle": lifecycle_dict(order, meta), "events": events})

    app.router.add_post("/api/work-orders", create)
    app.router.add_get("/api/work-orders", search)
    app.router.add_get("/api/work-orders/{work_order_id}", get)
    app.router.add_patch("/api/work-orders/{work_order_id}", update_handler(service))
    app.router.add_post("/api/work-orders/{work_order_id}/start", start)
    app.router.add_get("/api/work-orders/{work_order_id}/lifecycle", lifecycle)
    for action in API_ACTIONS:
        app.router.add_post(path_of(action), act(action))
    app.router.add_get("/api/order-kpis", kpis_handler(service))
    app.router.add_get("/api/order-reports", report_handler(service))
