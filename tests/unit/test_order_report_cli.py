"""``hotline order-report day|month DATE``: the report per unit as CSV (stdout) or XLSX (a file)."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest
import yaml

from hotline import cli
from hotline.config import load_site
from hotline.store import Store
from hotline.work_orders.lifecycle import Urgency
from hotline.work_orders.reports import HEADER
from hotline.work_orders.services import WorkOrderService
from hotline.work_orders.transitions import Actor

from conftest import MakeCall

LEADER = {"name": "王局长", "phone": "13800000001"}
SITE = {"trunks": [{"name": "carrier", "host": "127.0.0.2"}],
        "seats": [{"id": "1001", "name": "坐席1001", "secret": "seat-secret-1001"}],
        "orders": {"units": [{"id": "renshe", "name": "人社局", "leader": LEADER},
                             {"id": "zhujian", "name": "住建局", "leader": LEADER}]}}


@pytest.fixture
def site_args(tmp_path: Path, make_call: MakeCall) -> list[str]:
    site_file = tmp_path / "site.yaml"
    site_file.write_text(yaml.safe_dump(SITE, allow_unicode=True), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'h.db'}"
    args = ["--site", str(site_file), "--state-dir", str(tmp_path / "state"), "--set", f"store.url={url}"]
    site = load_site(str(site_file), overrides={"store.url": url})
    store = Store(url)
    store.upgrade()
    store.upsert_call(make_call("c1"))
    now = dt.datetime(2026, 12, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    service = WorkOrderService(store, orders=site.orders, now=lambda: now)
    seat = Actor("s1001", "seat")

    async def seed() -> None:
        for unit in ("renshe", "renshe", "zhujian"):
            order = store.create_work_order(call_ids=["c1"], title="t", description="d", category="criticism",
                                            created_by="1001")
            await service.start(order["id"], urgency=Urgency.normal, subject=None, area=None, actor=seat)
            await service.act(order["id"], "dispatch", seat, {"unit": unit})
    asyncio.run(seed())
    store.close()
    return args


def test_the_daily_report_as_csv_on_stdout(site_args: list[str], capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert cli.main([*site_args, "order-report", "day", "2026-12-01"]) == 0
    out = capsysbinary.readouterr().out
    assert out.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(out.decode("utf-8-sig"), newline="")))
    assert table[0] == list(HEADER)
    assert [r[1:4] for r in table[1:]] == [["renshe", "人社局", "2"], ["zhujian", "住建局", "1"], ["", "合计", "3"]]


def test_the_monthly_report_as_xlsx(site_args: list[str], tmp_path: Path) -> None:
    out = tmp_path / "月报.xlsx"
    assert cli.main([*site_args, "order-report", "month", "2026-12", "--out", str(out)]) == 0
    book = openpyxl.load_workbook(out, read_only=True)
    rows = [list(r) for r in book["工单月报"].iter_rows(values_only=True)]
    book.close()
    assert rows[0] == list(HEADER)
    assert [r[:4] for r in rows[1:]] == [["2026-12", "renshe", "人社局", 2], ["2026-12", "zhujian", "住建局", 1],
                                         ["2026-12", None, "合计", 3]]


def test_a_bad_date_is_an_error_naming_it(site_args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([*site_args, "order-report", "day", "2026-02-30"]) == 2
    assert "invalid-request" in capsys.readouterr().err
