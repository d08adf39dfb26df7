"""The query of ``GET /api/seats/{seat_id}/pop``: how many earlier calls and orders (each
problem names its parameter); ``reason`` is the disclosure audit's (``hotline.audit.disclosure``)."""

from __future__ import annotations

from dataclasses import dataclass

from multidict import MultiMapping

from hotline.exceptions import InvalidRequest
from hotline.http.query import NON_NEGATIVE, integer, single_values

PARAMS = ("calls", "orders", "reason")
DEFAULT = 10
MAX = 50


@dataclass(frozen=True)
class PopQuery:
    calls: int = DEFAULT     # earlier calls of the caller, newest first
    orders: int = DEFAULT    # the caller's work orders, newest first


def parse_query(query: MultiMapping[str]) -> PopQuery:
    values = single_values(query, PARAMS, strip=True)
    counts = {}
    for name in ("calls", "orders"):
        if values.get(name):
            value = integer(name, values[name], pattern=NON_NEGATIVE, message="must be a non-negative integer")
            if value > MAX:
                raise InvalidRequest(name, f"at most {MAX}", value)
            counts[name] = value
    return PopQuery(**counts)
