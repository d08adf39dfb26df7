"""Migration 0018 (``work_orders.no_revisit``, 不需回访) on a populated database, SQLite and
PostgreSQL: every order, call link, lifecycle row and event survives the upgrade and the
downgrade (a batch rebuild of ``work_orders`` on SQLite would cascade-delete them), existing
orders read false, and a new order keeps what it was filed with."""

from __future__ import annotations

from sqlalchemy import text

from hotline.store import Store
from test_migration_0008 import ORDER_COLUMNS, _migrate, _populate, _rows

from conftest import MakeCall


def test_0018_keeps_every_order_and_link_both_ways(store_url: str, make_call: MakeCall) -> None:
    store = Store(store_url)
    try:
        _migrate(store, "0015")
        _populate(store, make_call)
        before = _rows(store)
        assert len(before["work_order_calls"]) == 12 and len(before["work_order_events"]) == 12
        _migrate(store, "0018")
        assert _rows(store) == before
        with store._engine.connect() as connection:
            assert {r[0] for r in connection.execute(text("SELECT no_revisit FROM work_orders"))} == {False}
        filed = store.create_work_order(call_ids=["1700000000.0"], title="t", description="d", category="help",
                                        created_by="1001", no_revisit=True)
        with store._engine.connect() as connection:   # read as 0018 has it (the store's read needs later tables)
            assert connection.execute(text("SELECT no_revisit FROM work_orders WHERE id = :id"),
                                      {"id": filed["id"]}).scalar_one() in (True, 1)
        _migrate(store, "0015", down=True)
        after = _rows(store)
        assert all(set(before[t]) <= set(after[t]) for t in before if t != "work_orders"), "nothing lost"
        assert len(after["work_order_calls"]) == 13, "the new order's link too"
        with store._engine.connect() as connection:
            columns = text(f"SELECT {ORDER_COLUMNS} FROM work_orders")
            assert len(connection.execute(columns).all()) == len(before["work_orders"]) + 1
    finally:
        store.close()
