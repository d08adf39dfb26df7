"""The write-behind journal: nothing lost while the database is down, nothing doubled on replay."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pytest

from hotline.records.call import CallRecord, Outcome
from hotline.exceptions import StoreError
from hotline.store import RecordJournal, Store
from hotline.store.codec import record_to_json

MakeCall = Callable[..., CallRecord]
OpenJournal = Callable[[Store], RecordJournal]


class Server(Protocol):
    def start(self) -> str: ...
    def stop(self) -> None: ...


class FlakyStore(Store):
    """A real SQLite store whose ``upsert_call`` fails on demand, and counts what it applied."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.down = False
        self.refuse: dict[str, Exception] = {}
        self.applied: list[str] = []

    def upsert_call(self, record: CallRecord) -> None:
        if self.down:
            raise StoreError("database unavailable: switched off by the test")
        if record.call_id in self.refuse:
            raise self.refuse[record.call_id]
        super().upsert_call(record)
        self.applied.append(record.call_id)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture
def flaky(tmp_path: Path) -> Iterator[FlakyStore]:
    store = FlakyStore(f"sqlite:///{tmp_path / 'hotline.db'}")
    store.upgrade()
    yield store
    store.close()


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "records.jsonl"


@pytest.fixture
def open_journal(journal_path: Path) -> Iterator[OpenJournal]:
    """Open journals on ``journal_path``; all are stopped at teardown, before their stores close."""
    opened: list[RecordJournal] = []

    def open_(store: Store) -> RecordJournal:
        journal = RecordJournal(journal_path, store)
        opened.append(journal)
        return journal

    yield open_
    for journal in opened:
        journal.stop()


def ids(store: Store) -> list[str]:
    return sorted(r.call_id for r in store.list_calls(limit=500)[0])


def test_records_wait_while_the_store_is_down_and_arrive_in_order(
        flaky: FlakyStore, open_journal: OpenJournal, journal_path: Path, make_call: MakeCall) -> None:
    journal = open_journal(flaky)
    journal.start()
    flaky.down = True
    first = make_call("a", outcome=Outcome.failed)
    journal.submit(first)
    journal.submit(make_call("b"))
    last = make_call("a", outcome=Outcome.answered, seat="1001", talk_seconds=30.0)
    journal.submit(last)

    assert journal.flush(timeout=0.5) is False
    assert journal.pending() == 3
    assert ids(flaky) == []
    assert len(journal_path.read_bytes().splitlines()) == 3  # durable before anything is applied

    flaky.down = False
    assert journal.flush(timeout=10) is True
    assert journal.pending() == 0
    assert flaky.applied == ["a", "b", "a"]
    assert flaky.get_call("a") == last  # in order: the later record wins
    assert ids(flaky) == ["a", "b"]
    wait_until(lambda: journal_path.stat().st_size == 0)  # compacted once drained


def test_sqlite_store_that_is_not_there_yet(tmp_path: Path, open_journal: OpenJournal,
                                           make_call: MakeCall) -> None:
    """A real failure: the database directory is missing (say, a disk not mounted yet)."""
    store = Store(f"sqlite:///{tmp_path / 'later' / 'hotline.db'}")
    journal = open_journal(store)
    try:
        journal.start()
        journal.submit(make_call("x1"))
        journal.submit(make_call("x2"))
        assert journal.flush(timeout=0.5) is False

        (tmp_path / "later").mkdir()
        store.upgrade()
        assert journal.flush(timeout=15) is True
        assert ids(store) == ["x1", "x2"]
    finally:
        journal.stop()
        store.close()


@pytest.mark.postgres
def test_postgres_stopped_then_started(own_pg: Server, open_journal: OpenJournal, make_call: MakeCall) -> None:
    store = Store(own_pg.start())
    journal = open_journal(store)
    try:
        store.upgrade()
        journal.start()
        journal.submit(make_call("p0"))
        assert journal.flush(timeout=10) is True

        own_pg.stop()
        for i in range(1, 4):
            journal.submit(make_call(f"p{i}", arrived_at=datetime.now(UTC)))
        assert journal.flush(timeout=1) is False
        assert journal.pending() == 3

        own_pg.start()
        assert journal.flush(timeout=30) is True
        assert ids(store) == ["p0", "p1", "p2", "p3"]
    finally:
        journal.stop()
        store.close()


