"""LiveHub: the wallboard's live state, in memory and mirrored into a real Redis.

The Redis tests start their own redis-server with scripts/redis.sh (no persistence), stop it
to see the hub degrade and start it again on the same port to see the state rebuilt. Every
wait is on a condition with a timeout, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hotline.live.hub import SUBSCRIBER_BUFFER, LiveHub, redis_keys

KEYS = redis_keys()   # a hub of the default site ("hotline") and node
CHANNEL, KEY_SEATS, KEY_QUEUES, KEY_KPI = KEYS.channel, KEYS.seats, KEYS.queues, KEYS.kpi
REPO = Path(__file__).resolve().parents[2]
REDIS_SH = REPO / "scripts" / "redis.sh"
TIMEOUT = 10.0


async def until(check: Callable[[], Any], timeout: float = TIMEOUT, what: str = "condition") -> Any:
    """Poll ``check`` (sync or async) on the loop until it is truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class Subscriber:
    """A task reading hub.subscribe() into a list."""

    def __init__(self, hub: LiveHub) -> None:
        self.messages: list[dict[str, Any]] = []
        self._gen = hub.subscribe()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self._gen:
            self.messages.append(message)

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        found: dict[str, Any] = await until(lambda: next((m for m in self.messages if predicate(m)), None),
                                            what=what)
        return found

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._gen.aclose()


def seat(seat_id: str, state: str) -> dict[str, Any]:
    return {"seat_id": seat_id, "state": state, "name": f"坐席 {seat_id}"}


def queue(name: str, waiting: int) -> dict[str, Any]:
    return {"name": name, "waiting": waiting}


# --- memory mode ------------------------------------------------------------------------------


async def test_memory_snapshot() -> None:
    hub = LiveHub("")
    await hub.start()
    hub.update_seat(seat("1002", "idle"))
    hub.update_seat(seat("1001", "paused"))
    hub.update_seat(seat("1002", "talking"))   # replaces the earlier view
    hub.update_queue(queue("wrapq", 0))
    hub.update_queue(queue("hotline", 3))
    hub.update_kpi({"offered": 10, "answered": 9})
    hub.update_hotspots([{"id": 1, "text": "热点预警: 供水 6 件 / 近7日同期均值 1"}])
    snap = hub.snapshot()
    assert isinstance(snap.pop("ts"), float)
    assert snap == {
        "live": {"ok": True, "backend": "memory", "error": None},
        "seats": [seat("1001", "paused"), seat("1002", "talking")],
        "queues": [queue("hotline", 3), queue("wrapq", 0)],
        "kpi": {"offered": 10, "answered": 9},
        "hotspots": [{"id": 1, "text": "热点预警: 供水 6 件 / 近7日同期均值 1"}],   # the active hotspot alerts
    }
    assert hub.stats["published"] == 7
    await hub.stop()


async def test_memory_subscribers_get_every_change() -> None:
    hub = LiveHub("")
    first, second = Subscriber(hub), Subscriber(hub)
    await until(lambda: len(hub._subscribers) == 2, what="two subscribers")
    hub.update_seat(seat("1001", "idle"))
    hub.update_queue(queue("hotline", 1))
    hub.update_kpi({"offered": 1})
    hub.update_hotspots([])
    expected = [{"type": "seat", "data": seat("1001", "idle")}, {"type": "queue", "data": queue("hotline", 1)},
                {"type": "kpi", "data": {"offered": 1}}, {"type": "hotspot", "data": {"items": []}}]
    for sub in (first, second):
        await sub.wait_for(lambda m: m["type"] == "hotspot", "the hotspot message")
        assert sub.messages == expected
    await first.close()
    assert len(hub._subscribers) == 1     # a closed subscriber is forgotten
    hub.update_seat(seat("1001", "talking"))
    await second.wait_for(lambda m: m["data"] == seat("1001", "talking"), "the second change")
    assert len(first.messages) == 4
    await second.close()


async def test_slow_subscriber_loses_the_oldest() -> None:
    hub = LiveHub("")
    gen = hub.subscribe()
    pending = asyncio.ensure_future(gen.__anext__())   # subscribed, reads nothing yet
    await until(lambda: len(hub._subscribers) == 1, what="the subscriber")
    extra = 5
    for n in range(SUBSCRIBER_BUFFER + extra):
        hub.update_kpi({"n": n})
    assert hub.stats["dropped"] == extra
    received = [await pending] + [await gen.__anext__() for _ in range(SUBSCRIBER_BUFFER - 1)]
    assert [m["data"]["n"] for m in received] == list(range(extra, SUBSCRIBER_BUFFER + extra))
    await gen.aclose()
    assert not hub._subscribers


# --- Redis mode --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.port = free_port()

    def start(self) -> str:
        out = subprocess.run([str(REDIS_SH), "start", str(self.dir), str(self.port)], check=True,
                             capture_output=True, text=True, timeout=30)
        return out.stdout.strip()

    def stop(self) -> None:
        subprocess.run([str(REDIS_SH), "stop", str(self.dir)], check=True, capture_output=True, timeout=30)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server/redis-cli are not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path / "redis")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[Any]:
    import redis.asyncio as aioredis

    url = redis_server.start()
    assert url == f"redis://127.0.0.1:{redis_server.port}/0"
    client = aioredis.from_url(url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2)
    yield client
    await client.aclose()


