"""Rate-limited logging of a failure that repeats (a dead disk, database or file).

The first failure is logged at once (with its traceback when asked), then at most once
every ``every_s`` seconds with the number of failures since; the first success after a
failure logs the recovery. A loop polling every 20 ms therefore logs a handful of lines
an hour, not 180 000.
"""

from __future__ import annotations

import logging
import threading
import time


class Throttle:
    def __init__(self, logger: logging.Logger, every_s: float = 300.0) -> None:
        self._log = logger
        self._every = every_s
        self._lock = threading.Lock()
        self._last = float("-inf")
        self.failures = 0      # failures since the last success
        self.suppressed = 0    # failures not logged since the last line

    def failed(self, message: str, *args: object, exc_info: bool = False) -> bool:
        """Count one failure; log it when due. Returns whether it was logged."""
        now = time.monotonic()
        with self._lock:
            self.failures += 1
            if now - self._last < self._every:
                self.suppressed += 1
                return False
            suppressed, self.suppressed, self._last = self.suppressed, 0, now
        extra = f" ({suppressed} more failure(s) since the last report)" if suppressed else ""
        self._log.error(message + extra, *args, exc_info=exc_info)
        return True

    def recovered(self, message: str, *args: object) -> None:
        """Log ``message`` if failures were counted, and reset."""
        with self._lock:
            failures, self.failures, self.suppressed, self._last = self.failures, 0, 0, float("-inf")
        if failures:
            self._log.warning(message + f" (after {failures} failure(s))", *args)
