"""What a member unit sees of the caller on an order it holds (identity protection, GB/T 33358).

A confidential order (投诉 and 举报 by default) shows a unit no caller identity at all: no number,
no call ids (a call id leads to the number). Any other order shows the number masked, or in full
when the site allows it (``orders.units_see_numbers``); a full number handed out is audited by the
caller of :func:`for_unit` (``hotline.audit.disclosure``, action ``read.caller_number``).
The centre's roles see orders as before (:func:`hotline.privacy.sees_full`).
"""

from __future__ import annotations

from typing import Any

from hotline.privacy import Viewer, mask_number, sees_full

IDENTITY_FIELDS = ("call_ids", "caller_number")


def for_unit(order: dict[str, Any], viewer: Viewer, *, caller_number: str | None,
             units_see_numbers: bool) -> tuple[dict[str, Any], bool]:
    """The order as unit ``viewer`` may see it, and whether it carries a full number (to audit)."""
    out = {k: v for k, v in order.items() if k not in IDENTITY_FIELDS}
    confidential = bool(order.get("caller_confidential", True))
    if confidential or caller_number is None:
        return out, False
    full = sees_full(viewer, handled_by=(), confidential=confidential, units_see_numbers=units_see_numbers)
    out["caller_number"] = caller_number if full else mask_number(caller_number)
    return out, full
