"""Durable write-behind of call records, so calls keep flowing when the database is dead.

``submit`` appends the record as one JSON line to a journal file and fsyncs it
before returning: from then on the record survives a crash. A writer thread
applies the lines in order through :meth:`Store.upsert_call`, retrying with
exponential backoff (capped at 5 s) while the store raises ``StoreError``.

After each applied line the byte offset of the next one is saved, durably, in
a sidecar file (``<journal>.offset``), so a restarted process replays only what
was not applied yet. A crash between applying a line and saving the offset
replays that line once more, which is harmless because the upsert is
idempotent. When everything is applied the journal is truncated (the offset is
reset to 0 *first*: a crash in between replays applied lines, never skips one).

Which failures wait and which set a line aside:

* ``StoreError`` (the store classifies every "cannot use the database now"
  failure as one: unreachable, read-only or failed over, missing privilege,
  schema not migrated or mid-migration, locked, corrupt file) and any
  unexpected exception: the line waits, retried with backoff, and the journal
  reports ``ok: false`` with the reason (``last_error``) until it is applied.
  Nothing is set aside because the database is in a bad state.
* Only a record that is itself invalid (not a record: a codec error; or the
  store refuses that one row: ``InvalidRequest``, ``ValueError``, an integrity
  or data error) is moved to ``<journal>.rejected`` and logged, so one bad
  record cannot block every later call. Rejected lines are counted
  (``status()["rejected"]``) and ``hotline journal replay-rejected``
  (:func:`replay_rejected`) applies them again, keeping only those that still fail.

The writer thread is supervised: any exception outside the store call (the
offset sidecar, compaction, the ``.rejected`` write, reading the journal) is
logged (rate-limited), and the round is retried with backoff from the last
saved offset, so no line is skipped. Should the thread die all the same,
``status()["writer_alive"]`` says so and :meth:`RecordJournal.ensure_writer`
(called periodically by the controller) starts a new one.

``submit_many`` either appends every record durably or raises ``OSError``
(disk full, EIO) leaving the file as it was; the journal then reports
``ok: false`` until an append succeeds again. Holding the records and retrying
is the caller's job (``hotline.app.RecordFeeder``): a caller must not count a
record as safe before ``submit_many`` returned.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError

from hotline.records.call import CallRecord
from hotline.exceptions import InvalidRequest, StoreError
from hotline.filemodes import fsync_dir as _fsync_dir
from hotline.filemodes import write_durably as _write_durably
from hotline.store.codec import record_from_json, record_to_json
from hotline.store.store import Store
from hotline.throttle import Throttle

log = logging.getLogger(__name__)

_FIRST_RETRY_S = 0.1
_MAX_RETRY_S = 5.0
_RECORD_ERRORS = (ValueError, InvalidRequest, IntegrityError, DataError)
"""What the store raises for a record that is itself invalid: only these set a line aside."""


class RecordJournal:
    """A journal file at ``path`` feeding ``store``.

    Constructing it recovers the file left by a previous process: a torn last
    line (a crash inside ``submit``, which therefore never returned) is cut
    off, and the unapplied lines are counted. ``submit`` works before
    ``start`` and after ``stop``; the lines wait on disk for the writer.
    """

    def __init__(self, path: Path, store: Store) -> None:
        self._path = path
        self._offset_path = path.with_name(path.name + ".offset")
        self._rejected_path = path.with_name(path.name + ".rejected")
        self._store = store
        self._cond = threading.Condition()  # guards the file's tail, _offset and _pending
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._offset, self._pending = self._recover()
        self.append_errors = 0          # failed appends (each raised OSError to its caller)
        self.writer_restarts = 0
        self._append_error: str | None = None   # the last append failed (cleared by a success)
        self._store_error: str | None = None    # the line at the offset waits on the store
        self._writer_error: str | None = None   # the writer's last round failed outside the store
        self._failing_since: float | None = None
        self._writer_throttle = Throttle(log, every_s=60.0)
        self._rejected_seen: tuple[int, int] = (-1, 0)  # (size, line count) of .rejected

    # --- public surface --------------------------------------------------------------

    def submit(self, record: CallRecord) -> None:
        """Append ``record`` durably and wake the writer. Raises ``OSError`` if the disk fails."""
        self.submit_many([record])

    def submit_many(self, records: list[CallRecord]) -> None:
        """Append ``records`` with one write and one fsync (group commit), then wake the writer."""
        if not records:
            return
        data = b"".join(record_to_json(r).encode() + b"\n" for r in records)
        with self._cond:
            try:
                fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    size = os.fstat(fd).st_size
                    try:
                        _write_all(fd, data)
                        os.fsync(fd)
                    except OSError:
                        try:
                            os.ftruncate(fd, size)  # never leave half a line for the next append
                        except OSError:
                            log.error("could not cut a failed append off %s; recovery cuts a torn line",
                                      self._path)
                        raise
                finally:
                    os.close(fd)
            except OSError as exc:
                self.append_errors += 1
                self._append_error = f"append to {self._path} failed: {exc}"
                raise
            self._append_error = None
            self._pending += len(records)
            self._cond.notify_all()

    def pending(self) -> int:
        """Records submitted (now or by an earlier process) and not applied yet."""
        with self._cond:
            return self._pending

    def status(self) -> dict[str, Any]:
        """Exact health of the journal, for ``/status``: ``ok`` is false while appends fail, while
        the line at the offset waits on the store, or when the writer thread is not running."""
        with self._cond:
            alive = self.writer_alive()
            error = self._append_error or self._writer_error or self._store_error
            if error is None and not alive and self._thread is not None:
                error = "journal writer thread is not running"
            out: dict[str, Any] = {
                "ok": alive and error is None,
                "pending": self._pending,
                "append_errors": self.append_errors,
                "rejected": self.rejected_count(),
                "writer_alive": alive,
                "writer_restarts": self.writer_restarts,
                "last_error": error,
            }
            if self._failing_since is not None:
                out["failing_for_s"] = round(time.monotonic() - self._failing_since, 1)
            return out

    def writer_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def ensure_writer(self) -> bool:
        """Start a new writer if the running one died (it never should); True if it restarted."""
        if self._thread is None or self._thread.is_alive() or self._stopping.is_set():
            return False
        log.error("journal writer thread died; starting a new one")
        self.writer_restarts += 1
        self._thread = None
        self.start()
        return True

    def rejected_count(self) -> int:
        """Lines in ``<journal>.rejected`` (recounted when its size changes: replay shrinks it)."""
        try:
            size = self._rejected_path.stat().st_size
        except FileNotFoundError:
            return 0
        except OSError:
            return self._rejected_seen[1]
        if size != self._rejected_seen[0]:
            try:
                self._rejected_seen = (size, self._rejected_path.read_bytes().count(b"\n"))
            except OSError:
                pass
        return self._rejected_seen[1]

    def flush(self, timeout: float) -> bool:
        """Wait until every submitted record is applied; False if ``timeout`` s passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    def start(self) -> None:
        """Start the writer thread (a daemon: unapplied lines are on disk, never lost)."""
        if self._thread is not None:
            raise RuntimeError("journal writer already started")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="record-journal", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the writer after the line it is applying; the rest stays for the next start."""
        if self._thread is None:
            return
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout)
        self._thread = None

    # --- writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        """Supervised: a failure anywhere in a round is logged (rate-limited) and the round is
        retried from the saved offset after a backoff; only ``stop`` ends the thread."""
        delay = _FIRST_RETRY_S
        while not self._stopping.is_set():
            try:
                if not self._apply_available():
                    return
                with self._cond:
                    self._compact_if_drained()
            except Exception as exc:
                self._writer_throttle.failed("journal writer: %s; retrying", exc, exc_info=True)
                self._writer_error = f"journal writer: {exc!r}"
                self._note_failing()
                if self._stopping.wait(delay):
                    return
                delay = min(delay * 2, _MAX_RETRY_S)
                continue
            delay = _FIRST_RETRY_S
            self._writer_throttle.recovered("journal writer working again")
            with self._cond:
                self._writer_error = None
                self._note_failing()
                self._cond.wait_for(lambda: self._pending > 0 or self._stopping.is_set())

    def _set_store_error(self, error: str | None) -> None:
        self._store_error = error
        self._note_failing()

    def _note_failing(self) -> None:
        if self._store_error is None and self._writer_error is None:
            self._failing_since = None
        elif self._failing_since is None:
            self._failing_since = time.monotonic()

    def _apply_available(self) -> bool:
        """Apply every complete line after the offset; False when stopping mid-way."""
        with open(self._path, "rb") as journal:
            journal.seek(self._offset)
            for line in journal:
                if not line.endswith(b"\n"):
                    break  # being appended right now; the next round gets it whole
                if not self._apply(line):
                    return False
                with self._cond:
                    # durable first: if the sidecar write fails, the line is applied again
                    # (idempotent) on the retry, never skipped
                    _write_durably(self._offset_path, str(self._offset + len(line)).encode())
                    self._offset += len(line)
                    self._pending -= 1
                    self._cond.notify_all()
        return True

    def _apply(self, line: bytes) -> bool:
        """Write one line to the store, retrying while it is down; False when stopping."""
        try:
            record = record_from_json(line)
        except ValueError as exc:
            self._reject(line, f"not a call record: {exc}")
            return True
        delay = _FIRST_RETRY_S
        throttle = Throttle(log, every_s=300.0)
        while True:
            try:
                self._store.upsert_call(record)
            except _RECORD_ERRORS as exc:  # this record is invalid: it can never be applied
                log.error("store refused call %s: %r", record.call_id, exc)
                self._reject(line, f"refused by the store: {exc!r}")
                return True
            except StoreError as exc:  # the database cannot be used now: wait, never set aside
                throttle.failed("store unavailable, call %s waits in the journal: %s", record.call_id,
                                exc.message)
                self._set_store_error(f"store: {exc.message}")
            except Exception as exc:  # unknown: a bug or an unclassified outage; wait, never lose
                throttle.failed("store failed on call %s; it waits in the journal", record.call_id,
                                exc_info=True)
                self._set_store_error(f"store: {exc!r}")
            else:
                throttle.recovered("store available again, applied call %s", record.call_id)
                self._set_store_error(None)
                return True
            if self._stopping.wait(delay):
                return False
            delay = min(delay * 2, _MAX_RETRY_S)

    def _reject(self, line: bytes, reason: str) -> None:
        log.error("journal line moved to %s: %s", self._rejected_path, reason)
        with open(self._rejected_path, "ab") as rejected:
            rejected.write(line)
            rejected.flush()
            os.fsync(rejected.fileno())

    def _compact_if_drained(self) -> None:
        """Truncate the journal once every line is applied. Called holding ``_cond``."""
        if self._offset == 0 or self._offset != self._path.stat().st_size:
            return
        _write_durably(self._offset_path, b"0")
        self._offset = 0
        with open(self._path, "r+b") as journal:
            journal.truncate(0)
            os.fsync(journal.fileno())

    # --- recovery ------------------------------------------------------------------------

    def _recover(self) -> tuple[int, int]:
        """Repair the files a previous process left; return (offset, unapplied line count)."""
        if not self._path.exists():
            self._path.touch(mode=0o600)
            _fsync_dir(self._path.parent)
        data = self._path.read_bytes()
        complete = data.rfind(b"\n") + 1
        if complete < len(data):
            log.warning("cutting %d bytes of a torn last line from %s", len(data) - complete, self._path)
            os.truncate(self._path, complete)
        try:
            offset = int(self._offset_path.read_bytes())
        except FileNotFoundError:
            offset = 0
        if offset > complete or (offset and data[offset - 1:offset] != b"\n"):
            log.warning("offset %d does not fit %s; replaying it all (upserts are idempotent)",
                        offset, self._path)
            offset = 0
        return offset, data.count(b"\n", offset, complete)


def replay_rejected(journal_path: Path, store: Store) -> tuple[int, list[str]]:
    """Apply every line of ``<journal>.rejected`` again (``hotline journal replay-rejected``).

    Safe while a controller runs: the file is first renamed to ``.rejected.replaying`` (a
    controller rejecting meanwhile starts a new ``.rejected``), and the lines that still fail
    are appended back to ``.rejected`` before the work file is removed. A crash mid-way leaves
    the work file, which the next replay takes up first (applying a line twice is harmless).
    A record replayed replaces the stored record of its call. Returns (applied, reasons of
    the lines kept). ``StoreError`` (database unusable) keeps every unapplied line and is raised.
    """
    rejected = journal_path.with_name(journal_path.name + ".rejected")
    work = rejected.with_name(rejected.name + ".replaying")
    if not work.exists():
        if not rejected.exists():
            return 0, []
        os.replace(rejected, work)
        _fsync_dir(work.parent)
    lines = [line if line.endswith(b"\n") else line + b"\n"
             for line in work.read_bytes().splitlines(keepends=True) if line.strip()]
    applied = 0
    kept: list[bytes] = []
    reasons: list[str] = []
    try:
        for n, line in enumerate(lines):
            try:
                store.upsert_call(record_from_json(line))
            except StoreError:
                kept.extend(lines[n:])
                raise
            except Exception as exc:
                kept.append(line)
                reasons.append(f"line {n + 1}: {exc!r}")
            else:
                applied += 1
    finally:
        if kept:
            fd = os.open(rejected, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                _write_all(fd, b"".join(kept))
                os.fsync(fd)
            finally:
                os.close(fd)
        work.unlink()
        _fsync_dir(work.parent)
    return applied, reasons


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
