"""Request bodies and query strings of the callback routes."""

from __future__ import annotations

import re
from typing import Annotated, Any

from multidict import MultiMapping
from pydantic import StringConstraints

from hotline.http.body import StrictBody
from hotline.http.query import NON_NEGATIVE, date_time, integer, single_values
from hotline.exceptions import InvalidRequest
from hotline.spine.ids import CALL_ID_PLAIN

CallId = Annotated[str, StringConstraints(pattern=rf"^{CALL_ID_PLAIN}$")]
SeatId = Annotated[str, StringConstraints(pattern=r"^[0-9]{3,8}$")]
_QUEUE = re.compile(r"[a-z][a-z0-9_]{0,31}")
DEFAULT_LIMIT = 50


class CreateBody(StrictBody):
    call_id: CallId


class TakeBody(StrictBody):
    seat: SeatId


def query(q: MultiMapping[str], allowed: dict[str, str]) -> dict[str, Any]:
    """Typed query parameters: ``allowed`` maps a name to its type (datetime, int, queue, flag,
    status); unknown or repeated parameters are refused by name."""
    out: dict[str, Any] = {}
    for name, value in single_values(q, allowed).items():
        kind = allowed[name]
        if kind == "datetime":
            out[name] = date_time(name, value)
        elif kind == "int":
            out[name] = integer(name, value, pattern=NON_NEGATIVE, message="must be a positive integer")
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
