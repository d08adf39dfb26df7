"""Query strings and bodies of the hotspot routes (shape only)."""

from __future__ import annotations

from multidict import MultiMapping

from hotline.exceptions import InvalidRequest
from hotline.hotspots.errors import InvalidHotspotId
from hotline.http.body import StrictBody
from hotline.http.query import NON_NEGATIVE, integer, single_values

MAX_LIMIT = 500


class AckBody(StrictBody):
    """``POST /api/hotspots/{alert_id}/ack``: no fields (an empty body or ``{}``); who and when are the server's."""


def limit_query(q: MultiMapping[str]) -> int:
    """``limit``: how many recent (cleared) alerts to list, 1..500, default 50."""
    given = single_values(q, ("limit",), strip=True).get("limit")
    if given is None:
        return 50
    value = integer("limit", given, pattern=NON_NEGATIVE, message=f"must be an integer from 1 to {MAX_LIMIT}")
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidRequest("limit", f"must be an integer from 1 to {MAX_LIMIT}", given)
    return value


def alert_id(text: str) -> int:
    """The path's ``alert_id``: a positive integer."""
    if not NON_NEGATIVE.fullmatch(text) or int(text) < 1:
        raise InvalidHotspotId(text)
    return int(text)
