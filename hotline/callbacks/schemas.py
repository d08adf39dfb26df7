"""Request bodies and query strings of the callback routes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from multidict import MultiMapping
from pydantic import StringConstraints

from hotline.api.control_http import _Body
from hotline.exceptions import InvalidRequest
from hotline.spine.ids import CALL_ID_PLAIN

CallId = Annotated[str, StringConstraints(pattern=rf"^{CALL_ID_PLAIN}$")]
SeatId = Annotated[str, StringConstraints(pattern=r"^[0-9]{3,8}$")]
_INTEGER = re.compile(r"[0-9]{1,9}")
_QUEUE = re.compile(r"[a-z][a-z0-9_]{0,31}")
DEFAULT_LIMIT = 50


class CreateBody(_Body):
    call_id: CallId


class TakeBody(_Body):
    seat: SeatId


def query(q: MultiMapping[str], allowed: dict[str, str]) -> dict[str, Any]:
    """Typed query parameters: ``allowed`` maps a name to its type (datetime, int, queue, flag,
    status); unknown or repeated parameters are refused by name."""
    out: dict[str, Any] = {}
    for name in set(q):
        values = q.getall(name)
        if name not in allowed:
            raise InvalidRequest(name, f"unknown query parameter (known: {', '.join(sorted(allowed))})", values[0])
        if len(values) > 1:
            raise InvalidRequest(name, "given more than once", values)
        value = values[0]
        if value == "":
            continue
        kind = allowed[name]
        if kind == "datetime":
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise InvalidRequest(name, "must be an ISO 8601 date-time with UTC offset (encode '+' as %2B)",
                                     value) from None
            if parsed.tzinfo is None:
                raise InvalidRequest(name, "must include a UTC offset", value)
            out[name] = parsed
        elif kind == "int":
            if not _INTEGER.fullmatch(value):
                raise InvalidRequest(name, "must be a positive integer", value)
            out[name] = int(value)
        elif kind == "queue":
            if not _QUEUE.fullmatch(value):
                raise InvalidRequest(name, "not a queue name", value)
            out[name] = value
        elif kind == "flag":
            if value not in ("0", "1", "true", "false"):
                raise InvalidRequest(name, "must be 1 or 0", value)
            out[name] = value in ("1", "true")
        else:
            out[name] = value
    return out
