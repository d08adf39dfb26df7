"""Every node's queues on any node's wallboard (issue 14): the pure merge of one queue's views over
the nodes, and hubs of two nodes (and another site) on one real Redis: each shows every queue
merged, follows its peers' changes, and drops a peer whose alive key is gone."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hotline.live import hub as hub_module
from hotline.live.hub import LiveHub
from hotline.live.peers import merge_queue, node_of
from test_live_hub import RedisServer, Subscriber, redis_client, redis_server, until  # noqa: F401  (fixtures)


def view(waiting: list[tuple[str, float, int]], logged_in: int = 2, available: int = 1) -> dict[str, Any]:
    """A node's view of queue hotline: entries (call id, since, priority)."""
    entries = [{"call_id": c, "caller": "139****0001", "since": t, "position": i + 1, "priority": p}
               for i, (c, t, p) in enumerate(waiting)]
    return {"name": "hotline", "title": "12345", "waiting": len(entries),
            "longest_wait_since": min((t for _, t, _ in waiting), default=None), "entries": entries,
            "logged_in": logged_in, "available": available}


def test_one_node_keeps_its_view_as_it_is() -> None:
    own = view([("a-1", 10.0, 0)])
    assert merge_queue("node-a", {"node-a": own}) is own


@pytest.mark.parametrize(("case", "views", "order", "longest", "available"), [
    ("arrival order over the nodes",
     {"node-a": view([("a-1", 10.0, 0), ("a-2", 30.0, 0)]), "node-b": view([("b-1", 20.0, 0)])},
     ["a-1", "b-1", "a-2"], 10.0, 1),
    ("a higher priority first, whatever node",
     {"node-a": view([("a-1", 10.0, 0)]), "node-b": view([("b-1", 20.0, 5)], available=0)},
     ["b-1", "a-1"], 10.0, 0),
    ("a node with nobody waiting",
     {"node-a": view([]), "node-b": view([("b-1", 20.0, 0)])}, ["b-1"], 20.0, 1),
    ("nobody waiting anywhere", {"node-a": view([]), "node-b": view([])}, [], None, 1),
])
def test_a_queue_merged_over_the_nodes(case: str, views: dict[str, dict[str, Any]], order: list[str],
                                       longest: float | None, available: int) -> None:
    merged = merge_queue("node-a", views)
    assert [e["call_id"] for e in merged["entries"]] == order, case
    assert all(e["node"] == e["call_id"].split("-")[0].replace("a", "node-a").replace("b", "node-b")
               for e in merged["entries"]), case
    assert merged["waiting"] == len(order) and merged["longest_wait_since"] == longest, case
    assert merged["nodes"] == ["node-a", "node-b"] and merged["available"] == available, case
    assert merged["logged_in"] == 2 and merged["title"] == "12345", case


@pytest.mark.parametrize(("channel", "node"), [
    ("hotline:nantong:node-a:live", "node-a"), ("hotline:nantong:default:live", "default"),
    ("hotline:nantong:node-a:seats", None), ("other:nantong:node-a:live", None), ("hotline:x:live", None)])
def test_the_node_of_a_channel(channel: str, node: str | None) -> None:
    assert node_of(channel) == node


