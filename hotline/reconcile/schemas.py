"""Request parsing of the reconciliation report: the day."""

from __future__ import annotations

from datetime import date

from hotline.exceptions import InvalidRequest


def day(raw: str | None) -> date:
    """``YYYY-MM-DD``, a site-local day; anything else is ``invalid-request`` naming ``day``."""
    if raw is None or raw == "":
        raise InvalidRequest("day", "required: a site-local day YYYY-MM-DD", raw)
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest("day", "must be a day YYYY-MM-DD", raw) from None
