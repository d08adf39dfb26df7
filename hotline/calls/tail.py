"""Following the CEL JSON log live: the controller's source of call events.

Asterisk writes every CEL record to the cel_custom JSON log as it happens. Reading
that file (a thread polling every 20 ms) instead of receiving CEL over AMI spares
Asterisk the manager's per-event formatting work and keeps one source of truth for
records, live and after a restart alike: the reconciler reads the very same file.

The tail holds the file it reads open: when the log is rotated (renamed, and Asterisk's
next record starts a new file: cel_custom opens the file for every record), it reads the
old file to its end through that handle, then the new one from 0; a log truncated in place
is read again from 0.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable

from hotline.latency import LatencyStats

from hotline.throttle import Throttle

from .cel import CelEvent
from .celpos import CelPosition, Segment, open_file, open_segments
from .cellog import read_records

log = logging.getLogger(__name__)


class CelTail:
    def __init__(self, path: Path, deliver: Callable[[list[CelEvent]], None], interval: float = 0.02) -> None:
        self.path = path
        self._deliver = deliver
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pos = 0
        self.events = 0
        self.bad_lines = 0
        self.lag = LatencyStats()  # CEL event time -> handed to the tracker
        self.error: str | None = None
        self._file: Segment | None = None        # the file being followed (the log, until rotated)
        self._backlog: list[Segment] = []        # rotated files still to read to their end first
        self._unopened: CelPosition | int | None = None   # where to start, the log not readable yet
        self.rotations = 0
        self.read_errors = 0
        # A log unreadable for an hour must not write 180 000 tracebacks: once, then every 5 min.
        self._errors = Throttle(log, every_s=300.0)

    def seek(self, position: CelPosition | int = 0) -> None:
        """Read from ``position`` on (where the reconciler stopped: see
        :func:`hotline.calls.celpos.open_segments` for rotated, truncated and replaced logs)."""
        try:
            segments = open_segments(self.path, position)
        except OSError:   # unreadable now: start there once it can be read (never from 0 instead)
            self._unopened = position
            raise
        self._unopened = None
        for seg in [*self._backlog, *([self._file] if self._file else [])]:
            seg.close()
        self._file = None
        if segments and segments[-1].current:
            self._file = segments.pop()
            self.pos = self._file.start
        else:
            self.pos = 0
        self._backlog = segments

    def start(self, position: CelPosition | int = 0) -> None:
        """Follow the log from ``position`` (see :meth:`seek`) in a thread."""
        try:
            self.seek(position)
        except OSError as exc:
            self.error = str(exc)
            self._errors.failed("CEL tail: cannot open %s yet; retrying: %s", self.path, exc)
        self._thread = threading.Thread(target=self._run, name="cel-tail", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for seg in [*self._backlog, *([self._file] if self._file else [])]:
            seg.close()

    def poll(self) -> int:
        """Read what Asterisk appended since the last poll; returns the number of events."""
        if self._unopened is not None:
            self.seek(self._unopened)
        count = 0
        while self._backlog:   # rotated while the controller was down: those files first
            seg = self._backlog[0]
            count += self._read(seg, seg.start)[0]
            seg.close()
            self._backlog.pop(0)
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._file is not None:   # renamed away: what was written to it is still ours
                n, self.pos = self._read(self._file, self.pos)
                count += n
            return count
        if self._file is not None and (self._file.dev, self._file.inode) != (st.st_dev, st.st_ino):
            count += self._read(self._file, self.pos)[0]   # the old file to its end, then the new one
            log.info("CEL log %s was rotated: following the new file", self.path)
            self._file.close()
            self._file = None
            self.pos = 0
            self.rotations += 1
        if self._file is None:
            self._file = open_file(self.path, self.pos, current=True)
            if self._file is None:
                return count
            st = os.fstat(self._file.fh.fileno())
        if st.st_size < self.pos:  # truncated in place: start over
            log.warning("CEL log %s shrank (%d < %d): reading it from the start", self.path, st.st_size, self.pos)
            self.pos = 0
        if st.st_size == self.pos:
            return count
        n, self.pos = self._read(self._file, self.pos)
        return count + n

    def _read(self, seg: Segment, pos: int) -> tuple[int, int]:
        """Deliver the whole records of ``seg`` from ``pos``: (events, resume offset)."""
        records, resume, bad = read_records(seg.fh, pos)
        self.bad_lines += bad
        if records:
            now = time.time()
            events = [e for _, e in records]
            for e in events:
                self.lag.record(max(0.0, now - e.time))
            self.events += len(events)
            self._deliver(events)
        return len(records), resume

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception as exc:  # keep following, from the same position (never from 0)
                self.error = str(exc)
                self.read_errors += 1
                self._errors.failed("CEL tail: reading %s failed at offset %d; retrying: %s", self.path,
                                    self.pos, exc, exc_info=True)
            else:
                if self.error is not None:
                    self.error = None
                    self._errors.recovered("CEL tail: reading %s again from offset %d", self.path, self.pos)
            self._stop.wait(self._interval)

    def status(self) -> dict[str, object]:
        out: dict[str, object] = {"ok": self.error is None and self._thread is not None and self._thread.is_alive(),
                                  "events": self.events, "bad_lines": self.bad_lines, "offset": self.pos,
                                  "rotations": self.rotations, "read_errors": self.read_errors}
        if self.lag.count:
            out["lag_p50_ms"] = round(self.lag.percentile(50) * 1000, 2)
            out["lag_p99_ms"] = round(self.lag.percentile(99) * 1000, 2)
        if self.error:
            out["error"] = self.error
        return out
