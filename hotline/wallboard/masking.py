"""Caller numbers on the wallboard are masked: complainants' identity is confidential.

The number is masked in the controller, before it leaves for the browser: 13812341234 becomes
138****1234 (the first 3 and the last 4 digits stay). Shorter numbers keep less; anything that is
not a number (``anonymous``) is shown as it is.
"""

from __future__ import annotations

import copy
from typing import Any

from hotline.privacy import mask_number

_CALLER_KEYS = ("caller",)


def _mask_in(item: dict[str, Any]) -> None:
    for key in _CALLER_KEYS:
        if isinstance(item.get(key), str):
            item[key] = mask_number(item[key])
    for entry in item.get("entries") or []:
        if isinstance(entry, dict):
            _mask_in(entry)


def mask_snapshot(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A copy of a LiveHub snapshot with every seat's and queue entry's caller masked."""
    out = copy.deepcopy(snapshot)
    for seat in out.get("seats") or []:
        _mask_in(seat)
    for queue in out.get("queues") or []:
        _mask_in(queue)
    return out


def mask_event(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of a LiveHub event (``{"type", "data"}``) with callers masked."""
    out = copy.deepcopy(event)
    data = out.get("data")
    if isinstance(data, dict):
        _mask_in(data)
        for key in ("seats", "queues"):
            for item in data.get(key) or []:
                if isinstance(item, dict):
                    _mask_in(item)
    return out
