"""Call control of another node's call (hotline.calls.relay): two nodes' call control, each with
its tracker and a recorded AMI, and their relays on a real Redis (scripts/redis.sh). A request on
node-a for a call of node-b is done by node-b, with node-b's checks and errors; a node nobody
listens for fails at once; bad messages change nothing; the live list covers both nodes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from test_call_control import CALLER, FakeAmi, two_party
from test_call_legs import DIRECTORY, SEAT_LEAVES, SITE

from hotline.ami import actions
from hotline.ami.port import AmiPort
from hotline.calls.cel import CelEvent
from hotline.calls.control import CallControl
from hotline.calls.relay import ControlRelay, RemoteError, live_items
from hotline.calls.services import CallTracker
from hotline.exceptions import CallControlUnavailable
from hotline.store import Store

from apikit import api_app
from tests.unit.test_live_hub import RedisServer, redis_server, until   # noqa: F401  (a fixture)

SITE_ID = "relaytest"
ON_B = f"node-b-{SEAT_LEAVES}"


def of_node(events: list[CelEvent], node: str) -> list[CelEvent]:
    """The same call as a node named ``node`` logs it (its ids carry the node)."""
    return [dataclasses.replace(e, uniqueid=f"{node}-{e.uniqueid}", linkedid=f"{node}-{e.linkedid}") for e in events]


class Node:
    def __init__(self, name: str, url: str, events: list[CelEvent]) -> None:
        self.tracker = CallTracker(DIRECTORY, lambda r: None, on_partial=lambda lid: None)
        self.ami = FakeAmi()
        self.control = CallControl(SITE, self.tracker, AmiPort(self.ami), DIRECTORY)
        self.tracker.subscribe(self.control.on_event)
        for e in events:
            self.tracker.add(e)
        self.relay = ControlRelay(self.control, lambda: live_items(self.control, self.tracker.live_calls), url,
                                  site=SITE_ID, node=name, nodes=["node-a", "node-b", "node-c"], retry=(0.05, 0.2))
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.relay.run())
        await until(lambda: self.relay.status()["ok"], what=f"{self.relay.node}'s relay connected")

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


@pytest.fixture
async def nodes(redis_server: RedisServer) -> AsyncIterator[tuple[Node, Node, str]]:  # noqa: F811
    url = redis_server.start()
    a, b = Node("node-a", url, []), Node("node-b", url, of_node(two_party(), "node-b"))
    await a.start()
    await b.start()
    yield a, b, url
    await a.stop()
    await b.stop()


async def test_a_transfer_of_another_nodes_call_is_done_by_that_node(nodes: tuple[Node, Node, str]) -> None:
    a, b, _ = nodes
    assert a.relay.owner(ON_B) == "node-b" and a.relay.owner(SEAT_LEAVES) is None and b.relay.owner(ON_B) is None
    done = await a.relay.ask("node-b", "transfer", ON_B, {"target": "110"}, role="seat", seat="1001")
    assert b.ami.sent == [actions.redirect(f"{CALLER}", context="hotline-transfer", exten="110")]
    assert a.ami.sent == []
    assert done["kind"] == "blind" and done["steps"] == [f"Redirect {CALLER}"]


@pytest.mark.parametrize(("op", "args", "role", "seat", "status", "error_id"), [
    ("transfer", {"target": "88888888"}, "seat", "1001", 404, "no-such-target"),
    ("transfer", {"target": "110"}, "seat", "1002", 403, "not-your-call"),      # another seat's call
    ("emergency", {"service": "119"}, "supervisor", None, 422, "emergency-route-not-configured"),
    ("conference_drop", {"party": "nobody"}, "admin", None, 400, "invalid-request"),
])
async def test_the_other_nodes_errors_come_back_as_they_are(nodes: tuple[Node, Node, str], op: str,
                                                            args: dict[str, Any], role: str, seat: str | None,
                                                            status: int, error_id: str) -> None:
    a, b, _ = nodes
    with pytest.raises(RemoteError) as raised:
        await a.relay.ask("node-b", op, ON_B, args, role=role, seat=seat)
    assert (raised.value.http_status, raised.value.error_id) == (status, error_id)
    assert raised.value.details["node"] == "node-b"
    assert b.ami.sent == []


async def _until_nobody_listens(url: str, channel: str) -> None:
    """Redis has dropped a stopped node's subscription (it sees the closed socket on its next turn;
    a publish just before that would still count the old listener)."""
    import redis.asyncio as aioredis
    client = aioredis.from_url(url, decode_responses=True)
    try:
        async def gone() -> bool:
            return dict(await client.pubsub_numsub(channel)).get(channel) == 0
        await until(gone, what=f"no subscriber left on {channel}")
    finally:
        await client.aclose()


async def test_a_call_that_is_not_live_there_and_a_node_nobody_hears(nodes: tuple[Node, Node, str]) -> None:
    a, b, url = nodes
    with pytest.raises(RemoteError) as raised:
        await a.relay.ask("node-b", "transfer", "node-b-1.0", {"target": "110"}, role="admin", seat=None)
    assert raised.value.error_id == "call-not-live" and raised.value.http_status == 409
    with pytest.raises(CallControlUnavailable, match="node-c"):   # no controller listens for node-c
        await a.relay.ask("node-c", "transfer", "node-c-1.0", {"target": "110"}, role="admin", seat=None)
    await b.stop()   # node-b's controller gone: at once, not after a timeout
    await _until_nobody_listens(url, f"hotline:{SITE_ID}:node-b:control")
    with pytest.raises(CallControlUnavailable, match="not reachable"):
        await a.relay.ask("node-b", "transfer", ON_B, {"target": "110"}, role="admin", seat=None)
    b.task = asyncio.create_task(b.relay.run())   # for the fixture's teardown


async def test_bad_messages_change_nothing_and_the_relay_goes_on(nodes: tuple[Node, Node, str]) -> None:
    import redis.asyncio as aioredis
    a, b, url = nodes
    client = aioredis.from_url(url, decode_responses=True)
    try:
        for junk in ("not json", "[]", json.dumps({"id": "1", "from": "node-a", "op": "format-disk"}),
                     json.dumps({"id": "2", "from": "stranger", "op": "transfer", "call_id": ON_B,
                                 "args": {"target": "110"}}),
                     json.dumps({"id": "3", "from": "node-a", "op": "transfer", "call_id": ON_B, "args": "110"})):
            await client.publish(f"hotline:{SITE_ID}:node-b:control", junk)
        await client.publish(f"hotline:{SITE_ID}:node-a:control-answers", "{{{")
        await until(lambda: b.relay.stats["bad_messages"] == 5 and a.relay.stats["bad_messages"] == 1,
                    what="the junk counted")
    finally:
        await client.aclose()
    assert b.ami.sent == [] and b.relay.stats["served"] == 0
    await a.relay.ask("node-b", "transfer", ON_B, {"target": "110"}, role="admin", seat=None)
    assert len(b.ami.sent) == 1


async def test_the_api_on_one_node_acts_on_and_lists_the_other_nodes_calls(
        nodes: tuple[Node, Node, str], sqlite_store: Store) -> None:
    a, b, _ = nodes
    app = api_app(sqlite_store, control=a.control, live_calls=a.tracker.live_calls, relay=a.relay)
    async with TestClient(TestServer(app)) as client:
        live = await (await client.get("/api/calls/live")).json()
        assert [i["call_id"] for i in live["items"]] == [ON_B] and live["total"] == 1
        assert live["items"][0]["control"]["caller_channel"] == CALLER and "_seats" not in live["items"][0]
        response = await client.post(f"/api/calls/{ON_B}/transfer", json={"target": "110"})
        assert response.status == 202, await response.text()
        assert (await response.json())["steps"] == [f"Redirect {CALLER}"]
        response = await client.post(f"/api/calls/{ON_B}/transfer", json={"target": "88888888"})
        body = await response.json()
        assert response.status == 404 and body["error_id"] == "no-such-target" and body["details"]["node"] == "node-b"
        await b.stop()
        response = await client.post(f"/api/calls/{ON_B}/emergency", json={"service": "110"})
        assert response.status == 503 and (await response.json())["error_id"] == "call-control-unavailable"
        live = await (await client.get("/api/calls/live")).json()
        assert live["items"] == []   # node-b's calls are not listed while it does not answer
        b.task = asyncio.create_task(b.relay.run())
    assert [x["Action"] for x in b.ami.sent] == ["Redirect"] and a.ami.sent == []


async def test_the_call_at_a_seat_on_another_node_for_the_screen_pop(nodes: tuple[Node, Node, str]) -> None:
    a, b, _ = nodes
    assert await a.relay.peer_seat_call("1001") is None   # node-b has no pop source: nothing

    async def seat_call(seat: str) -> dict[str, Any] | None:
        return {"call_id": ON_B, "seat": seat} if seat == "1001" else None

    b.relay.seat_call = seat_call
    assert await a.relay.peer_seat_call("1001") == {"call_id": ON_B, "seat": "1001"}
    assert await a.relay.peer_seat_call("1002") is None
    await b.stop()
    assert await a.relay.peer_seat_call("1001") is None   # a node gone: no call, no error
    b.task = asyncio.create_task(b.relay.run())
