"""``/api/work-orders``: filing and reading work orders."""

from __future__ import annotations

from aiohttp import web

from hotline.http.responses import json_response
from hotline.work_orders.schemas import parse_create
from hotline.work_orders.services import WorkOrderService


def add_routes(app: web.Application, service: WorkOrderService) -> None:
    async def create(request: web.Request) -> web.Response:
        order = await service.create(parse_create(await request.read()))
        return json_response(order, status=201, headers={"Location": f"/api/work-orders/{order['id']}"})

    async def get(request: web.Request) -> web.Response:
        return json_response(await service.get(request.match_info["work_order_id"]))

    app.router.add_post("/api/work-orders", create)
    app.router.add_get("/api/work-orders/{work_order_id}", get)
