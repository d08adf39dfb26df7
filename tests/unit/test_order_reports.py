"""The daily and monthly order report per unit: hand-computed tables (pure), the period in site
time, and the report over HTTP as JSON, CSV (BOM, Chinese file name) and XLSX (read back)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from hotline.exceptions import InvalidRequest
from hotline.store import Store
from hotline.work_orders.kpis import Assignment
from hotline.work_orders.lifecycle import Rating
from hotline.work_orders.reports import HEADER, period_of, report
from hotline.work_orders.services import WorkOrderService

from authkit import serve
from apikit import Api
from test_order_api import PASSWORDS, _now, _order, site
from test_order_api import store_with_call as store_with_call  # noqa: F401  (the fixture)

SH = ZoneInfo("Asia/Shanghai")
UNITS = [("renshe", "人社局"), ("zhujian", "住建局")]


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SH)


ROWS = [
    Assignment("A", "renshe", "", "", at(1, 9), closed=True, on_time=True, rating=Rating.satisfied),
    Assignment("B", "renshe", "", "", at(1, 23, 30), returned=True),
    Assignment("C", "renshe", "", "", at(1, 10), closed=True, rating=Rating.basically_satisfied, reopened=True),
    Assignment("G", "zhujian", "", "", at(1, 11), rating=Rating.unsatisfied, reopened=True),
    Assignment("D", "zhujian", "", "", at(2, 0, 30).astimezone(dt.UTC)),   # 12-01 16:30 UTC: the 2nd in site time
    Assignment("E", "jiaotong", "", "", at(1, 8)),                          # a unit no longer configured
    Assignment("F", "renshe", "", "", at(30, 23, 59, month=11)),           # the month before
]


def test_the_daily_report_by_hand() -> None:
    rows = report(period_of("day", "2026-12-01", SH), ROWS, UNITS)
    #               转办 回退 承办 办结 按期 评价 满意 重办 | 办结率 按期办结率 满意率 回退率 重办率
    assert rows == [
        ["2026-12-01", "renshe", "人社局", 3, 1, 2, 2, 1, 2, 2, 1, 100.0, 50.0, 100.0, 33.33, 50.0],
        ["2026-12-01", "zhujian", "住建局", 1, 0, 1, 0, 0, 1, 0, 1, 0.0, None, 0.0, 0.0, 100.0],
        ["2026-12-01", "jiaotong", "jiaotong", 1, 0, 1, 0, 0, 0, 0, 0, 0.0, None, None, 0.0, 0.0],
        ["2026-12-01", "", "合计", 5, 1, 4, 2, 1, 3, 2, 2, 50.0, 50.0, 66.67, 20.0, 50.0],
    ]
    assert len(HEADER) == len(rows[0])


def test_the_monthly_report_by_hand() -> None:
    rows = report(period_of("month", "2026-12", SH), ROWS, UNITS)
    assert rows == [
        ["2026-12", "renshe", "人社局", 3, 1, 2, 2, 1, 2, 2, 1, 100.0, 50.0, 100.0, 33.33, 50.0],
        ["2026-12", "zhujian", "住建局", 2, 0, 2, 0, 0, 1, 0, 1, 0.0, None, 0.0, 0.0, 50.0],
        ["2026-12", "jiaotong", "jiaotong", 1, 0, 1, 0, 0, 0, 0, 0, 0.0, None, None, 0.0, 0.0],
        ["2026-12", "", "合计", 6, 1, 5, 2, 1, 3, 2, 2, 40.0, 50.0, 66.67, 16.67, 40.0],
    ]


def test_a_day_without_orders_has_every_unit_with_empty_rates() -> None:
    rows = report(period_of("day", "2026-12-05", SH), ROWS, UNITS)
    assert [r[:4] for r in rows] == [["2026-12-05", "renshe", "人社局", 0], ["2026-12-05", "zhujian", "住建局", 0],
                                     ["2026-12-05", "", "合计", 0]]
    assert all(r[-5:] == [None] * 5 for r in rows)


@pytest.mark.parametrize(("kind", "when", "field"), [("day", "2026-13-01", "date"), ("day", "2026-12", "date"),
                                                     ("month", "2026-12-01", "date"), ("week", "2026-12", "period")])
def test_a_bad_period_names_its_field(kind: str, when: str, field: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        period_of(kind, when, SH)
    assert err.value.details["field"] == field


def test_december_ends_at_the_new_year() -> None:
    p = period_of("month", "2026-12", SH)
    assert (p.start, p.end) == (at(1, 0), dt.datetime(2027, 1, 1, tzinfo=SH))


async def _get(api: Api, url: str) -> tuple[int, dict[str, str], bytes]:
    await api.call("boss", "GET", "/api/me")
    r = await api.client.get(url, headers={"Authorization": f"Bearer {api.tokens['boss']}"})
    return r.status, dict(r.headers), await r.read()


async def test_the_report_over_http_as_json_csv_and_xlsx(store_with_call: Store, tmp_path: Path) -> None:  # noqa: F811
    s = site()
    service = WorkOrderService(store_with_call, orders=s.orders, now=_now)   # 2026-12-01 10:00 +08:00
    async with serve(store_with_call, tmp_path, s, work_orders=service) as client:
        api = Api(client, PASSWORDS)
        await _order(api, "praise")   # dispatched to renshe
        status, body = await api.call("boss", "GET", "/api/order-reports?period=day&date=2026-12-01")
        assert status == 200 and body["columns"] == list(HEADER)
        one: list[Any] = [1, 0, 1, 0, 0, 0, 0, 0, 0.0, None, None, 0.0, 0.0]
        expected: list[list[Any]] = [["2026-12-01", "renshe", "人社局", *one],
                                     ["2026-12-01", "zhujian", "住建局", *[0] * 8, *[None] * 5],
                                     ["2026-12-01", "", "合计", *one]]
        assert body["rows"] == expected

        status, headers, data = await _get(api, "/api/order-reports?period=day&date=2026-12-01&format=csv")
        assert status == 200 and headers["Content-Type"].startswith("text/csv")
        assert unquote(headers["Content-Disposition"].split("UTF-8''")[1]) == "工单日报-2026-12-01.csv"
        assert 'filename="order-report-day-2026-12-01.csv"' in headers["Content-Disposition"]
        assert data.startswith(b"\xef\xbb\xbf")
        table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        assert table[0] == list(HEADER)
        assert table[1:] == [["" if c is None else str(c) for c in row] for row in expected]

        status, headers, data = await _get(api, "/api/order-reports?period=month&date=2026-12&format=xlsx")
        assert status == 200 and unquote(headers["Content-Disposition"].split("UTF-8''")[1]) == "工单月报-2026-12.xlsx"
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        got = [(list(r) + [None] * len(HEADER))[:len(HEADER)] for r in book["工单月报"].iter_rows(values_only=True)]
        book.close()
        # an empty text cell reads back as None
        assert got == [list(HEADER), *[["2026-12", *[None if c == "" else c for c in r[1:]]] for r in expected]]

        status, body = await api.call("boss", "GET", "/api/order-reports?period=day")
        assert (status, body["error_id"], body["details"]["field"]) == (400, "invalid-request", "date")
        status, body = await api.call("boss", "GET", "/api/order-reports?date=2026-12-01&format=pdf")
        assert (status, body["details"]["field"]) == (400, "format")
        assert (await api.call("s1001", "GET", "/api/order-reports?date=2026-12-01"))[0] == 403
