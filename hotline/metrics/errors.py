"""Errors of the KPI report (``GET /api/metrics``, issue 15): stable ids, each naming the field and
value (the API turns them into JSON in one place, ``hotline.api.app``)::

    InvalidRequest                          (400)
    ├── WindowInverted     metrics-window-inverted    end not after start
    ├── WindowTooLong      metrics-window-too-long    more than MAX_SPAN (92 days)
    ├── BadGroup           metrics-bad-group          by is not all, queue, seat or dialled_number
    ├── BadInterval        metrics-bad-interval       interval is not 15min, hour or day
    ├── UnknownQueue       unknown-queue              neither in the site config nor in any record
    ├── UnknownSeat        unknown-seat               neither in the site config nor in any record
    ├── UnknownNumber      unknown-dialled-number     in no record
    └── FilterUnsupported  metrics-filter-unsupported seat with dialled_number (not kept together)
    ReportTooLarge         metrics-report-too-large   (422: more rows than MAX_ROWS; narrow it)
"""

from __future__ import annotations

from typing import Any

from hotline.exceptions import HotlineError, InvalidRequest


class WindowInverted(InvalidRequest):
    error_id = "metrics-window-inverted"


class WindowTooLong(InvalidRequest):
    error_id = "metrics-window-too-long"


class BadGroup(InvalidRequest):
    error_id = "metrics-bad-group"


class BadInterval(InvalidRequest):
    error_id = "metrics-bad-interval"


class UnknownQueue(InvalidRequest):
    error_id = "unknown-queue"


class UnknownSeat(InvalidRequest):
    error_id = "unknown-seat"


class UnknownNumber(InvalidRequest):
    error_id = "unknown-dialled-number"


class FilterUnsupported(InvalidRequest):
    error_id = "metrics-filter-unsupported"


UNKNOWN: dict[str, type[InvalidRequest]] = {"queue": UnknownQueue, "seat": UnknownSeat,
                                            "dialled_number": UnknownNumber}


class ReportTooLarge(HotlineError):
    """More rows than a report gives at once: a supervisor narrows it (a seat, a queue or a number,
    a coarser interval, a shorter window); the whole history is in the call export."""

    error_id = "metrics-report-too-large"
    http_status = 422

    def __init__(self, limit: int, **query: Any) -> None:
        super().__init__(f"the report has more than {limit} rows: narrow it with queue=, seat= or dialled_number=, "
                         "a coarser interval or a shorter window", max_rows=limit, **query)
