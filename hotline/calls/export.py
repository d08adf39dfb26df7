"""``GET /api/calls?format=csv|xlsx``: the whole search as a file, a page of
:data:`hotline.store.store.MAX_PAGE` calls at a time (keyset pages: memory stays bounded for any
number of calls, and a call written meanwhile neither shifts a page nor appears twice).

Callers' numbers follow the API's rule (:func:`hotline.privacy.sees_full`, each row masked where
the reader may not see it); a reader whose role may see full numbers is audited once for the
whole export, before the first row leaves (``read.caller_number``, target ``export:calls``, the
search in ``detail.query``), not once per page.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from hotline.audit.disclosure import DISCLOSURE
from hotline.exports.download import send_table
from hotline.exports.localtime import local_text, stamp, time_header
from hotline.exports.tables import Row
from hotline.privacy import mask_record
from hotline.store import Store
from hotline.store.call_search import CallQuery, order_ids_of, pages_after
from hotline.store.store import MAX_PAGE

COLUMNS = (("call_id", "来电编号"), ("arrived_at", "来电时间"), ("caller_number", "来电号码"),
           ("dialled_number", "拨打号码"), ("queue", "队列"), ("seat", "座席"), ("outcome", "结果"),
           ("wait_seconds", "等待秒数"), ("talk_seconds", "通话秒数"), ("hangup_cause_text", "挂机原因"),
           ("recording", "录音文件"))
TIMES = frozenset({"arrived_at"})   # written in the site's local time, the zone in the header


def header(tz: ZoneInfo) -> tuple[str, ...]:
    return (*(time_header(name, tz) if key in TIMES else name for key, name in COLUMNS), "关联工单")


def call_row(item: dict[str, Any], orders: list[str], tz: ZoneInfo) -> list[Any]:
    return [*(local_text(item.get(k), tz) if k in TIMES else item.get(k) for k, _ in COLUMNS), " ".join(orders)]
PAGE = MAX_PAGE   # calls read per page


def _query_dict(query: CallQuery) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v
            for k, v in dataclasses.asdict(query).items() if v is not None}


async def export_calls(request: web.Request, store: Store, query: CallQuery, fmt: str,
                       size: int | None = None) -> web.StreamResponse:
    size = size or PAGE
    disclosure = request.app[DISCLOSURE]
    first = await asyncio.to_thread(pages_after, store, query, None, size)   # bad query: a JSON error
    await disclosure.record_export(request, "calls", fmt, _query_dict(query))

    async def pages() -> AsyncIterator[Sequence[Row]]:
        records = first
        while records:
            items = await disclosure.apply(request, [r.to_dict() for r in records], audit=False,
                                           handled_by=lambda i: [i.get("seat")], mask=mask_record)
            orders = await asyncio.to_thread(order_ids_of, store, [r.call_id for r in records])
            yield [call_row(item, orders[item["call_id"]], store.timezone) for item in items]
            if len(records) < size:
                return
            last = records[-1]
            records = await asyncio.to_thread(pages_after, store, query, (last.arrived_at, last.call_id), size)

    at = stamp(dt.datetime.now(dt.UTC), store.timezone)
    return await send_table(request, fmt=fmt, filename=f"来电记录-{at}", fallback=f"calls-{at}",
                            title="来电记录", header=header(store.timezone), pages=pages())
