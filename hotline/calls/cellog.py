"""Reading the cel_custom JSON log: whole records from a byte offset.

Shared by the live tail (:class:`hotline.calls.tail.CelTail`) and the reconciler, so
both read a hostile record (a raw line break inside a value splits it over several
physical lines; a trailing backslash breaks its JSON) the same way.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import BinaryIO, Literal

from . import cel
from .cel import CelEvent

MAX_SPLIT_LINES = 8

_Decoded = tuple[Literal["event", "unusable", "incomplete", "garbage"], "CelEvent | None"]


def decode(data: bytes) -> _Decoded:
    """One cel_custom record, possibly spread over several physical lines.

    ``incomplete``: valid so far, but the record goes on (a raw line break inside a
    value); ``garbage``: broken before its end, so its first line is not a record start.
    """
    text = data.decode("utf-8", errors="replace")
    try:
        value = json.loads(text, strict=False)  # strict=False: raw CR/LF inside strings
    except json.JSONDecodeError as exc:
        repaired = cel.from_trusted_suffix(text) if text.rstrip().endswith("}") else None
        if repaired is not None:
            return "event", repaired
        if exc.msg.startswith("Unterminated string") or exc.pos >= len(text.rstrip()):
            return "incomplete", None
        return "garbage", None
    event = cel.from_json_object(value) if isinstance(value, dict) else None
    return ("event", event) if event is not None else ("unusable", None)


def read_records(path: Path | BinaryIO, offset: int) -> tuple[list[tuple[int, CelEvent]], int, int]:
    """Every whole record from ``offset``: ([(record offset, event)], resume offset, bad lines).

    The resume offset is where the next read starts: after the last whole record, before a
    line Asterisk is still writing or a record still missing its continuation lines.
    ``path`` may be an open binary file (a rotated log is read through the handle kept on it)."""
    out: list[tuple[int, CelEvent]] = []
    bad = 0
    pos = offset
    pending: list[tuple[int, bytes]] = []
    with (path.open("rb") if isinstance(path, Path) else nullcontext(path)) as fh:
        fh.seek(offset)
        for raw in fh:
            if not raw.endswith(b"\n"):
                break  # a line Asterisk is still writing
            pending.append((pos, raw))
            pos += len(raw)
            while pending:
                state, event = decode(b"".join(line for _, line in pending))
                if state == "incomplete" and len(pending) < MAX_SPLIT_LINES:
                    break  # wait for the rest of the record
                if state == "event" and event is not None:
                    out.append((pending[0][0], event))
                    pending.clear()
                elif state == "unusable":  # whole JSON, but not a CEL record we can use
                    bad += 1
                    pending.clear()
                else:  # its first line starts no record: drop that line, look at the rest again
                    bad += 1
                    pending.pop(0)
    resume = pending[0][0] if pending else pos
    return out, resume, bad
