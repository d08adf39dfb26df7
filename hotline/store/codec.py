"""The one JSON form of a :class:`CallRecord`, used by the journal on disk.

Encoding is ``CallRecord.to_dict()`` (datetimes as ISO 8601 with their UTC
offset), so a journal line reads exactly like an item of ``GET /api/calls``.
Decoding is strict: unknown keys, naive datetimes or an unknown outcome raise
``ValueError`` rather than silently produce a different record.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from datetime import datetime
from typing import Any

from hotline.records.call import CallRecord, Outcome

_FIELDS = {f.name for f in dataclasses.fields(CallRecord)}
_DATETIME_FIELDS = {
    name for name, hint in typing.get_type_hints(CallRecord).items()
    if hint is datetime or datetime in typing.get_args(hint)
}


def record_to_json(record: CallRecord) -> str:
    """One line of JSON (no newline inside: ``json`` escapes control characters)."""
    return json.dumps(record.to_dict(), ensure_ascii=False, separators=(",", ":"))


def record_from_json(text: str | bytes) -> CallRecord:
    """Parse what :func:`record_to_json` wrote; ``ValueError`` on anything else."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"a call record must be a JSON object, not {type(data).__name__}")
    unknown = data.keys() - _FIELDS
    if unknown:
        raise ValueError(f"unknown call record field(s): {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        if name in _DATETIME_FIELDS and value is not None:
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise ValueError(f"{name}: datetime {data[name]!r} has no UTC offset")
        elif name == "outcome":
            value = Outcome(value)
        kwargs[name] = value
    try:
        return CallRecord(**kwargs)
    except TypeError as exc:  # a required field is missing
        raise ValueError(str(exc)) from None
