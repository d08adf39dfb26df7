"""``/api/calls``: read access to call records.

This module only turns query strings into typed arguments; the limits and
rules (page size, time range, known outcomes) are the store's, which names the
offending argument by the same name as the query parameter.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from hotline.http.query import date_time, integer, single_values
from hotline.http.responses import json_response
from hotline.audit.disclosure import DISCLOSURE
from hotline.exceptions import InvalidRequest
from hotline.privacy import mask_record
from hotline.store import Store

DEFAULT_LIMIT = 50
_PARAMS = frozenset({"start", "end", "dialled_number", "outcome", "limit", "offset", "reason"})
_NUMBER = re.compile(r"\+?[0-9]{1,20}")


def add_routes(app: web.Application, store: Store) -> None:
    async def list_calls(request: web.Request) -> web.Response:
        arguments = _list_arguments(request.query)
        records, total = await asyncio.to_thread(store.list_calls, **arguments)
        items = await request.app[DISCLOSURE].apply(request, [r.to_dict() for r in records],
                                                    handled_by=_seat, mask=mask_record)
        return json_response({"items": items, "total": total,
                              "limit": arguments["limit"], "offset": arguments["offset"]})

    async def get_call(request: web.Request) -> web.Response:
        record = await asyncio.to_thread(store.get_call, request.match_info["call_id"])
        items = await request.app[DISCLOSURE].apply(request, [record.to_dict()], handled_by=_seat, mask=mask_record)
        return json_response(items[0])

    app.router.add_get("/api/calls", list_calls)
    app.router.add_get("/api/calls/{call_id}", get_call)


def _seat(item: dict[str, Any]) -> list[str | None]:
    return [item.get("seat")]


def _list_arguments(query: MultiMapping[str]) -> dict[str, Any]:
    """Keyword arguments of ``Store.list_calls``; an empty parameter counts as absent."""
    arguments: dict[str, Any] = {"limit": DEFAULT_LIMIT, "offset": 0}
    for name, value in single_values(query, _PARAMS).items():
        if name == "reason":   # the reason is the audit's (hotline.audit.disclosure)
            continue
        if name in ("start", "end"):
            arguments[name] = date_time(name, value, need_offset=False)
        elif name in ("limit", "offset"):
            arguments[name] = integer(name, value)
        elif name == "dialled_number" and not _NUMBER.fullmatch(value):
            raise InvalidRequest(name, "must be digits with an optional leading +", value)
        else:
            arguments[name] = value
    return arguments
