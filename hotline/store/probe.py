"""Whether the database answers, asked from a thread of its own.

``/status`` must answer even when the database hangs (a stopped server accepts TCP
and never replies; no client timeout covers a query already sent). So the request
never calls the database: a probe thread pings it every ``every_s`` seconds and
``status()`` reports the last answer, or ``ok: false`` as soon as a ping has been
in flight for ``timeout_s`` seconds.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable


class StoreProbe:
    def __init__(self, ping: Callable[[], str | None], every_s: float = 5.0, timeout_s: float = 5.0) -> None:
        """``ping`` returns None when the database answered, else the reason it did not."""
        self._ping = ping
        self._every = every_s
        self._timeout = timeout_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._asking_since: float | None = None
        self._error: str | None = "not probed yet"
        self._answered_at: float | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="store-probe", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Does not wait for a ping stuck in a hung database (the thread is a daemon)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(0.5)

    def status(self) -> dict[str, Any]:
        now = time.monotonic()
        with self._lock:
            error, since, answered = self._error, self._asking_since, self._answered_at
        if since is not None and now - since >= self._timeout:
            error = f"database did not answer within {now - since:.0f} s"
        out: dict[str, Any] = {"ok": error is None}
        if error is not None:
            out["error"] = error
        if answered is not None:
            out["checked_s_ago"] = round(now - answered, 1)
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                self._asking_since = time.monotonic()
            try:
                error = self._ping()
            except Exception as exc:  # the probe must outlive any failure
                error = repr(exc)
            with self._lock:
                self._asking_since = None
                self._error = error
                self._answered_at = time.monotonic()
            self._stop.wait(self._every)
