"""The wallboard: caller masking, SSE framing, the live stream over a fake hub, the page."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hotline.store import Store
from hotline.wallboard.masking import mask_event, mask_number, mask_snapshot
from hotline.wallboard.services import live_frames
from hotline.wallboard.sse import comment, frame

from authkit import bearer, login, serve


@pytest.mark.parametrize(("number", "masked"), [
    ("13812341234", "138****1234"),
    ("+8613812341234", "+861******1234"),
    ("051383531111", "051*****1111"),
    ("83531111", "835*1111"),
    ("1234567", "*****67"),
    ("12345", "***45"),
    ("1234", "****"),
    ("", ""),
    ("anonymous", "anonymous"),
    (None, None),
])
def test_mask_number(number: str | None, masked: str | None) -> None:
    assert mask_number(number) == masked


class FakeHub:
    """The surface of hotline.live.hub.LiveHub the wallboard uses: snapshot() and subscribe()."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {
            "ts": 1700000000.0, "live": {"ok": True, "backend": "memory", "error": None},
            "seats": [{"seat_id": "1001", "name": "坐席1001", "state": "talking", "since": 1699999990.0,
                       "reason": None, "reason_name": None, "queues": ["hotline"], "call_id": "1.1",
                       "caller": "13812341234", "county": None, "remote": False}],
            "queues": [{"name": "hotline", "title": None, "waiting": 1, "logged_in": 1, "available": 0,
                        "entries": [{"call_id": "1.2", "caller": "13900001111", "since": 1699999995.0,
                                     "position": 1, "priority": 0}]}],
            "kpi": {"answer_rate": 0.95}}
        self.events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.subscribers = 0

    def snapshot(self) -> dict[str, Any]:
        return self.state

    async def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        self.subscribers += 1
        while (event := await self.events.get()) is not None:
            yield event


def test_masking_a_snapshot_and_events_leaves_the_original() -> None:
    hub = FakeHub()
    masked = mask_snapshot(hub.snapshot())
    assert masked["seats"][0]["caller"] == "138****1234"
    assert masked["queues"][0]["entries"][0]["caller"] == "139****1111"
    assert hub.state["seats"][0]["caller"] == "13812341234"
    event = mask_event({"type": "queue", "data": hub.state["queues"][0]})
    assert event["data"]["entries"][0]["caller"] == "139****1111"
    assert mask_event({"type": "seat", "data": {"caller": "13812341234"}})["data"]["caller"] == "138****1234"


@pytest.mark.parametrize(("event", "data", "event_id", "wire"), [
    ("seat", {"a": 1}, None, b'event: seat\ndata: {"a":1}\n\n'),
    ("kpi", {"t": "两行\n文本"}, "7", 'id: 7\nevent: kpi\ndata: {"t":"两行\\n文本"}\n\n'.encode()),
    ("live", None, None, b"event: live\ndata: null\n\n"),
])
def test_sse_frames(event: str, data: Any, event_id: str | None, wire: bytes) -> None:
    assert frame(event, data, event_id) == wire


@pytest.mark.parametrize(("event", "event_id"), [("bad\nname", None), ("", None), ("a:b", None), ("ok", "x\ny")])
def test_sse_refuses_line_breaks(event: str, event_id: str | None) -> None:
    with pytest.raises(ValueError):
        frame(event, {}, event_id)


def test_sse_comment() -> None:
    assert comment() == b": heartbeat\n\n" and comment("a\nb") == b": a b\n\n"


def parse(chunk: bytes) -> tuple[str, Any]:
    fields = dict(line.split(": ", 1) for line in chunk.decode().strip("\n").split("\n"))
    return fields["event"], json.loads(fields["data"])


