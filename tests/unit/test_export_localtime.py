"""Exported call and order times are the site's local time with the zone in the column header
(a Chinese supervisor reads 北京时间 in Excel), never UTC: a table of zones and instants."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

import hotline.calls.export as call_export
import hotline.work_orders.export as order_export
from hotline.exports.localtime import local_text, stamp, time_header

SH, URUMQI, BERLIN = ZoneInfo("Asia/Shanghai"), ZoneInfo("Asia/Urumqi"), ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(("value", "tz", "cell"), [
    ("2026-12-01T01:00:00+00:00", SH, "2026-12-01 09:00:00"),           # UTC in the store → Beijing
    ("2026-12-01T16:30:05+00:00", SH, "2026-12-02 00:30:05"),           # past local midnight: the next day
    ("2026-12-31T23:59:59+08:00", SH, "2026-12-31 23:59:59"),           # already local: unchanged
    (dt.datetime(2026, 12, 1, 1, 0), SH, "2026-12-01 09:00:00"),       # naive from the store: UTC
    (dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC), URUMQI, "2026-12-01 07:00:00"),
    ("2026-07-01T10:00:00+00:00", BERLIN, "2026-07-01 12:00:00"),       # summer time
    ("2026-12-01T10:00:00+00:00", BERLIN, "2026-12-01 11:00:00"),
    (None, SH, None), ("", SH, None), ("not a time", SH, "not a time"), (3, SH, 3),
])
def test_local_text(value: object, tz: ZoneInfo, cell: object) -> None:
    assert local_text(value, tz) == cell


@pytest.mark.parametrize(("tz", "header"), [
    (SH, "来电时间(北京时间 UTC+8)"), (ZoneInfo("Asia/Chongqing"), "来电时间(北京时间 UTC+8)"),
    (URUMQI, "来电时间(当地时间 Asia/Urumqi)"), (BERLIN, "来电时间(当地时间 Europe/Berlin)"),
])
def test_the_header_names_the_zone(tz: ZoneInfo, header: str) -> None:
    assert time_header("来电时间", tz) == header


def test_call_and_order_rows_are_local() -> None:
    call = {"call_id": "1700000000.1", "arrived_at": "2026-12-01T16:00:00+00:00", "caller_number": "13900000000"}
    assert call_export.call_row(call, ["WO-1"], SH)[:3] == ["1700000000.1", "2026-12-02 00:00:00", "13900000000"]
    assert call_export.header(SH)[1] == "来电时间(北京时间 UTC+8)"
    order = {"id": "WO-20261202-000001", "created_at": "2026-12-01T16:00:00+00:00", "category": "complaint",
             "due": "2026-12-08T10:00:00+00:00", "call_ids": ["c1"]}
    row = order_export.order_row(order, SH)
    assert (row[1], row[2], row[8], row[-1]) == ("2026-12-02 00:00:00", "投诉", "2026-12-08 18:00:00", "c1")
    header = order_export.header(SH)
    assert (header[1], header[8]) == ("创建时间(北京时间 UTC+8)", "办理期限(北京时间 UTC+8)")
    assert stamp(dt.datetime(2026, 12, 1, 16, 0, tzinfo=dt.UTC), SH) == "20261202-000000"
