"""Query strings: the common rules of every route, each problem an ``InvalidRequest`` naming the
parameter (``invalid-request``, ``details.field``).

A route names the parameters it knows; an unknown or repeated one is refused by name and an empty
one counts as absent (:func:`single_values`). The typed readers below turn one value into a number
or a time; the feature keeps its own limits (page sizes, known outcomes, queue names).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from multidict import MultiMapping

from hotline.exceptions import InvalidRequest

INTEGER = re.compile(r"-?[0-9]{1,9}")          # int() alone would also take " 5", "+5" and "5_0"
NON_NEGATIVE = re.compile(r"[0-9]{1,9}")


def single_values(query: MultiMapping[str], known: Iterable[str], *, strip: bool = False) -> dict[str, str]:
    """The given parameters, each once, empty ones left out (``strip``: values trimmed first)."""
    names = frozenset(known)
    out: dict[str, str] = {}
    for name in set(query):
        values = query.getall(name)
        if name not in names:
            raise InvalidRequest(name, f"unknown query parameter (known: {', '.join(sorted(names))})", values[0])
        if len(values) > 1:
            raise InvalidRequest(name, "given more than once", values)
        value = values[0].strip() if strip else values[0]
        if value != "":
            out[name] = value
    return out


def integer(name: str, value: str, *, pattern: re.Pattern[str] = INTEGER,
            message: str = "must be an integer") -> int:
    if not pattern.fullmatch(value):
        raise InvalidRequest(name, message, value)
    return int(value)


def date_time(name: str, value: str, *, need_offset: bool = True) -> datetime:
    """An ISO 8601 date-time; with ``need_offset`` it must carry its UTC offset. An unencoded
    ``+08:00`` arrives as `` 08:00``: the message says so, it is the usual mistake."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        hint = " (encode '+' as %2B)" if " " in value else ""
        raise InvalidRequest(name, f"must be an ISO 8601 date-time with UTC offset{hint}", value) from None
    if need_offset and parsed.tzinfo is None:
        raise InvalidRequest(name, "must include a UTC offset", value)
    return parsed
