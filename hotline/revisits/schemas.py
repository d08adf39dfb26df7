"""Request bodies and query strings of the 回访 routes (shape only; the outbound rule is the
service's)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from multidict import MultiMapping
from pydantic import StringConstraints

from hotline.exceptions import InvalidRequest
from hotline.http.body import StrictBody
from hotline.http.query import NON_NEGATIVE, integer, single_values
from hotline.store.store import MAX_PAGE
from hotline.work_orders.lifecycle import Rating

Number = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
_ORDER = re.compile(r"WO-[0-9]{8}-[0-9]{1,12}")
DEFAULT_LIMIT = 50
LIST_PARAMS = ("status", "work_order_id", "limit", "full", "reason")


class RatingBody(StrictBody):
    """``POST /api/revisits/{id}/rating``: the rating the caller gave the seat."""

    rating: Rating


class NumberBody(StrictBody):
    """``POST /api/revisits/{id}/number``: the number to dial from now on (as the caller gave it)."""

    number: Number


class RefusalBody(StrictBody):
    """``POST /api/revisit-refusals``: a caller refused 回访 calls."""

    number: Number
    reason: Reason


def list_query(q: MultiMapping[str]) -> dict[str, Any]:
    """``GET /api/revisits`` parameters, each problem naming the parameter."""
    out: dict[str, Any] = {}
    for name, value in single_values(q, LIST_PARAMS, strip=True).items():
        if name == "work_order_id" and not _ORDER.fullmatch(value):
            raise InvalidRequest(name, "a work-order id (WO-20261201-000001)", value)
        if name == "limit":
            limit = integer(name, value, pattern=NON_NEGATIVE, message="must be a positive integer")
            if not 1 <= limit <= MAX_PAGE:
                raise InvalidRequest(name, f"1..{MAX_PAGE}", limit)
            out[name] = limit
        elif name == "full":
            if value not in ("0", "1"):
                raise InvalidRequest(name, "must be 1 or 0", value)
            out[name] = value == "1"
        else:
            out[name] = value
    return out
