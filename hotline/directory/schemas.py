"""Validation of directory queries: ``GET /api/directory?q=&mode=&limit=&offset=``.

The first problem found becomes an ``InvalidRequest`` naming the query parameter
(``invalid-request``, ``details.field``), like ``/api/calls``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from multidict import MultiMapping

from hotline.config.site import NumberMode
from hotline.exceptions import InvalidRequest
from hotline.http.query import integer, single_values

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_Q = 40
MODES = ("department", *(m.value for m in NumberMode))
"""``mode``: ``department`` lists departments only; a number mode lists numbers of that mode only."""

PARAMS = frozenset({"q", "mode", "limit", "offset"})
NUMBER = re.compile(r"\+?[0-9]{1,20}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class DirectoryQuery:
    q: str = ""                 # part of a name (Chinese), a department id or a number; "" for all
    mode: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def parse_query(query: MultiMapping[str]) -> DirectoryQuery:
    """The query string as a :class:`DirectoryQuery`; an empty parameter counts as absent."""
    values: dict[str, object] = {}
    for name, value in single_values(query, PARAMS, strip=True).items():
        if name == "q":
            if len(value) > MAX_Q or _CONTROL.search(value):
                raise InvalidRequest(name, f"must be at most {MAX_Q} printable characters", value[:MAX_Q + 1])
            values[name] = value
        elif name == "mode":
            if value not in MODES:
                raise InvalidRequest(name, f"must be one of {', '.join(MODES)}", value)
            values[name] = value
        else:
            number = integer(name, value)
            if name == "limit" and not 1 <= number <= MAX_LIMIT:
                raise InvalidRequest(name, f"must be between 1 and {MAX_LIMIT}", number)
            if name == "offset" and number < 0:
                raise InvalidRequest(name, "must not be negative", number)
            values[name] = number
    return DirectoryQuery(**values)  # type: ignore[arg-type]


def parse_number(value: str) -> str:
    """The ``{number}`` of ``GET /api/directory/{number}``: digits with an optional leading +."""
    if not NUMBER.fullmatch(value):
        raise InvalidRequest("number", "must be digits with an optional leading +", value[:40])
    return value
