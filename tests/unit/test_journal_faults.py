"""Issue 8: the journal under disk and writer faults (ENOSPC/EIO appends, a failing offset
sidecar, compaction or .rejected write, a dead writer thread). Faults are injected by
patching ``os`` calls of the journal module, or by real file system states."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hotline.app import RecordFeeder
from hotline.records.call import CallRecord
from hotline.store import RecordJournal
from hotline.store import journal as journal_mod

from test_journal import FlakyStore, ids, wait_until

MakeCall = Callable[..., CallRecord]


@pytest.fixture
def flaky(tmp_path: Path) -> Iterator[FlakyStore]:
    store = FlakyStore(f"sqlite:///{tmp_path / 'hotline.db'}")
    store.upgrade()
    yield store
    store.close()


@pytest.fixture
def journal(tmp_path: Path, flaky: FlakyStore) -> Iterator[RecordJournal]:
    j = RecordJournal(tmp_path / "records.jsonl", flaky)
    yield j
    j.stop()


class DiskFull:
    """``os.fsync`` of the journal raises ENOSPC while ``full`` is set."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, code: int = errno.ENOSPC) -> None:
        self.full = True
        real = os.fsync

        def fsync(fd: int) -> None:
            if self.full:
                raise OSError(code, os.strerror(code))
            real(fd)

        monkeypatch.setattr(journal_mod.os, "fsync", fsync)


def test_append_failure_keeps_the_records_and_retries(
        journal: RecordJournal, flaky: FlakyStore, monkeypatch: pytest.MonkeyPatch, make_call: MakeCall) -> None:
    journal.start()
    feeder = RecordFeeder(journal, first_retry_s=0.01, max_retry_s=0.05)
    feeder.start()
    disk = DiskFull(monkeypatch)
    try:
        for i in range(3):
            feeder.submit(make_call(f"c{i}"))
        wait_until(lambda: feeder.errors >= 2)  # retried, not dropped
        status = journal.status()
        assert status["ok"] is False and "No space left on device" in status["last_error"]
        assert status["append_errors"] >= 2
        assert feeder.held() == 3 and feeder.dropped == 0
        assert not feeder.durable("c0")

        disk.full = False  # space again: everything arrives, the status recovers by itself
        wait_until(lambda: feeder.held() == 0)
        assert journal.flush(timeout=10) is True
        assert ids(flaky) == ["c0", "c1", "c2"]
        assert journal.status()["ok"] is True and journal.status()["last_error"] is None
        assert feeder.durable("c0")
    finally:
        disk.full = False
        feeder.stop()


def test_held_records_over_the_cap_are_counted_and_left_to_the_reconciler(
        journal: RecordJournal, monkeypatch: pytest.MonkeyPatch, make_call: MakeCall) -> None:
    feeder = RecordFeeder(journal, max_held=2, first_retry_s=0.01, max_retry_s=0.05)
    disk = DiskFull(monkeypatch, errno.EIO)
    feeder.start()
    try:
        for call_id in ("x", "y", "z"):
            feeder.submit(make_call(call_id))
        assert feeder.dropped == 1 and feeder.held() == 2
        assert not feeder.durable("x")  # so the reconciler writes it itself
        feeder.settled(["x"])           # ... and then it is no longer owed
        wait_until(lambda: feeder.errors >= 1)
        assert "Input/output error" in journal.status()["last_error"]
    finally:
        disk.full = False
        feeder.stop()
    assert feeder.held() == 0 and feeder.durable("y") and feeder.durable("z")


def test_offset_sidecar_failure_does_not_kill_the_writer(
        journal: RecordJournal, flaky: FlakyStore, monkeypatch: pytest.MonkeyPatch, make_call: MakeCall) -> None:
    real = journal_mod._write_durably
    failing = threading.Event()
    failing.set()

    def write_durably(path: Path, data: bytes) -> None:
        if failing.is_set():
            raise OSError(errno.EIO, "Input/output error", str(path))
        real(path, data)

    monkeypatch.setattr(journal_mod, "_write_durably", write_durably)
    journal.start()
    journal.submit(make_call("s1"))
    wait_until(lambda: journal.status()["last_error"] is not None)
    status = journal.status()
    assert status["ok"] is False and status["writer_alive"] is True and "Input/output" in status["last_error"]
    assert journal.pending() == 1  # not counted as applied: the offset was not saved
    failing.clear()
    journal.submit(make_call("s2"))
    assert journal.flush(timeout=10) is True
    assert ids(flaky) == ["s1", "s2"]
    wait_until(lambda: journal.status()["ok"] is True)


def test_compaction_failure_does_not_kill_the_writer(
        journal: RecordJournal, flaky: FlakyStore, monkeypatch: pytest.MonkeyPatch, make_call: MakeCall) -> None:
    real = journal_mod._write_durably
    failures = []

    def write_durably(path: Path, data: bytes) -> None:
        if data == b"0" and len(failures) < 3:  # the compaction's offset reset
            failures.append(path)
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(journal_mod, "_write_durably", write_durably)
    journal.start()
    journal.submit(make_call("k1"))
    wait_until(lambda: len(failures) == 3)
    journal.submit(make_call("k2"))
    assert journal.flush(timeout=10) is True
    assert ids(flaky) == ["k1", "k2"]
    assert journal.status()["writer_alive"] is True


def test_rejected_file_write_failure_retries_the_line(
        journal: RecordJournal, flaky: FlakyStore, tmp_path: Path, make_call: MakeCall) -> None:
    rejected = tmp_path / "records.jsonl.rejected"
    rejected.mkdir()  # a real fault: open(..., "ab") raises IsADirectoryError
    flaky.refuse["bad"] = ValueError("value too long for type character varying(32)")
    journal.start()
    journal.submit(make_call("bad"))
    journal.submit(make_call("good"))
    wait_until(lambda: journal.status()["last_error"] is not None)
    assert journal.status()["writer_alive"] is True and journal.pending() == 2
    rejected.rmdir()
    assert journal.flush(timeout=10) is True
    assert ids(flaky) == ["good"]
    assert rejected.read_text().count("\n") == 1
    assert journal.status()["rejected"] == 1


def test_a_dead_writer_shows_in_status_and_is_restarted(
        journal: RecordJournal, flaky: FlakyStore, monkeypatch: pytest.MonkeyPatch, make_call: MakeCall) -> None:
    class Fatal(BaseException):
        pass

    real = journal._apply_available
    calls = []

    def apply_available() -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise Fatal("the writer dies")
        return real()

    monkeypatch.setattr(journal, "_apply_available", apply_available)
    monkeypatch.setattr(threading, "excepthook", lambda args: None)  # expected death, not a test error
    journal.submit(make_call("w1"))
    journal.start()
    wait_until(lambda: not journal.status()["writer_alive"])
    status = journal.status()
    assert status["ok"] is False and "not running" in status["last_error"]
    assert journal.ensure_writer() is True
    assert journal.flush(timeout=10) is True
    assert ids(flaky) == ["w1"]
    assert journal.status()["writer_restarts"] == 1 and journal.status()["ok"] is True
