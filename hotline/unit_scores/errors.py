"""Errors of the unit-score routes: :class:`hotline.exceptions.HotlineError` subclasses with stable
ids (turned into JSON in one place, ``hotline.api.app``)::

    InvalidRequest
    └── InvalidMonth       invalid-month       (400: not YYYY-MM, month 13, or a month not begun)
    NotFound
    └── NoSuchUnit         no-such-unit        (404: not in orders.units)
    NotYourUnit            not-your-unit       (403: a unit user asking for another unit's score; a seat)
    ExemptionExists        exemption-exists    (409: the order is exempted from that rule already)
    ReportFontMissing      report-font-missing (503: no CJK font for the PDF report)
"""

from __future__ import annotations

from hotline.exceptions import HotlineError, InvalidRequest, NotFound


class InvalidMonth(InvalidRequest):
    error_id = "invalid-month"

    def __init__(self, value: object, why: str = "a month as YYYY-MM (2026-11)", field: str = "month") -> None:
        super().__init__(field, why, value)


class NoSuchUnit(NotFound):
    error_id = "no-such-unit"

    def __init__(self, unit: str) -> None:
        super().__init__(f"no member unit {unit!r} (orders.units)", unit=unit)


class NotYourUnit(HotlineError):
    error_id = "not-your-unit"
    http_status = 403

    def __init__(self, unit: str, own: str | None, role: str = "unit") -> None:
        why = (f"a unit user reads its own unit's score only ({own}), not {unit!r}" if role == "unit" else
               f"unit scores are read by supervisors and by each unit's own users; a {role} user has no unit")
        super().__init__(why, unit=unit, own=own, role=role)


class ExemptionExists(HotlineError):
    error_id = "exemption-exists"
    http_status = 409

    def __init__(self, unit: str, month: str, rule: str, order_id: str) -> None:
        super().__init__(f"{order_id} is already exempted from {rule} for {unit} in {month}", unit=unit,
                         month=month, rule=rule, work_order_id=order_id)


class ReportFontMissing(HotlineError):
    error_id = "report-font-missing"
    http_status = 503

    def __init__(self, tried: list[str]) -> None:
        super().__init__("no CJK font for the PDF report: install fonts-wqy-microhei or set unit_scores.report_font",
                         tried=tried)
