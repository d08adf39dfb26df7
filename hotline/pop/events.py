"""The seat's own change stream for its screen pop: server-sent ``seat`` events
``{seat_id, state, call_id, since}`` each time the seat's state or call changes (from the live
hub, the same changes the wallboard follows), the first one on connecting. No number travels here:
on a ``call_id`` the page reads ``GET /api/seats/{seat_id}/pop``. A comment line every
``heartbeat_s`` keeps proxies from closing an idle stream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import Any

from hotline.live.hub import LiveHub
from hotline.wallboard.sse import comment, frame

log = logging.getLogger(__name__)

HEARTBEAT_S = 15.0
FIELDS = ("seat_id", "state", "call_id", "since")


def seat_event(view: dict[str, Any]) -> dict[str, Any]:
    return {name: view.get(name) for name in FIELDS}


def pick(kind: object, view: dict[str, Any], shown_from: str | None) -> tuple[dict[str, Any], str | None] | None:
    """The seat event a hub message makes, and the node whose call it shows (None: this node's
    view), or None when it changes nothing. ``shown_from``: the node of the call shown now.

    Several nodes (issue 14): this node sees a seat busy with another node's call (the shared
    device state) but not the call; that node's view (``peer_seat``) has it. A peer's view is taken
    when it has a call, or ends the call of that peer shown now; this node's view without a call
    does not hide a peer's call."""
    event = seat_event(view)
    if kind == "peer_seat":
        node = view.get("node")
        if event["call_id"] is None and (shown_from is None or node != shown_from):
            return None
        return event, (str(node) if event["call_id"] is not None else None)
    if kind != "seat" or (event["call_id"] is None and shown_from is not None):
        return None
    return event, None


async def seat_frames(hub: LiveHub, seat_id: str, initial: dict[str, Any],
                      heartbeat_s: float = HEARTBEAT_S) -> AsyncGenerator[bytes, None]:
    """Frames for one page, until it goes away (the caller stops iterating)."""
    inbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=100)   # hub messages of this seat

    async def pump() -> None:
        try:
            async for event in hub.subscribe():
                data = event.get("data")
                if event.get("type") in ("seat", "peer_seat") and isinstance(data, dict) \
                        and data.get("seat_id") == seat_id:
                    if inbox.full():   # a page that does not read: only the newest state matters
                        inbox.get_nowait()
                    inbox.put_nowait(event)
        except Exception:
            log.exception("the seat's change stream failed")
        finally:
            with contextlib.suppress(asyncio.QueueFull):
                inbox.put_nowait(None)

    task = asyncio.create_task(pump())   # subscribe first: a change in between is sent, not lost
    try:
        await asyncio.sleep(0)
        last, shown_from = seat_event(initial), None
        yield frame("seat", last)
        while True:
            try:
                message = await asyncio.wait_for(inbox.get(), heartbeat_s)
            except TimeoutError:
                yield comment()
                continue
            if message is None:
                return
            picked = pick(message.get("type"), message["data"], shown_from)
            if picked is None:
                continue
            event, shown_from = picked
            if (event["state"], event["call_id"]) != (last["state"], last["call_id"]):
                last = event
                yield frame("seat", event)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
