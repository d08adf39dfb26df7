"""A clock for the work-order service that an integration test moves, for tests only.

``HOTLINE_TEST_ORDER_CLOCK=<file>`` in the controller's environment: the work-order service's
``now`` is the ISO 8601 time (with its offset) written in that file, or the real time while the
file is absent or empty; the 督办 sweep then runs every :data:`SWEEP_SECONDS` instead of every
five minutes, so a test that moves the clock sees the warnings without sleeping. The controller
refuses the variable when systemd started it (``INVOCATION_ID``: how the packaged service runs),
so a production controller never runs on a moved clock. Only the order service reads it: call
records, the outbox's backoff and logins keep the real time.

``HOTLINE_TEST_KPI_CLOCK=<file>`` (:data:`KPI_ENV`), the same kind of file, is the KPI service's
``now`` (``hotline.metrics``: the rolling 24 h window and the wallboard's today), so a test on the
real stack puts the rolling window's edge next to a call it placed (tests/integration/shapes/
rolling.py); refused under systemd the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from hotline.exceptions import HotlineError

ENV = "HOTLINE_TEST_ORDER_CLOCK"
KPI_ENV = "HOTLINE_TEST_KPI_CLOCK"
SWEEP_SECONDS = 0.5


class OrderClockRefused(HotlineError):
    error_id = "test-clock-refused"


class FileClock:
    """``now()`` from the file a test writes (re-read at each call)."""

    def __init__(self, path: Path, variable: str = ENV) -> None:
        self.path = path
        self.variable = variable

    def __call__(self) -> dt.datetime:
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            text = ""
        if not text:
            return dt.datetime.now(dt.UTC)
        try:
            at = dt.datetime.fromisoformat(text)
        except ValueError:
            raise OrderClockRefused(f"{self.variable} file {self.path}: not an ISO 8601 time", value=text) from None
        if at.tzinfo is None:
            raise OrderClockRefused(f"{self.variable} file {self.path}: the time needs its UTC offset", value=text)
        return at


def from_env(environ: Mapping[str, str], variable: str = ENV) -> FileClock | None:
    """The test clock ``variable`` (:data:`ENV` or :data:`KPI_ENV`) asks for, or None (the real clock)."""
    value = environ.get(variable, "")
    if not value:
        return None
    if environ.get("INVOCATION_ID"):
        raise OrderClockRefused(f"{variable} is for tests only: refused in a controller started by systemd",
                               variable=variable, value=value)
    return FileClock(Path(value), variable)