async def hash_of(client: Any, key: str) -> dict[str, Any]:
    return {k: json.loads(v) for k, v in (await client.hgetall(key)).items()}


async def test_redis_mirror_outage_and_rebuild(redis_server: RedisServer, redis_client: Any) -> None:
    import redis.asyncio as aioredis

    url = f"redis://127.0.0.1:{redis_server.port}/0"
    # state the hub holds before it ever reaches Redis is written there on connect
    hub = LiveHub(url, retry=(0.05, 0.2))
    hub.update_seat(seat("1001", "idle"))
    assert hub.status() == {"ok": False, "backend": "redis", "error": None}
    await redis_client.hset(KEY_SEATS, "9999", json.dumps(seat("9999", "stale")))   # left by an old process
    await hub.start()
    sub = Subscriber(hub)
    try:
        await until(lambda: hub.status()["ok"], what="the hub to reach Redis")
        await sub.wait_for(lambda m: m == {"type": "live", "data": {"ok": True, "backend": "redis", "error": None}},
                           "the live-ok message")
        assert await hash_of(redis_client, KEY_SEATS) == {"1001": seat("1001", "idle")}

        # changes are mirrored into the hashes and reach subscribers through pub/sub
        async def subscribed() -> bool:
            return dict(await redis_client.pubsub_numsub(CHANNEL)).get(CHANNEL, 0) >= 1
        await until(subscribed, what="the hub's pub/sub subscription")
        listener = redis_client.pubsub()
        await listener.subscribe(CHANNEL)
        hub.update_seat(seat("1001", "talking"))
        hub.update_queue(queue("hotline", 2))
        hub.update_kpi({"offered": 5})
        await sub.wait_for(lambda m: m["type"] == "kpi", "the kpi message")
        assert [m for m in sub.messages if m["type"] != "live"] == [
            {"type": "seat", "data": seat("1001", "talking")}, {"type": "queue", "data": queue("hotline", 2)},
            {"type": "kpi", "data": {"offered": 5}}]
        heard: list[dict[str, Any]] = []

        async def three_heard() -> bool:
            # None for the subscribe confirmation itself (ignored) or when nothing came yet
            msg = await listener.get_message(ignore_subscribe_messages=True, timeout=0.2)
            if msg is not None:
                heard.append(json.loads(msg["data"]))
            return len(heard) >= 3
        await until(three_heard, what="three messages on hotline:live")
        assert [m["type"] for m in heard] == ["seat", "queue", "kpi"]   # really through Redis
        await listener.aclose()
        assert await hash_of(redis_client, KEY_SEATS) == {"1001": seat("1001", "talking")}
        assert await hash_of(redis_client, KEY_QUEUES) == {"hotline": queue("hotline", 2)}
        assert await hash_of(redis_client, KEY_KPI) == {"today": {"offered": 5}}

        # Redis goes away: degraded, changes still reach subscribers from memory
        redis_server.stop()
        hub.update_seat(seat("1002", "idle"))   # the writer meets the dead server
        await until(lambda: not hub.status()["ok"], what="the hub to notice Redis is down")
        assert hub.status()["backend"] == "redis" and hub.status()["error"]
        await sub.wait_for(lambda m: m["type"] == "live" and m["data"]["ok"] is False, "the live-degraded message")
        hub.update_seat(seat("1001", "paused"))
        hub.update_queue(queue("hotline", 4))
        hub.update_kpi({"offered": 6})
        await sub.wait_for(lambda m: m == {"type": "kpi", "data": {"offered": 6}}, "a change while Redis is down")
        assert {"type": "seat", "data": seat("1001", "paused")} in sub.messages
        assert hub.snapshot()["live"]["ok"] is False

        # Redis returns on the same port: ok again, the whole current state rebuilt in it
        assert redis_server.start() == url
        await until(lambda: hub.status()["ok"], what="the hub to reconnect")
        fresh = aioredis.from_url(url, decode_responses=True)
        try:
            assert await hash_of(fresh, KEY_SEATS) == {"1001": seat("1001", "paused"), "1002": seat("1002", "idle")}
            assert await hash_of(fresh, KEY_QUEUES) == {"hotline": queue("hotline", 4)}
            assert await hash_of(fresh, KEY_KPI) == {"today": {"offered": 6}}
        finally:
            await fresh.aclose()
        assert hub.stats["rebuilds"] == 2 and hub.stats["redis_errors"] >= 1
        # and pub/sub delivers again once the subscriber's reader has subscribed anew
        async def resubscribed() -> bool:
            client = aioredis.from_url(url, decode_responses=True)
            try:
                return dict(await client.pubsub_numsub(CHANNEL)).get(CHANNEL, 0) >= 1
            finally:
                await client.aclose()
        await until(resubscribed, what="the hub's pub/sub subscription after the outage")
        hub.update_kpi({"offered": 7})
        await sub.wait_for(lambda m: m == {"type": "kpi", "data": {"offered": 7}}, "a change after the outage")
    finally:
        await sub.close()
        await hub.stop()


