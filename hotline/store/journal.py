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

A line that can never be applied (not a valid record, or refused by the store
with anything but ``StoreError``) is moved to ``<journal>.rejected`` and
logged, so one bad record cannot block every later call.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from hotline.calls.model import CallRecord
from hotline.exceptions import StoreError
from hotline.store.codec import record_from_json, record_to_json
from hotline.store.store import Store

log = logging.getLogger(__name__)

_FIRST_RETRY_S = 0.1
_MAX_RETRY_S = 5.0


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
            fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                size = os.fstat(fd).st_size
                try:
                    _write_all(fd, data)
                    os.fsync(fd)
                except OSError:
                    os.ftruncate(fd, size)  # never leave half a line for the next append
                    raise
            finally:
                os.close(fd)
            self._pending += len(records)
            self._cond.notify_all()

    def pending(self) -> int:
        """Records submitted (now or by an earlier process) and not applied yet."""
        with self._cond:
            return self._pending

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
        while not self._stopping.is_set():
            if not self._apply_available():
                return
            with self._cond:
                self._compact_if_drained()
                self._cond.wait_for(lambda: self._pending > 0 or self._stopping.is_set())

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
                    self._offset += len(line)
                    _write_durably(self._offset_path, str(self._offset).encode())
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
        failing = False
        while True:
            try:
                self._store.upsert_call(record)
            except StoreError as exc:
                if not failing:
                    log.warning("store unavailable, call %s waits in the journal: %s",
                                record.call_id, exc.message)
                    failing = True
                if self._stopping.wait(delay):
                    return False
                delay = min(delay * 2, _MAX_RETRY_S)
            except Exception as exc:  # the store refuses this record for good
                log.exception("store refused call %s", record.call_id)
                self._reject(line, f"refused by the store: {exc!r}")
                return True
            else:
                if failing:
                    log.info("store available again, applied call %s", record.call_id)
                return True

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


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _write_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically with ``data``, fsynced: after a crash it is old or new, never torn."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
