"""The person key in the store (issue 13), SQLite and PostgreSQL: every write keeps
``call_records.caller_key``, migration 0023 backfills it, and every lookup by caller (the pop's
history, the call and order searches by number, callbacks) finds the person in any form of the number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, insert, select, text

from conftest import MakeCall

from hotline.callbacks.store import CallbackStore
from hotline.pop.store import history
from hotline.records.call import Outcome
from hotline.spine.numbers import person_key
from hotline.store import Store
from hotline.store.call_search import CallQuery, search_calls
from hotline.store.models import CallRow
from hotline.store.store import _MIGRATIONS
from hotline.work_orders.search import OrderQuery, search

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
FORMS = ("013812345678", "+8613812345678", "13812345678", "008613812345678", "8613812345678")
KEY = "+8613812345678"


def _people(store: Store, make_call: MakeCall) -> None:
    """Five calls of one person in five forms (seats 1001/1002), one of a stranger, one anonymous."""
    for i, number in enumerate(FORMS):
        store.upsert_call(make_call(f"1700000000.{i}", caller_number=number, arrived_at=T0 + timedelta(hours=i),
                                    seat="1001" if i % 2 else "1002", queue="hotline"))
    store.upsert_call(make_call("1700000000.8", caller_number="13900000000", arrived_at=T0))
    store.upsert_call(make_call("1700000000.9", caller_number="anonymous", arrived_at=T0))


def _keys(store: Store) -> dict[str, str | None]:
    with store.session() as session:
        return {call_id: key for call_id, key in session.execute(select(CallRow.call_id, CallRow.caller_key))}


def test_every_write_keeps_the_key_and_the_number_as_received(store: Store, make_call: MakeCall) -> None:
    _people(store, make_call)
    keys = _keys(store)
    assert [keys[f"1700000000.{i}"] for i in range(5)] == [KEY] * 5
    assert keys["1700000000.8"] == "+8613900000000" and keys["1700000000.9"] == "anonymous"
    assert store.get_call("1700000000.0").caller_number == "013812345678"   # records keep what was received
    store.upsert_call(make_call("1700000000.0", caller_number="037161234567", arrived_at=T0))   # rewritten
    assert _keys(store)["1700000000.0"] == "+8637161234567"
    with store.session() as session:   # a write through the ORM that forgets the key: the model's default
        session.execute(insert(CallRow).values(
            call_id="x.1", dialled_number="12345", caller_number="+86 138 1234 5678", arrived_at=T0,
            outcome="answered", source="live", extra={}, created_at=T0, updated_at=T0))
    assert _keys(store)["x.1"] == KEY


def test_history_finds_the_person_newest_first(store: Store, make_call: MakeCall) -> None:
    _people(store, make_call)
    order = store.create_work_order(call_ids=["1700000000.1"], title="路灯不亮", description="d",
                                    category="complaint", created_by="1001")
    store.create_work_order(call_ids=["1700000000.8"], title="别人的", description="d", category="consult",
                            created_by="1001")
    found = history(store, person_key("+86 138 1234 5678"), exclude="1700000000.4", calls=3, orders=5)
    assert [c["call_id"] for c in found.calls] == ["1700000000.3", "1700000000.2", "1700000000.1"]
    assert found.calls[0]["caller_number"] == "008613812345678" and found.calls[0]["seat"] == "1001"
    assert [(o["id"], o["state"], o["caller_confidential"], o["category"]) for o in found.orders] == [
        (order["id"], "created", True, "complaint")]
    assert history(store, person_key("anonymous"), exclude=None, calls=5, orders=5).orders == []
    assert history(store, "+8613700000000", exclude=None, calls=5, orders=5).calls == []
    none = history(store, KEY, exclude=None, calls=0, orders=0)
    assert (none.calls, none.orders) == ([], [])


def test_searches_by_number_find_every_form(store: Store, make_call: MakeCall) -> None:
    _people(store, make_call)
    store.create_work_order(call_ids=["1700000000.1"], title="t", description="d", category="complaint",
                            created_by="1001")
    for form in FORMS:
        records, total = search_calls(store, CallQuery(number=form))
        assert total == 5 and {r.caller_number for r in records} == set(FORMS)
        assert search(store, OrderQuery(number=form))["total"] == 1
    assert search_calls(store, CallQuery(number="13900000000"))[1] == 1


def test_callbacks_see_a_later_answered_call_in_another_form(store: Store, make_call: MakeCall) -> None:
    store.upsert_call(make_call("1.1", caller_number="013812345678", outcome=Outcome.abandoned_in_queue,
                                arrived_at=T0))
    store.upsert_call(make_call("1.2", caller_number="+8613812345678", arrived_at=T0 + timedelta(minutes=5)))
    later = CallbackStore(store).answered_since(["013812345678", "13900000000"], T0)
    assert later == {"013812345678": [T0 + timedelta(minutes=5)]}


def test_migration_0023_backfills_existing_records(store_url: str) -> None:
    engine = create_engine(store_url)
    try:
        with engine.begin() as connection:   # a database at 0021 with records in every form
            config = Config()
            config.set_main_option("script_location", str(_MIGRATIONS).replace("%", "%%"))
            config.attributes["connection"] = connection
            command.upgrade(config, "0021")
            for i, number in enumerate((*FORMS, "037161234567", "12345", "anonymous", "")):
                connection.execute(text(
                    "INSERT INTO call_records (call_id, dialled_number, caller_number, arrived_at, outcome, source, "
                    "extra, created_at, updated_at) VALUES (:id, '12345', :n, :t, 'answered', 'live', '{}', :t, :t)"),
                    {"id": f"9.{i}", "n": number, "t": T0})
    finally:
        engine.dispose()
    store = Store(store_url)
    try:
        store.upgrade()
        keys = _keys(store)
        assert [keys[f"9.{i}"] for i in range(5)] == [KEY] * 5
        assert [keys["9.5"], keys["9.6"], keys["9.7"], keys["9.8"]] == ["+8637161234567", "12345", "anonymous", ""]
        assert len(history(store, KEY, exclude=None, calls=10, orders=0).calls) == 5
    finally:
        store.close()