def test_unapplied_records_are_replayed_by_the_next_process(
        flaky: FlakyStore, sqlite_store: Store, open_journal: OpenJournal, make_call: MakeCall) -> None:
    records = [make_call(f"r{i}", arrived_at=datetime(2026, 11, 23, tzinfo=UTC) + timedelta(minutes=i))
               for i in range(3)]
    before = open_journal(flaky)
    before.start()
    flaky.down = True
    for record in records:
        before.submit(record)
    before.stop()  # the process goes away with everything unapplied

    after = open_journal(sqlite_store)
    assert after.pending() == 3
    after.start()
    assert after.flush(timeout=10) is True
    assert sqlite_store.list_calls() == (records[::-1], 3)


def test_applied_progress_survives_a_restart(
        flaky: FlakyStore, open_journal: OpenJournal, make_call: MakeCall) -> None:
    """The offset is saved per line: the next process starts after what was applied."""
    flaky.refuse["b"] = StoreError("database unavailable: b hits a dead replica")
    before = open_journal(flaky)
    before.start()
    for call_id in ("a", "b", "c"):
        before.submit(make_call(call_id))
    wait_until(lambda: flaky.applied == ["a"])
    before.stop()
    assert before.pending() == 2

    del flaky.refuse["b"]
    after = open_journal(flaky)
    assert after.pending() == 2
    after.start()
    assert after.flush(timeout=10) is True
    assert flaky.applied == ["a", "b", "c"]  # "a" was not applied again


def test_replaying_applied_lines_creates_no_duplicates(
        sqlite_store: Store, journal_path: Path, open_journal: OpenJournal, make_call: MakeCall) -> None:
    """A crash after applying but before saving the offset replays lines already in the store."""
    records = [make_call("d1"), make_call("d2", outcome=Outcome.abandoned_in_queue)]
    for record in records:
        sqlite_store.upsert_call(record)
    journal_path.write_text("".join(record_to_json(r) + "\n" for r in records))

    journal = open_journal(sqlite_store)
    journal.start()
    assert journal.flush(timeout=10) is True
    assert sqlite_store.list_calls()[1] == 2
    assert [sqlite_store.get_call(r.call_id) for r in records] == records


def test_torn_last_line_is_cut_off(sqlite_store: Store, journal_path: Path, open_journal: OpenJournal,
                                   make_call: MakeCall) -> None:
    """A crash inside submit leaves half a line; submit never returned, so it is dropped."""
    whole = record_to_json(make_call("whole")) + "\n"
    journal_path.write_text(whole + record_to_json(make_call("torn"))[:40])

    journal = open_journal(sqlite_store)
    assert journal.pending() == 1
    assert journal_path.read_text() == whole
    journal.submit(make_call("next"))
    journal.start()
    assert journal.flush(timeout=10) is True
    assert ids(sqlite_store) == ["next", "whole"]
    assert not journal_path.with_name(journal_path.name + ".rejected").exists()


def test_records_that_can_never_be_applied_are_set_aside(
        flaky: FlakyStore, journal_path: Path, open_journal: OpenJournal, make_call: MakeCall) -> None:
    garbage = '{"call_id": "g", "mood": "grumpy"}\n'
    journal_path.write_text(record_to_json(make_call("ok1")) + "\n" + garbage)
    flaky.refuse["bad"] = ValueError("value too long for type character varying(32)")

    journal = open_journal(flaky)
    journal.submit(make_call("bad"))
    journal.submit(make_call("ok2"))
    journal.start()
    assert journal.flush(timeout=10) is True
    assert ids(flaky) == ["ok1", "ok2"]
    rejected = journal_path.with_name(journal_path.name + ".rejected").read_text().splitlines(keepends=True)
    assert rejected == [garbage, record_to_json(make_call("bad")) + "\n"]


def test_a_stopped_journal_can_start_again(
        flaky: FlakyStore, open_journal: OpenJournal, make_call: MakeCall) -> None:
    journal = open_journal(flaky)
    journal.start()
    journal.stop()
    journal.submit(make_call("s1"))  # durable even with no writer running
    assert journal.flush(timeout=0.3) is False
    journal.start()
    assert journal.flush(timeout=10) is True
    assert ids(flaky) == ["s1"]


def test_records_wait_for_the_schema(store_url: str, open_journal: OpenJournal, make_call: MakeCall) -> None:
    """The process starts the journal before its first successful upgrade (both backends)."""
    store = Store(store_url)
    journal = open_journal(store)
    try:
        journal.start()
        journal.submit(make_call("early"))
        assert journal.flush(timeout=0.5) is False
        store.upgrade()
        assert journal.flush(timeout=15) is True
        assert ids(store) == ["early"]
    finally:
        journal.stop()
        store.close()
