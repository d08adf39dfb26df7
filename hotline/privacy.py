"""Complainants' identity is confidential (GB/T 33358): one way to mask a caller number.

13812341234 becomes 138****1234 (the first 3 and the last 4 digits stay); 5-7 digits keep the
last 2; shorter numbers are all stars; anything that is not a number (``anonymous``, or a number
masked already) is returned as it is, so masking twice changes nothing.

Who sees a full number (:func:`sees_full`): supervisors and admins; a seat only for the calls it
is handling or handled, unless the call is confidential; a department never. Every full number
the API hands out is audited with who, when, which call and why (:mod:`hotline.audit.disclosure`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


def mask_number(number: str | None) -> str | None:
    if number is None:
        return None
    plus = "+" if number.startswith("+") else ""
    digits = number[len(plus):]
    if not digits.isdigit():
        return number
    n = len(digits)
    if n >= 8:
        shown = digits[:3] + "*" * (n - 7) + digits[-4:]
    elif n >= 5:
        shown = "*" * (n - 2) + digits[-2:]
    else:
        shown = "*" * n
    return plus + shown


# --- who sees a full number ------------------------------------------------------------------
# Roles are compared by value so this module needs nothing of the config: "seat", "supervisor",
# "admin", "department", "unit" (hotline.config.site.Role).
FULL_ROLES = frozenset({"supervisor", "admin"})


@dataclass(frozen=True)
class Viewer:
    """Who reads: a user's name, role and own seat; ``role`` None when the API is open (no users
    configured: the API binds to loopback and is the operator's own, as an admin)."""

    name: str | None
    role: str | None
    seat: str | None = None


OPEN_API = Viewer(None, None)


def sees_full(viewer: Viewer, *, handled_by: Iterable[str | None], confidential: bool,
              units_see_numbers: bool = False) -> bool:
    """Whether ``viewer`` may see the full caller number of a call that the seats ``handled_by``
    are handling or handled, marked ``confidential`` (a work order about it is ``caller_confidential``).

    Supervisors, admins and the open API: always (their reads are audited). A seat: only for its
    own calls, and never for a confidential one. A unit (of an order it holds): only when the order
    is not confidential and the site allows it (``orders.units_see_numbers``). Anyone else (a
    department): never."""
    if viewer.role is None or viewer.role in FULL_ROLES:
        return True
    if viewer.role == "seat" and viewer.seat is not None and not confidential:
        return viewer.seat in set(handled_by)
    if viewer.role == "unit":
        return units_see_numbers and not confidential
    return False


def mask_record(record: dict[str, Any]) -> dict[str, Any]:
    """A call record's dict with the citizen's number masked: ``caller_number``, and
    ``dialled_number`` when it is the citizen's too (a callback dials the citizen)."""
    out = dict(record)
    caller = record.get("caller_number")
    if isinstance(caller, str):
        out["caller_number"] = mask_number(caller)
        if record.get("dialled_number") == caller:
            out["dialled_number"] = mask_number(caller)
    return out
