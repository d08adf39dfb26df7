"""``GET /api/work-orders?format=csv|xlsx``: the whole order search as a file, and the daily or
monthly report per unit (``GET /api/order-reports``) as JSON, CSV or XLSX.

The search is read a page of :data:`hotline.store.store.MAX_PAGE` orders at a time, bounded by
the moment the export began (``end``: an order filed meanwhile cannot shift a page; orders are
never deleted), so memory stays bounded for any number of orders. An order row carries no
caller number (the same as the JSON search); a unit user's export is its own orders without call
ids, as its search.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from hotline.exceptions import InvalidRequest
from hotline.exports.download import export_format, send_table
from hotline.exports.localtime import local_text, stamp, time_header
from hotline.exports.tables import Row
from hotline.http.query import single_values
from hotline.http.responses import json_response
from hotline.store.store import MAX_PAGE
from hotline.work_orders.reports import HEADER as REPORT_HEADER
from hotline.work_orders.reports import Period
from hotline.work_orders.search import OrderQuery
from hotline.work_orders.services import WorkOrderService

CATEGORY_NAMES = {"consult": "咨询", "help": "求助", "complaint": "投诉", "report": "举报", "suggestion": "建议",
                  "criticism": "批评", "praise": "表扬"}
COLUMNS = (("id", "工单编号"), ("created_at", "创建时间"), ("category", "类别"), ("title", "标题"),
           ("state", "状态"), ("unit", "承办单位"), ("subject", "事项分类"), ("area", "区域"),
           ("due", "办理期限"), ("caller_confidential", "保密"), ("created_by", "受理座席"))
TIMES = frozenset({"created_at", "due"})   # written in the site's local time, the zone in the header

PAGE = MAX_PAGE   # orders read per page
Search = Callable[[OrderQuery], Awaitable[dict[str, Any]]]
Shape = Callable[[dict[str, Any]], dict[str, Any]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def header(tz: ZoneInfo) -> tuple[str, ...]:
    return (*(time_header(name, tz) if key in TIMES else name for key, name in COLUMNS), "关联来电")


def order_row(item: dict[str, Any], tz: ZoneInfo) -> list[Any]:
    cells = [local_text(item.get(k), tz) if k in TIMES else item.get(k) for k, _ in COLUMNS]
    cells[2] = CATEGORY_NAMES.get(str(item.get("category")), item.get("category"))
    return [*cells, " ".join(item.get("call_ids") or ())]


async def export_orders(request: web.Request, search: Search, query: OrderQuery, fmt: str, *, tz: ZoneInfo,
                        shape: Shape = lambda i: i, size: int | None = None) -> web.StreamResponse:
    size = size or PAGE
    now = dt.datetime.now(dt.UTC)
    query = dataclasses.replace(query, end=min(query.end, now) if query.end else now, limit=size, offset=0)

    async def pages() -> AsyncIterator[Sequence[Row]]:
        offset = 0
        while True:
            found = await search(dataclasses.replace(query, offset=offset))
            items = found["items"]
            if items:
                yield [order_row(shape(i), tz) for i in items]
            if len(items) < size:
                return
            offset += size

    at = stamp(now, tz)
    return await send_table(request, fmt=fmt, filename=f"工单-{at}", fallback=f"work-orders-{at}",
                            title="工单", header=header(tz), pages=pages())


def report_handler(service: WorkOrderService) -> Handler:
    """``GET /api/order-reports?period=day|month&date=&format=json|csv|xlsx``."""
    async def report(request: web.Request) -> web.StreamResponse:
        params = single_values(request.query, ("period", "date", "format"), strip=True)
        if "date" not in params:
            raise InvalidRequest("date", "required: YYYY-MM-DD (period=day) or YYYY-MM (period=month)")
        fmt = params.get("format", "json")
        fmt = fmt if fmt == "json" else export_format(fmt)
        period, rows = await service.report(params.get("period", "day"), params["date"])
        if fmt == "json":
            return json_response({"period": period.kind, "date": period.label, "columns": list(REPORT_HEADER),
                                  "rows": rows})
        return await send_report(request, period, rows, fmt)
    return report


async def send_report(request: web.Request, period: Period, rows: list[list[object]], fmt: str) -> web.StreamResponse:
    async def pages() -> AsyncIterator[Sequence[Row]]:
        yield rows

    return await send_table(request, fmt=fmt, filename=f"{period.title}-{period.label}",
                            fallback=f"order-report-{period.kind}-{period.label}", title=period.title,
                            header=REPORT_HEADER, pages=pages())
