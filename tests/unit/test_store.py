"""The work-order store, against SQLite and a real PostgreSQL (``store`` is parametrized)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from hotline.records.call import CallRecord, Outcome
from hotline.exceptions import InvalidRequest, NoSuchCall, NoSuchWorkOrder, StoreError
from hotline.store import Store
from hotline.store.models import Base
from hotline.records.work_order import Category

MakeCall = Callable[..., CallRecord]


class Server(Protocol):
    """The ``own_pg`` fixture: a PostgreSQL server this test may stop and start."""

    def start(self) -> str: ...
    def stop(self) -> None: ...


T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
CST = timezone(timedelta(hours=8))


def full_record() -> CallRecord:
    """Every field set, times in +08:00, so the round trip has nothing to hide behind defaults."""
    return CallRecord(
        call_id="pbx1-1700000000.42", dialled_number="96196", caller_number="+8613800138000",
        arrived_at=datetime(2026, 11, 23, 9, 0, 0, 123000, tzinfo=CST), legacy_mode="merged",
        department="housing", origin="110", trunk="ct-sip", queue="housing", seat="1001",
        queued_at=datetime(2026, 11, 23, 9, 0, 5, tzinfo=CST),
        answered_at=datetime(2026, 11, 23, 9, 0, 17, 500000, tzinfo=CST),
        ended_at=datetime(2026, 11, 23, 9, 3, 0, tzinfo=CST), wait_seconds=12.5, talk_seconds=162.5,
        outcome=Outcome.answered, hangup_cause=16, hangup_cause_text="Normal Clearing",
        recording="pbx1-1700000000.42.wav", source="cel-reconcile",
        extra={"ivr": ["1", "3"], "note": "市民来电咨询公积金", "transfers": 0},
    )


def raw_timestamps(url: str, call_id: str) -> tuple[Any, Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(text("SELECT created_at, updated_at FROM call_records WHERE call_id = :i"),
                                     {"i": call_id}).one()
            return row[0], row[1]
    finally:
        engine.dispose()


# --- call records ----------------------------------------------------------------


def test_every_field_round_trips(store: Store) -> None:
    record = full_record()
    store.upsert_call(record)
    got = store.get_call(record.call_id)
    assert got == record
    assert got.arrived_at.tzinfo == UTC  # same instant, normalised to UTC


def test_same_record_twice_is_one_row(store: Store, make_call: MakeCall) -> None:
    record = make_call()
    store.upsert_call(record)
    store.upsert_call(record)
    assert store.list_calls() == ([record], 1)


def test_later_write_replaces_fields_and_keeps_created_at(store: Store, store_url: str,
                                                         make_call: MakeCall) -> None:
    early = make_call(outcome=Outcome.failed, extra={"partial": True})
    store.upsert_call(early)
    created, first_update = raw_timestamps(store_url, early.call_id)
    late = make_call(outcome=Outcome.answered, seat="1001", answered_at=T0 + timedelta(seconds=9),
                     talk_seconds=60.0, extra={})
    store.upsert_call(late)
    assert store.get_call(late.call_id) == late
    assert store.list_calls()[1] == 1
    created_again, second_update = raw_timestamps(store_url, early.call_id)
    assert created_again == created
    assert second_update > first_update


def test_unknown_call_is_no_such_call(store: Store) -> None:
    with pytest.raises(NoSuchCall) as caught:
        store.get_call("nope.1")
    assert caught.value.to_dict()["error_id"] == "no-such-call"
    assert caught.value.details == {"call_id": "nope.1"}


def test_naive_datetime_is_refused(store: Store, make_call: MakeCall) -> None:
    with pytest.raises(InvalidRequest) as caught:
        store.upsert_call(make_call(ended_at=datetime(2026, 11, 23, 9, 0)))
    assert caught.value.details["field"] == "ended_at"
    assert store.list_calls()[1] == 0


def _seed(store: Store, make_call: MakeCall) -> None:
    """Six calls, one per hour from T0: c0 is the oldest."""
    numbers = ["12345", "12345", "96196", "12345", "96196", "12345"]
    outcomes = [Outcome.answered, Outcome.abandoned_in_queue, Outcome.answered,
                Outcome.failed, Outcome.abandoned_in_queue, Outcome.answered]
    for i, (number, outcome) in enumerate(zip(numbers, outcomes, strict=True)):
        store.upsert_call(make_call(f"c{i}", dialled_number=number, outcome=outcome,
                                    arrived_at=T0 + timedelta(hours=i)))


@pytest.mark.parametrize(("filters", "ids", "total"), [
    ({}, ["c5", "c4", "c3", "c2", "c1", "c0"], 6),
    ({"start": T0 + timedelta(hours=2)}, ["c5", "c4", "c3", "c2"], 4),  # start inclusive
    ({"end": T0 + timedelta(hours=2)}, ["c1", "c0"], 2),  # end exclusive
    ({"start": T0 + timedelta(hours=1), "end": T0 + timedelta(hours=4)}, ["c3", "c2", "c1"], 3),
    ({"start": (T0 + timedelta(hours=4)).astimezone(CST)}, ["c5", "c4"], 2),  # any offset works
    ({"dialled_number": "96196"}, ["c4", "c2"], 2),
    ({"outcome": "abandoned_in_queue"}, ["c4", "c1"], 2),
    ({"outcome": Outcome.answered, "dialled_number": "12345"}, ["c5", "c0"], 2),
    ({"dialled_number": "110"}, [], 0),
    ({"limit": 2}, ["c5", "c4"], 6),
    ({"limit": 2, "offset": 2}, ["c3", "c2"], 6),
    ({"limit": 4, "offset": 4}, ["c1", "c0"], 6),
    ({"offset": 10}, [], 6),
    ({"dialled_number": "12345", "limit": 1, "offset": 1}, ["c3"], 4),
])
def test_list_filters_and_pages(store: Store, make_call: MakeCall, filters: dict[str, Any],
                                ids: list[str], total: int) -> None:
    _seed(store, make_call)
    records, count = store.list_calls(**filters)
    assert [r.call_id for r in records] == ids
    assert count == total


def test_pages_are_stable_when_arrival_times_tie(store: Store, make_call: MakeCall) -> None:
    for i in range(5):
        store.upsert_call(make_call(f"t{i}", arrived_at=T0))
    pages = [store.list_calls(limit=2, offset=o)[0] for o in (0, 2, 4)]
    assert [r.call_id for page in pages for r in page] == ["t4", "t3", "t2", "t1", "t0"]


@pytest.mark.parametrize(("arguments", "field"), [
    ({"limit": 0}, "limit"),
    ({"limit": 501}, "limit"),
    ({"offset": -1}, "offset"),
    ({"start": datetime(2026, 11, 23)}, "start"),
    ({"end": datetime(2026, 11, 23)}, "end"),
    ({"start": T0, "end": T0}, "end"),
    ({"outcome": "hung_up"}, "outcome"),
])
def test_list_refuses_bad_arguments(store: Store, arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        store.list_calls(**arguments)
    assert caught.value.error_id == "invalid-request"
    assert caught.value.details["field"] == field


# --- work orders -------------------------------------------------------------------


def _local_days() -> set[str]:
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    return {now.strftime("%Y%m%d"), (now + timedelta(minutes=1)).strftime("%Y%m%d")}


def test_work_order_is_created_and_read_back(store: Store, make_call: MakeCall) -> None:
    store.upsert_call(make_call("late", arrived_at=T0 + timedelta(minutes=5)))
    store.upsert_call(make_call("early", arrived_at=T0))
    created = store.create_work_order(call_ids=["late", "early"], title="噪音扰民",
                                      description="小区夜间施工噪音", category=Category.complaint,
                                      created_by="1001")
    match = re.fullmatch(r"WO-(\d{8})-000001", created["id"])
    assert match and match.group(1) in _local_days()
    assert created["call_ids"] == ["early", "late"]  # arrival order
    assert (created["category"], created["status"], created["created_by"]) == ("complaint", "open", "1001")
    assert created["caller_confidential"] is True
    assert datetime.fromisoformat(created["created_at"]).tzinfo is not None
    assert store.get_work_order(created["id"]) == created


@pytest.mark.parametrize(("category", "override", "confidential"), [
    ("consult", None, False),
    ("help", None, False),
    ("complaint", None, True),
    ("report", None, True),
    ("suggestion", None, False),
    ("consult", True, True),   # a caller may ask for confidentiality
    ("report", False, False),  # explicit choice wins
])
def test_caller_confidential_default_follows_category(store: Store, make_call: MakeCall, category: str,
                                                      override: bool | None, confidential: bool) -> None:
    store.upsert_call(make_call("c1"))
    created = store.create_work_order(call_ids=["c1"], title="t", description="d", category=category,
                                      created_by="1001", caller_confidential=override)
    assert store.get_work_order(created["id"])["caller_confidential"] is confidential


@pytest.mark.parametrize(("call_ids", "category", "field", "value"), [
    (["c1", "ghost"], "consult", "call_ids", "'ghost'"),
    (["c1", "c1"], "consult", "call_ids", "'c1'"),
    ([], "consult", "call_ids", "[]"),
    (["c1"], "gossip", "category", "'gossip'"),
])
def test_bad_work_order_names_field_and_value(store: Store, make_call: MakeCall, call_ids: list[str],
                                              category: str, field: str, value: str) -> None:
    store.upsert_call(make_call("c1"))
    with pytest.raises(InvalidRequest) as caught:
        store.create_work_order(call_ids=call_ids, title="t", description="d", category=category,
                                created_by="1001")
    assert caught.value.details == {"field": field, "value": value}
    # A refused work order leaves nothing behind, not even a used sequence number.
    ok = store.create_work_order(call_ids=["c1"], title="t", description="d", category="help",
                                 created_by="1001")
    assert ok["id"].endswith("-000001")


def test_unknown_work_order_is_no_such_work_order(store: Store) -> None:
    with pytest.raises(NoSuchWorkOrder) as caught:
        store.get_work_order("WO-20261123-000001")
    assert caught.value.error_id == "no-such-work-order"


def test_concurrent_work_orders_get_distinct_sequential_ids(store: Store, make_call: MakeCall) -> None:
    store.upsert_call(make_call("c1"))
    ids: list[str] = []
    errors: list[BaseException] = []

    def file_some() -> None:
        try:
            for _ in range(5):
                ids.append(store.create_work_order(call_ids=["c1"], title="t", description="d",
                                                   category="help", created_by="1001")["id"])
        except BaseException as exc:  # reported below, a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=file_some) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(int(i.rsplit("-", 1)[1]) for i in ids) == list(range(1, 31))


# --- meta ------------------------------------------------------------------------------


def test_meta_is_a_small_key_value_store(store: Store) -> None:
    assert store.get_meta("cel_offset") is None
    store.set_meta("cel_offset", "1700000000.1")
    store.set_meta("cel_offset", "1700000500.7")
    store.set_meta("other", "x")
    assert (store.get_meta("cel_offset"), store.get_meta("other")) == ("1700000500.7", "x")


# --- schema and migrations -------------------------------------------------------------


def test_migrations_run_twice_and_match_the_models(store: Store, store_url: str,
                                                   make_call: MakeCall) -> None:
    store.upsert_call(make_call())
    store.upgrade()  # the fixture already ran it once: a second run changes nothing
    assert store.get_call(make_call().call_id) == make_call()
    engine = create_engine(store_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [_head()]
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()


def test_sqlite_connections_are_crash_safe_and_check_foreign_keys(sqlite_store: Store) -> None:
    with sqlite_store._engine.connect() as connection:
        pragmas = {p: connection.execute(text(f"PRAGMA {p}")).scalar()
                   for p in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "busy_timeout": 5000}


# --- a database that is not there ------------------------------------------------------


@pytest.mark.parametrize("url", [
    # Nothing listens on port 1: connections are refused at once.
    pytest.param("postgresql+psycopg://postgres@127.0.0.1:1/hotline", id="pg-closed-port"),
    pytest.param("postgresql://postgres@127.0.0.1:1/hotline", id="pg-bare-scheme"),
    pytest.param("sqlite:////nonexistent-dir/hotline.db", id="sqlite-missing-dir"),
])
def test_unreachable_database_is_store_error(url: str, make_call: MakeCall) -> None:
    store = Store(url)
    try:
        assert store.ping() is False
        for attempt in (store.upgrade, lambda: store.upsert_call(make_call()),
                        lambda: store.get_call("x"), store.list_calls):
            with pytest.raises(StoreError) as caught:
                attempt()
            assert caught.value.to_dict()["error_id"] == "store-unavailable"
            assert caught.value.http_status == 503
    finally:
        store.close()


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        Store("mysql://root@127.0.0.1/hotline")


@pytest.mark.postgres
def test_stopped_postgres_is_store_error_and_recovers(own_pg: Server, make_call: MakeCall) -> None:
    store = Store(own_pg.start())
    try:
        store.upgrade()
        store.upsert_call(make_call("before"))
        own_pg.stop()
        assert store.ping() is False
        with pytest.raises(StoreError):
            store.upsert_call(make_call("during"))
        with pytest.raises(StoreError):
            store.get_call("before")
        own_pg.start()
        # Pooled connections died with the server; the store must not need a restart.
        store.upsert_call(make_call("after"))
        assert [r.call_id for r in store.list_calls()[0]] == ["before", "after"]
        assert store.ping() is True
    finally:
        store.close()


def test_unmigrated_database_is_store_error(store_url: str, make_call: MakeCall) -> None:
    """Not migrated yet is "not usable yet": the journal must wait for it, not discard records."""
    store = Store(store_url)
    try:
        with pytest.raises(StoreError, match="upgrade"):
            store.upsert_call(make_call())
        store.upgrade()
        store.upsert_call(make_call())
        assert store.get_call(make_call().call_id) == make_call()
    finally:
        store.close()


def _head() -> str:
    """The newest migration, from the migrations folder itself."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from hotline.store import store as store_module

    config = Config()
    config.set_main_option("script_location", str(store_module._MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head
