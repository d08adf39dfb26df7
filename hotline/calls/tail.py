"""Following the CEL JSON log live: the controller's source of call events.

Asterisk writes every CEL record to the cel_custom JSON log as it happens. Reading
that file (a thread polling every 20 ms) instead of receiving CEL over AMI spares
Asterisk the manager's per-event formatting work and keeps one source of truth for
records, live and after a restart alike: the reconciler reads the very same file.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Callable

from agi_scripts.stats import LatencyStats

from hotline.throttle import Throttle

from .cel import CelEvent
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
        self.read_errors = 0
        # A log unreadable for an hour must not write 180 000 tracebacks: once, then every 5 min.
        self._errors = Throttle(log, every_s=300.0)

    def start(self, offset: int) -> None:
        self.pos = offset
        self._thread = threading.Thread(target=self._run, name="cel-tail", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def poll(self) -> int:
        """Read what Asterisk appended since the last poll; returns the number of events."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return 0
        if size < self.pos:  # rotated or truncated: start over
            log.warning("CEL log %s shrank (%d < %d): reading it from the start", self.path, size, self.pos)
            self.pos = 0
        if size == self.pos:
            return 0
        records, self.pos, bad = read_records(self.path, self.pos)
        self.bad_lines += bad
        if records:
            now = time.time()
            events = [e for _, e in records]
            for e in events:
                self.lag.record(max(0.0, now - e.time))
            self.events += len(events)
            self._deliver(events)
        return len(records)

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
                                  "read_errors": self.read_errors}
        if self.lag.count:
            out["lag_p50_ms"] = round(self.lag.percentile(50) * 1000, 2)
            out["lag_p99_ms"] = round(self.lag.percentile(99) * 1000, 2)
        if self.error:
            out["error"] = self.error
        return out
