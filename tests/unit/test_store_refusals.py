"""Issue 8: a database that refuses writes for a reason of its own (read-only, failed over,
missing privilege, corrupt file) keeps the records waiting, never in ``.rejected``; rejected
records are counted and replayed by ``hotline journal replay-rejected``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.pool import NullPool

from hotline import cli
from hotline.records.call import CallRecord
from hotline.store import RecordJournal, Store
from hotline.store.codec import record_to_json
from hotline.store.journal import replay_rejected

from test_journal import ids, wait_until

MakeCall = Callable[..., CallRecord]
REPO = Path(__file__).resolve().parents[2]


def admin(url: str, *sql: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SET SESSION default_transaction_read_only = off"))
            for statement in sql:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def waits_not_rejected(journal: RecordJournal, journal_path: Path, reason: str) -> None:
    wait_until(lambda: reason in (journal.status()["last_error"] or ""))
    status = journal.status()
    assert status["ok"] is False and status["pending"] == 1 and status["rejected"] == 0
    assert not journal_path.with_name(journal_path.name + ".rejected").exists()


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "records.jsonl"


def test_query_only_sqlite_keeps_records_waiting(tmp_path: Path, journal_path: Path, make_call: MakeCall) -> None:
    store = Store(f"sqlite:///{tmp_path / 'hotline.db'}")
    store.upgrade()
    read_only = [True]

    @event.listens_for(store._engine, "begin")
    def _query_only(connection) -> None:  # type: ignore[no-untyped-def]
        connection.exec_driver_sql(f"PRAGMA query_only={'ON' if read_only[0] else 'OFF'}")

    journal = RecordJournal(journal_path, store)
    try:
        journal.start()
        journal.submit(make_call("ro"))
        waits_not_rejected(journal, journal_path, "readonly")
        read_only[0] = False
        assert journal.flush(timeout=15) is True
        assert ids(store) == ["ro"]
    finally:
        journal.stop()
        store.close()


def test_corrupt_sqlite_file_keeps_records_waiting(tmp_path: Path, journal_path: Path, make_call: MakeCall) -> None:
    db = tmp_path / "hotline.db"
    db.write_bytes(b"this is not a database, it was overwritten\n" * 200)
    store = Store(f"sqlite:///{db}")
    journal = RecordJournal(journal_path, store)
    try:
        journal.start()
        journal.submit(make_call("cx"))
        waits_not_rejected(journal, journal_path, "not a database")
        store.close()
        db.unlink()  # the operator restores the database
        store.upgrade()
        assert journal.flush(timeout=15) is True
        assert ids(store) == ["cx"]
    finally:
        journal.stop()
        store.close()


@pytest.mark.postgres
def test_postgres_missing_privilege_and_read_only_keep_records_waiting(
        pg_url: str, journal_path: Path, make_call: MakeCall) -> None:
    owner = Store(pg_url)
    owner.upgrade()
    owner.close()
    database = make_url(pg_url).database
    admin(pg_url, "DROP ROLE IF EXISTS hotline_writer", "CREATE ROLE hotline_writer LOGIN",
          "GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO hotline_writer",
          "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO hotline_writer",
          "REVOKE INSERT, UPDATE ON call_records FROM hotline_writer")
    store = Store(make_url(pg_url).set(username="hotline_writer").render_as_string(hide_password=False))
    journal = RecordJournal(journal_path, store)
    try:
        journal.start()
        journal.submit(make_call("priv"))
        waits_not_rejected(journal, journal_path, "permission denied")
        admin(pg_url, "GRANT INSERT, UPDATE ON call_records TO hotline_writer")
        assert journal.flush(timeout=15) is True
        assert ids(store) == ["priv"]

        # a failed-over (now read-only) server
        admin(pg_url, f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
        store.close()  # new sessions pick the setting up
        journal.submit(make_call("ro"))
        waits_not_rejected(journal, journal_path, "read-only transaction")
        admin(pg_url, f'ALTER DATABASE "{database}" SET default_transaction_read_only = off')
        store.close()
        assert journal.flush(timeout=15) is True
        assert ids(store) == ["priv", "ro"]
    finally:
        journal.stop()
        store.close()
        admin(pg_url, "DROP OWNED BY hotline_writer", "DROP ROLE hotline_writer")


def test_replay_rejected_applies_and_keeps_only_the_still_failing(
        sqlite_store: Store, journal_path: Path, make_call: MakeCall) -> None:
    rejected = journal_path.with_name(journal_path.name + ".rejected")
    garbage = b'{"call_id": "g", "mood": "grumpy"}\n'
    rejected.write_bytes(record_to_json(make_call("r1")).encode() + b"\n" + garbage
                         + record_to_json(make_call("r2")).encode() + b"\n")
    journal = RecordJournal(journal_path, sqlite_store)
    assert journal.status()["rejected"] == 3
    applied, kept = replay_rejected(journal_path, sqlite_store)
    assert applied == 2 and len(kept) == 1 and kept[0].startswith("line 2:")
    assert ids(sqlite_store) == ["r1", "r2"]
    assert rejected.read_bytes() == garbage
    assert journal.status()["rejected"] == 1
    assert not rejected.with_name(rejected.name + ".replaying").exists()


def test_replay_rejected_command(tmp_path: Path, make_call: MakeCall, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    state.mkdir()
    store = Store(f"sqlite:///{state / 'hotline.db'}")
    store.upgrade()
    rejected = state / "records.journal.rejected"
    rejected.write_bytes(record_to_json(make_call("cli1")).encode() + b"\n" + b"not json\n")
    argv = ["--site", str(REPO / "examples" / "nantong" / "site.yaml"), "--state-dir", str(state),
            "journal", "replay-rejected"]
    assert cli.main(argv) == 1  # one line still fails
    out = capsys.readouterr()
    assert json.loads(out.out) == {"applied": 1, "still_rejected": 1}
    assert "line 2" in out.err
    assert ids(store) == ["cli1"] and rejected.read_bytes() == b"not json\n"
    rejected.unlink()
    assert cli.main(argv) == 0
    assert json.loads(capsys.readouterr().out) == {"applied": 0, "still_rejected": 0}
    store.close()

