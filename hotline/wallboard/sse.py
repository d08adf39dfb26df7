"""Server-sent events framing (text/event-stream, WHATWG HTML §9.2)."""

from __future__ import annotations

import json
from typing import Any


def frame(event: str, data: Any, event_id: str | None = None) -> bytes:
    """One event: ``event:`` then the JSON data on ``data:`` lines, ended by a blank line.

    The event name and id must not hold line breaks; JSON is compact, and a line break inside
    a string is escaped by JSON, so the data is always one line."""
    if any(c in event for c in "\r\n:") or not event:
        raise ValueError(f"not an SSE event name: {event!r}")
    lines = []
    if event_id is not None:
        if any(c in event_id for c in "\r\n\0"):
            raise ValueError(f"not an SSE event id: {event_id!r}")
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    lines.extend(f"data: {line}" for line in payload.splitlines() or [""])
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def comment(text: str = "heartbeat") -> bytes:
    """A comment line: ignored by EventSource, keeps proxies and idle timers from closing the stream."""
    return f": {text.replace(chr(10), ' ').replace(chr(13), ' ')}\n\n".encode("utf-8")