async def test_live_frames_snapshot_events_heartbeat_end() -> None:
    hub = FakeHub()
    frames = live_frames(hub, heartbeat_s=0.05, extra={"pause_reasons": [{"code": "break", "name": "小休"}]})
    kind, snap = parse(await anext(frames))
    assert kind == "snapshot" and snap["seats"][0]["caller"] == "138****1234"
    assert snap["pause_reasons"] == [{"code": "break", "name": "小休"}]
    await hub.events.put({"type": "seat", "data": {**hub.state["seats"][0], "state": "paused"}})
    kind, seat = parse(await anext(frames))
    assert (kind, seat["state"], seat["caller"]) == ("seat", "paused", "138****1234")
    hotspot = {"items": [{"id": 1, "text": "热点预警: 供水 6 件 / 近7日同期均值 1"}]}
    await hub.events.put({"type": "hotspot", "data": hotspot})     # the active hotspot alerts (hotline.hotspots)
    assert parse(await anext(frames)) == ("hotspot", hotspot)
    await hub.events.put({"type": "mystery", "data": {}})          # not sent
    await hub.events.put({"type": "live", "data": {"ok": False, "backend": "redis", "error": "down"}})
    assert parse(await anext(frames)) == ("live", {"ok": False, "backend": "redis", "error": "down"})
    assert await anext(frames) == b": heartbeat\n\n"               # nothing for heartbeat_s
    await hub.events.put(None)                                     # the hub's stream ends
    kind, live = parse(await anext(frames))
    assert kind == "live" and live["ok"] is False
    with pytest.raises(StopAsyncIteration):
        await anext(frames)


async def test_live_stream_over_http(sqlite_store: Store, tmp_path: Path) -> None:
    hub = FakeHub()
    async with serve(sqlite_store, tmp_path, live=hub) as client:
        token = await login(client, "boss")
        response = await client.get("/api/live/stream", headers=bearer(token))
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
        first = await response.content.readuntil(b"\n\n")
        kind, snap = parse(first)
        assert kind == "snapshot" and snap["me"]["name"] == "boss"
        assert [r["code"] for r in snap["pause_reasons"]] == ["break", "training", "admin", "meal"]
        assert "13812341234" not in first.decode()
        await hub.events.put({"type": "kpi", "data": {"answer_rate": 0.9}})
        assert parse(await response.content.readuntil(b"\n\n")) == ("kpi", {"answer_rate": 0.9})
        response.close()


@pytest.mark.parametrize(("path", "status", "content_type", "needle"), [
    ("/wallboard", 200, "text/html", 'id="login"'),
    ("/wallboard/wallboard.js", 200, "application/javascript", "/api/live/stream"),
    ("/wallboard/wallboard.css", 200, "text/css", ".seat"),
    ("/wallboard/secrets.txt", 404, "application/json", "not-found"),
    ("/wallboard/..%2Fhttp.py", 404, "application/json", "not-found"),
])
async def test_page_and_assets(sqlite_store: Store, tmp_path: Path, path: str, status: int, content_type: str,
                               needle: str) -> None:
    async with serve(sqlite_store, tmp_path) as client:
        response = await client.get(path)
        assert response.status == status and response.content_type == content_type
        assert needle in await response.text()


async def test_shutdown_closes_open_streams_at_once(sqlite_store: Store, tmp_path: Path) -> None:
    """An open wallboard must not hold the controller's shutdown for aiohttp's shutdown timeout:
    the app's shutdown ends every stream (without it, this one would run until the client left)."""
    hub = FakeHub()
    async with serve(sqlite_store, tmp_path, live=hub) as client:
        response = await client.get("/api/live/stream", headers=bearer(await login(client, "boss")))
        assert parse(await response.content.readuntil(b"\n\n"))[0] == "snapshot"
        await client.app.shutdown()          # what AppRunner.cleanup does first
        try:                                 # ends at once (cut: the browser's EventSource reconnects)
            assert await asyncio.wait_for(response.content.read(), 2) == b""
        except aiohttp.ClientPayloadError:
            pass
        response.close()
