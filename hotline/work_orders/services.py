"""Work-order operations for the event loop: the store's blocking calls run in a thread."""

from __future__ import annotations

import asyncio
from typing import Any

from hotline.store import Store
from hotline.work_orders.schemas import WorkOrderCreate


class WorkOrderService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def create(self, request: WorkOrderCreate) -> dict[str, Any]:
        return await asyncio.to_thread(self._store.create_work_order, **request.model_dump())

    async def get(self, work_order_id: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._store.get_work_order, work_order_id)
