"""What the wallboard reads: the live state (``hotline.live.hub.LiveHub``) as an event stream.

:class:`LiveSource` is the surface of the hub this feature uses; unit tests use a small fake.
:func:`live_frames` turns it into SSE frames: first ``snapshot`` (the whole state), then each
``seat``, ``queue``, ``kpi``, ``hotspot`` (the active hotspot alerts, :mod:`hotline.hotspots`) or
``live`` event as it comes, a heartbeat comment when nothing
happened for ``heartbeat_s``. Callers are masked before they are framed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, Protocol

from hotline.wallboard.masking import mask_event, mask_snapshot
from hotline.wallboard.sse import comment, frame

log = logging.getLogger(__name__)

HEARTBEAT_S = 15.0
EVENT_TYPES = frozenset({"seat", "queue", "kpi", "hotspot", "live"})


class LiveSource(Protocol):
    def snapshot(self) -> dict[str, Any]: ...

    def subscribe(self) -> AsyncIterator[dict[str, Any]]: ...


async def live_frames(source: LiveSource, heartbeat_s: float = HEARTBEAT_S,
                      extra: dict[str, Any] | None = None) -> AsyncGenerator[bytes, None]:
    """SSE frames for one client, until it goes away (the caller stops iterating). ``extra`` is
    added to every snapshot (the site's pause reasons, who is logged in)."""
    events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=1000)

    async def pump() -> None:
        try:
            async for event in source.subscribe():
                if events.full():   # a client that does not read: start it over with a snapshot
                    while not events.empty():
                        events.get_nowait()
                    await events.put({"type": "snapshot"})
                await events.put(event)
        except Exception:
            log.exception("the live state subscription failed")
        finally:
            await events.put(None)

    # Subscribe first, then snapshot: an event in between is sent twice at worst, never lost.
    task = asyncio.create_task(pump())
    try:
        await asyncio.sleep(0)
        yield frame("snapshot", {**mask_snapshot(source.snapshot()), **(extra or {})})
        while True:
            try:
                event = await asyncio.wait_for(events.get(), heartbeat_s)
            except TimeoutError:
                yield comment()
                continue
            if event is None:
                yield frame("live", {"ok": False, "backend": None, "error": "live state stream ended"})
                return
            kind = event.get("type")
            if kind == "snapshot":
                yield frame("snapshot", {**mask_snapshot(source.snapshot()), **(extra or {})})
            elif kind in EVENT_TYPES:
                yield frame(str(kind), mask_event(event).get("data"))
            else:
                log.debug("live event of unknown type %r not sent", kind)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
