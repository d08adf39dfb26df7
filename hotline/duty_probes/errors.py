"""Errors of the duty-phone tests: :class:`hotline.exceptions.HotlineError` subclasses with stable
ids (the API turns them into JSON in one place, ``hotline.api.app``)::

    NotFound
    ├── NoSuchProbe            no-such-duty-probe      (404)
    └── NoSuchUnit             no-such-unit            (404: not an orders.units[].id)
    InvalidRequest
    └── InvalidMonth           invalid-month           (400: not YYYY-MM, or month 13)
    NotYourUnit                not-your-unit           (403: another unit's results, or a seat's or
                                                        department's read: supervisors and the unit itself only)
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


class NotYourUnit(HotlineError):
    """The results are the unit's own and the centre's: a unit user asked for another unit, or a
    seat or department user (whose role reaches the route) asked at all."""

    error_id = "not-your-unit"
    http_status = 403

    def __init__(self, role: str, unit: str | None, asked: str | None) -> None:
        super().__init__(f"the duty-phone tests of a unit are for supervisors and that unit only ({role} user"
                         f"{' of ' + unit if unit else ''} asked for {asked or 'every unit'})", role=role, unit=unit,
                         asked=asked)


class DutyPhoneNotAllowed(HotlineError):
    """A unit's duty phone the outbound number rule (:mod:`hotline.revisits.rules`) refuses: never
    dialled; ``field`` is the config field that names it (the number is shown masked)."""

    error_id = "duty-phone-not-allowed"
    http_status = 422

    def __init__(self, number: str, reason: str, field: str) -> None:
        super().__init__(f"{field}: the outbound rule refuses this duty phone ({reason})", field=field,
                         value=mask_number(number), reason=reason)
