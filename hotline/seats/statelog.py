"""The seat state log writer: state changes go to the store in batches, off the event loop.

A database outage must not lose them: rows wait in memory (bounded) and are retried with
backoff; beyond the bound new changes are dropped (and counted)."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from datetime import UTC, datetime

from hotline.exceptions import StoreError
from hotline.store import Store

log = logging.getLogger(__name__)

Row = tuple[str, str, str | None, datetime, str | None]


class SeatStateLog:
    def __init__(self, store: Store, *, max_pending: int = 200_000, interval: float = 0.5) -> None:
        self._store = store
        self._pending: deque[Row] = deque()
        self._max = max_pending
        self._interval = interval
        self._cv = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="seat-state-log", daemon=True)
        self.stats = {"written": 0, "dropped": 0, "errors": 0}

    def __call__(self, seat_id: str, state: str, reason: str | None, at: float, call_id: str | None) -> None:
        with self._cv:
            if len(self._pending) >= self._max:   # the newest is dropped: the writer holds the oldest
                self.stats["dropped"] += 1
                return
            self._pending.append((seat_id, state, reason, datetime.fromtimestamp(at, UTC), call_id or None))
            self._cv.notify()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify()
        self._thread.join(10)

    def pending(self) -> int:
        return len(self._pending)

    def _run(self) -> None:
        delay = self._interval
        while True:
            with self._cv:
                while not self._pending and not self._stopping:
                    self._cv.wait()
                if self._stopping and not self._pending:
                    return
                batch = list(self._pending)
            try:
                self._store.add_seat_states(batch)
            except StoreError as exc:
                self.stats["errors"] += 1
                log.warning("seat state log: %s; %d change(s) wait in memory", exc.message, len(batch))
                if self._stopping:
                    return
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            except Exception:
                self.stats["errors"] += 1
                log.exception("seat state log: write failed")
                time.sleep(delay)
                continue
            delay = self._interval
            with self._cv:
                for _ in range(len(batch)):
                    self._pending.popleft()
                self.stats["written"] += len(batch)
