"""``/api/calls``: read access to call records, their search and export, and their work orders.

This module only turns query strings into typed arguments; the limits and rules (page size, time
range, known outcomes) are the store's (:mod:`hotline.store.call_search`), which names the
offending argument by the same name as the query parameter. ``format=csv|xlsx`` exports the
whole search (every page, keyset-paged: :mod:`hotline.calls.export`).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from hotline.audit.disclosure import DISCLOSURE
from hotline.calls.export import export_calls
from hotline.exceptions import InvalidRequest
from hotline.exports.download import export_format
from hotline.http.query import date_time, integer, single_values
from hotline.http.responses import json_response
from hotline.privacy import mask_record
from hotline.store import Store
from hotline.store.call_search import CallQuery, search_calls

DEFAULT_LIMIT = 50
_FILTERS = frozenset({"start", "end", "dialled_number", "number", "outcome", "seat", "queue", "work_order_id",
                      "unit", "subject", "state"})
_PARAMS = _FILTERS | {"limit", "offset", "reason", "format"}
_NUMBER = re.compile(r"\+?[0-9]{1,20}")
_SLUG = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_ORDER_ID = re.compile(r"WO-[0-9-]{0,16}")


def add_routes(app: web.Application, store: Store) -> None:
    async def list_calls(request: web.Request) -> web.StreamResponse:
        query, page, fmt = _list_arguments(request.query)
        if fmt is not None:
            return await export_calls(request, store, query, fmt)
        records, total = await asyncio.to_thread(search_calls, store, query, **page)
        items = await request.app[DISCLOSURE].apply(request, [r.to_dict() for r in records],
                                                    handled_by=_seat, mask=mask_record)
        return json_response({"items": items, "total": total, **page})

    async def get_call(request: web.Request) -> web.Response:
        record = await asyncio.to_thread(store.get_call, request.match_info["call_id"])
        items = await request.app[DISCLOSURE].apply(request, [record.to_dict()], handled_by=_seat, mask=mask_record)
        return json_response(items[0])

    async def call_orders(request: web.Request) -> web.Response:
        call_id = request.match_info["call_id"]
        await asyncio.to_thread(store.get_call, call_id)   # no-such-call for an unknown id
        orders = await asyncio.to_thread(store.work_orders_for_call, call_id)
        return json_response({"call_id": call_id, "items": orders})

    app.router.add_get("/api/calls", list_calls)
    app.router.add_get("/api/calls/{call_id}", get_call)
    app.router.add_get("/api/calls/{call_id}/work-orders", call_orders)


def _seat(item: dict[str, Any]) -> list[str | None]:
    return [item.get("seat")]


def _list_arguments(query: MultiMapping[str]) -> tuple[CallQuery, dict[str, int], str | None]:
    """The search, its page (``limit``, ``offset``) and the export format; an empty parameter
    counts as absent."""
    filters: dict[str, Any] = {}
    page = {"limit": DEFAULT_LIMIT, "offset": 0}
    fmt = None
    for name, value in single_values(query, _PARAMS).items():
        if name == "reason":   # the reason is the audit's (hotline.audit.disclosure)
            continue
        if name == "format":
            fmt = export_format(value)
        elif name in ("start", "end"):
            filters[name] = date_time(name, value, need_offset=False)
        elif name in ("limit", "offset"):
            page[name] = integer(name, value)
        elif name in ("dialled_number", "number") and not _NUMBER.fullmatch(value):
            raise InvalidRequest(name, "must be digits with an optional leading +", value)
        elif name == "work_order_id" and not _ORDER_ID.fullmatch(value):
            raise InvalidRequest(name, "an order id or its beginning (WO-20261201-)", value)
        elif name in ("seat", "queue", "unit", "subject", "state") and not _SLUG.fullmatch(value):
            raise InvalidRequest(name, "letters, digits, '_', '.', '-'", value)
        else:
            filters[name] = value
    return CallQuery(**filters), page, fmt