async def test_two_nodes_hubs_show_every_nodes_callers_and_drop_a_dead_peer(
        redis_server: RedisServer, redis_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setattr(hub_module, "REFRESH_S", 0.2)   # peers read whole (and dead ones dropped) often
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    a = LiveHub(url, site="nantong", node="node-a", retry=(0.05, 0.2))
    b = LiveHub(url, site="nantong", node="node-b", retry=(0.05, 0.2))
    elsewhere = LiveHub(url, site="suzhou", node="node-a", retry=(0.05, 0.2))
    a.update_queue(view([("a-1", 10.0, 0)]))
    b.update_queue(view([("b-1", 20.0, 0)]))
    elsewhere.update_queue(view([("s-1", 5.0, 0)]))
    for hub in (a, b, elsewhere):
        await hub.start()
    watcher = Subscriber(a)
    try:
        def callers(hub: LiveHub) -> list[str]:
            queues = hub.snapshot()["queues"]
            return [e["call_id"] for e in queues[0]["entries"]] if queues else []

        await until(lambda: callers(a) == ["a-1", "b-1"], what="node-a showing node-b's caller")
        await until(lambda: callers(b) == ["a-1", "b-1"], what="node-b showing node-a's caller")
        assert callers(elsewhere) == ["s-1"]   # another site's queues are not ours
        # node-b's next caller reaches node-a's subscriber as the merged queue
        b.update_queue(view([("b-1", 20.0, 0), ("b-2", 15.0, 0)]))
        event = await watcher.wait_for(lambda m: m["type"] == "queue" and len(m["data"]["entries"]) == 3,
                                       what="the merged queue event")
        assert [e["call_id"] for e in event["data"]["entries"]] == ["a-1", "b-2", "b-1"]
        assert event["data"]["waiting"] == 3 and event["data"]["nodes"] == ["node-a", "node-b"]
        # node-b's view of a seat (busy with node-b's call) reaches node-a's subscribers as a peer's
        b.update_seat({"seat_id": "1001", "state": "talking", "call_id": "node-b-1.2", "since": 1.0})
        event = await watcher.wait_for(lambda m: m["type"] == "peer_seat", what="node-b's seat view")
        assert event["data"]["node"] == "node-b" and event["data"]["call_id"] == "node-b-1.2"
        assert "1001" not in a.seats   # node-a's own seats are its own
        # node-a's own change is merged too
        a.update_queue(view([]))
        await watcher.wait_for(lambda m: m["type"] == "queue" and [e["call_id"] for e in m["data"]["entries"]]
                               == ["b-2", "b-1"], what="node-a's own change, merged")
        # node-b dies: its alive key goes (expired, here deleted), its callers leave node-a's board
        await b.stop()
        await redis_client.delete(b.keys.alive)
        await until(lambda: callers(a) == [], what="node-b's callers dropped")
        assert a.snapshot()["queues"][0].get("nodes") is None   # node-a's view alone again
    finally:
        await watcher.close()
        for hub in (a, b, elsewhere):
            await hub.stop()


async def test_hostile_messages_on_a_peers_channel_change_nothing(
        redis_server: RedisServer, redis_client: Any) -> None:  # noqa: F811
    """Garbage published on another node's channel (not JSON, no name, a list, another type) is
    ignored: the hub keeps its own view and goes on following real peers."""
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    a = LiveHub(url, site="nantong", node="node-a", retry=(0.05, 0.2))
    a.update_queue(view([("a-1", 10.0, 0)]))
    await a.start()
    try:
        await until(lambda: a.status()["ok"], what="node-a on Redis")

        async def following() -> bool:
            return int(await redis_client.execute_command("PUBSUB", "NUMPAT")) >= 1
        await until(following, what="node-a following its peers' channels")
        x = a.keys.of_node("node-x")   # a live peer (its alive key; its queues hash as its messages say)
        await redis_client.set(x.alive, "1", ex=60)
        await redis_client.hset(x.queues, "hotline", json.dumps(view([("x-1", 5.0, 0)])))
        channel = x.channel
        for junk in ("not json", '{"type":"queue","data":{}}', '{"type":"queue","data":[1,2]}',
                     '{"type":"queue"}', '["queue"]', '{"type":"seat","data":{"name":"hotline"}}'):
            await redis_client.publish(channel, junk)
        await redis_client.publish(channel, json.dumps({"type": "queue", "data": view([("x-1", 5.0, 0)])}))
        await until(lambda: [e["call_id"] for e in a.snapshot()["queues"][0]["entries"]] == ["x-1", "a-1"],
                    what="the real peer message after the junk")
        assert a.peer_queues == {"node-x": {"hotline": view([("x-1", 5.0, 0)])}}
    finally:
        await a.stop()
