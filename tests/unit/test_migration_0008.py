"""Migration 0008 (categories 批评 criticism, 表扬 praise) on a populated database, SQLite and
PostgreSQL: every order, call link, lifecycle row and event survives (SQLite rebuilds the table
with foreign keys on, where a plain rebuild cascades deletes), and an unknown category is still
refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, Table, text
from sqlalchemy.exc import IntegrityError

from hotline.store import Store
from hotline.store.models import OrderEventRow, OrderLifecycleRow
from hotline.store.rows import call_values

from conftest import MakeCall

MIGRATIONS = Path(__file__).resolve().parents[2] / "hotline" / "store" / "migrations"
TABLES = ("work_orders", "work_order_calls", "work_order_lifecycle", "work_order_events", "call_records")
# work_orders' columns at 0007 (later migrations add some: 0018 no_revisit)
ORDER_COLUMNS = "id, title, description, category, status, created_by, caller_confidential, created_at, updated_at"
# call_records' columns every revision has (0023 adds caller_key)
CALL_COLUMNS = "call_id, dialled_number, caller_number, arrived_at, seat, outcome, extra, created_at"


def _migrate(store: Store, revision: str, *, down: bool = False) -> None:
    with store._engine.begin() as connection:   # the store's own engine: SQLite foreign keys on
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


COLUMNS = {"work_orders": ORDER_COLUMNS, "call_records": CALL_COLUMNS}


def _rows(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    with store._engine.connect() as connection:
        return {t: sorted(tuple(map(str, r)) for r in connection.execute(
                    text(f"SELECT {COLUMNS.get(t, '*')} FROM {t}")))
                for t in TABLES}


def insert_calls_as_they_were(store: Store, records: list[Any]) -> None:
    """Call records written with the columns the database has at its revision (the store's own
    write has the model's later ones: 0023 caller_key)."""
    with store._engine.begin() as connection:
        table = Table("call_records", MetaData(), autoload_with=connection)
        now = dt.datetime.now(dt.UTC)
        for record in records:
            values = {**call_values(record), "source": "live", "created_at": now, "updated_at": now}
            connection.execute(table.insert(), {k: v for k, v in values.items() if k in table.c})


def _populate(store: Store, make_call: MakeCall) -> None:
    at = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
    insert_calls_as_they_were(store, [make_call(f"1700000000.{n}", caller_number=f"1380000{n:04d}")
                                      for n in range(12)])
    categories = ("consult", "help", "complaint", "report", "suggestion")
    for n in range(6):   # orders with two calls each; every order in its lifecycle with two events
        order = {"id": f"WO-20261130-{n + 1:06d}"}
        with store.session() as session:   # the 0007 columns only (the model has later ones)
            session.execute(text(f"INSERT INTO work_orders ({ORDER_COLUMNS}) VALUES (:id, :title, '描述', :category, "
                                 "'open', '1001', :confidential, :at, :at)"),
                            {"id": order["id"], "title": f"工单{n}", "category": categories[n % 5],
                             "confidential": categories[n % 5] in ("complaint", "report"), "at": at})
            session.execute(text("INSERT INTO work_order_calls (work_order_id, call_id) VALUES (:o, :a), (:o, :b)"),
                            {"o": order["id"], "a": f"1700000000.{2 * n}", "b": f"1700000000.{2 * n + 1}"})
            session.add(OrderLifecycleRow(work_order_id=order["id"], state="dispatched", urgency="normal",
                                          subject=None, area=None, unit="zjj", co_units=[], redo_count=0,
                                          extension_days=0, updated_at=at))
            session.add_all(OrderEventRow(work_order_id=order["id"], at=at, action=a, actor="s", role="seat",
                                          unit=None, from_state=None, to_state="created", fields={"n": n})
                            for a in ("create", "dispatch"))


@pytest.mark.parametrize("new", ["criticism", "praise"])
def test_0008_keeps_every_order_and_link_and_allows_the_new_categories(
        store_url: str, make_call: MakeCall, new: str) -> None:
    store = Store(store_url)
    try:
        _migrate(store, "0007")
        _populate(store, make_call)
        before = _rows(store)
        assert len(before["work_order_calls"]) == 12 and len(before["work_order_events"]) == 12
        store.upgrade()
        assert _rows(store) == before
        order = store.create_work_order(call_ids=["1700000000.0"], title="t", description="d", category=new,
                                        created_by="1001")
        assert store.get_work_order(order["id"])["category"] == new
    finally:
        store.close()


def test_0008_still_refuses_an_unknown_category(store_url: str, make_call: MakeCall) -> None:
    store = Store(store_url)
    try:
        _migrate(store, "0007")
        _populate(store, make_call)
        store.upgrade()
        with pytest.raises(IntegrityError), store._engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO work_orders (id, title, description, category, status, created_by, "
                "caller_confidential, created_at, updated_at) VALUES ('WO-x', 't', 'd', 'gossip', 'open', "
                "'1001', false, '2026-11-30 02:00:00', '2026-11-30 02:00:00')"))
    finally:
        store.close()


def test_0008_downgrade_keeps_links_and_refuses_while_a_new_category_exists(
        store_url: str, make_call: MakeCall) -> None:
    store = Store(store_url)
    try:
        _migrate(store, "0007")
        _populate(store, make_call)
        store.upgrade()
        before = _rows(store)
        _migrate(store, "0007", down=True)
        assert _rows(store) == before
        store.upgrade()
        store.create_work_order(call_ids=["1700000000.0"], title="t", description="d", category="praise",
                                created_by="1001")
        during = _rows(store)
        with pytest.raises(IntegrityError):
            _migrate(store, "0007", down=True)
        assert _rows(store) == during   # the failed downgrade changed nothing
    finally:
        store.close()