async def test_redis_outage_noticed_by_the_subscriber_first(redis_server: RedisServer, redis_client: Any) -> None:
    """The pub/sub reader of a subscriber sees the server close first (no change is written
    during the outage): the hub must still reconnect and rebuild when Redis is back."""
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    hub = LiveHub(url, retry=(0.05, 0.2))
    await hub.start()
    sub = Subscriber(hub)
    try:
        await until(lambda: hub.status()["ok"], what="the hub to reach Redis")

        async def subscribed() -> bool:
            return dict(await redis_client.pubsub_numsub(CHANNEL)).get(CHANNEL, 0) >= 1
        await until(subscribed, what="the hub's pub/sub subscription")
        redis_server.stop()
        await until(lambda: not hub.status()["ok"], what="the subscriber to notice Redis is down")
        hub.update_seat(seat("1001", "idle"))   # made while down: memory only
        await sub.wait_for(lambda m: m["type"] == "seat", "the change from memory")
        redis_server.start()
        await until(lambda: hub.status()["ok"], what="the hub to reconnect")
        import redis.asyncio as aioredis
        fresh = aioredis.from_url(url, decode_responses=True)
        try:
            assert await hash_of(fresh, KEY_SEATS) == {"1001": seat("1001", "idle")}
        finally:
            await fresh.aclose()
    finally:
        await sub.close()
        await hub.stop()


def test_redis_names_carry_the_site_and_the_node() -> None:
    assert (CHANNEL, KEY_SEATS, KEY_QUEUES, KEY_KPI) == (
        "hotline:hotline:default:live", "hotline:hotline:default:seats", "hotline:hotline:default:queues",
        "hotline:hotline:default:kpi")
    keys = LiveHub("", site="nantong", node="node01").keys
    assert (keys.channel, keys.seats, keys.queues, keys.kpi) == (
        "hotline:nantong:node01:live", "hotline:nantong:node01:seats", "hotline:nantong:node01:queues",
        "hotline:nantong:node01:kpi")
    for site, node in (("a:b", None), ("nantong", "x:y"), ("", None), ("nantong", "a b")):
        with pytest.raises(ValueError, match="Redis key part"):
            redis_keys(site, node)


async def test_two_nodes_share_one_redis_and_a_reconnect_touches_only_its_own_keys(
        redis_server: RedisServer, redis_client: Any) -> None:
    """Two controllers (nodes) of one site and one of another site on one real Redis: each
    mirrors into its own keys and channel; one reconnects (its rebuild deletes and rewrites
    only its keys) and the others' keys survive untouched."""
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    one = LiveHub(url, site="nantong", node="node01", retry=(0.05, 0.2))
    two = LiveHub(url, site="nantong", node="node02", retry=(0.05, 0.2))
    other_site = LiveHub(url, site="suzhou", node="node01", retry=(0.05, 0.2))
    hubs = (one, two, other_site)
    await redis_client.set("unrelated", "kept")   # not ours at all
    for n, hub in enumerate(hubs):
        hub.update_seat(seat(f"100{n}", "idle"))
        hub.update_queue(queue("hotline", n))
        hub.update_kpi({"offered": n})
        hub.update_hotspots([{"id": n}])
        await hub.start()
    try:
        for hub in hubs:
            await until(lambda hub=hub: hub.status()["ok"], what="each hub to reach Redis")
        two.update_seat(seat("2002", "talking"))   # through the writer, not the rebuild

        async def two_written() -> bool:
            return "2002" in await hash_of(redis_client, two.keys.seats)
        await until(two_written, what="node02's change in Redis")
        before = {k: await hash_of(redis_client, k) for hub in (two, other_site) for k in hub.keys.hashes}
        assert before[two.keys.seats] == {"1001": seat("1001", "idle"), "2002": seat("2002", "talking")}
        assert before[other_site.keys.kpi] == {"today": {"offered": 2}}
        assert before[other_site.keys.hotspots] == {"active": {"items": [{"id": 2}]}}

        # node01 restarts (a new process: empty state, then a reconnect and rebuild)
        await one.stop()
        one = LiveHub(url, site="nantong", node="node01", retry=(0.05, 0.2))
        one.update_seat(seat("1000", "paused"))
        await one.start()
        await until(lambda: one.status()["ok"] and one.stats["rebuilds"] == 1, what="node01 to rebuild")
        assert await hash_of(redis_client, one.keys.seats) == {"1000": seat("1000", "paused")}
        stale = (one.keys.queues, one.keys.kpi, one.keys.hotspots)
        assert await redis_client.exists(*stale) == 0   # its own stale keys went
        for key, value in before.items():
            assert await hash_of(redis_client, key) == value, key
        assert await redis_client.get("unrelated") == "kept"
        assert sorted(await redis_client.keys("hotline:*")) == sorted(   # and each one's alive key
            [one.keys.seats, *two.keys.hashes, *other_site.keys.hashes,
             *(h.keys.alive for h in (one, two, other_site))])
    finally:
        for hub in (one, two, other_site):
            await hub.stop()
