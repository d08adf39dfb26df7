"""Errors of the duty-phone tests: :class:`hotline.exceptions.HotlineError` subclasses with stable
ids (the API turns them into JSON in one place, ``hotline.api.app``)::

    NotFound
    ├── NoSuchProbe            no-such-duty-probe      (404)
    └── NoSuchUnit             no-such-unit            (404: not an orders.units[].id)
    InvalidRequest
    └── InvalidMonth           invalid-month           (400: not YYYY-MM, or month 13)
    DutyPhoneNotAllowed        duty-phone-not-allowed  (422: the outbound rule refuses a duty phone; audited,
                                                        shown in the month's results)
"""

from __future__ import annotations

from hotline.exceptions import HotlineError, InvalidRequest, NotFound
from hotline.privacy import mask_number


class NoSuchProbe(NotFound):
    error_id = "no-such-duty-probe"

    def __init__(self, probe_id: object) -> None:
        super().__init__(f"no duty-phone probe with id {probe_id!r}", probe_id=str(probe_id))


class NoSuchUnit(NotFound):
    error_id = "no-such-unit"

    def __init__(self, unit_id: str) -> None:
        super().__init__(f"unit: no member unit {unit_id!r} (orders.units[].id)", field="unit", value=unit_id)


class InvalidMonth(InvalidRequest):
    error_id = "invalid-month"

    def __init__(self, value: str) -> None:
        super().__init__("month", "a month as YYYY-MM (2026-11), month 01-12", value)


class DutyPhoneNotAllowed(HotlineError):
    """A unit's duty phone the outbound number rule (:mod:`hotline.revisits.rules`) refuses: never
    dialled; ``field`` is the config field that names it (the number is shown masked)."""

    error_id = "duty-phone-not-allowed"
    http_status = 422

    def __init__(self, number: str, reason: str, field: str) -> None:
        super().__init__(f"{field}: the outbound rule refuses this duty phone ({reason})", field=field,
                         value=mask_number(number), reason=reason)
