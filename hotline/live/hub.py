"""Live state for supervisors: seats, queues, today's KPIs and the active hotspot alerts, with
change notifications.

The controller's services write here (:meth:`LiveHub.update_seat`, ``update_queue``,
``update_kpi``, ``update_hotspots``); the wallboard reads a :meth:`snapshot` and then follows :meth:`subscribe`.

Backends:
* no Redis configured (the embedded default): changes fan out in memory;
* Redis configured: every view is mirrored into Redis hashes (``hotline:<site>:<node>:seats``,
  ``…:queues``, ``…:kpi``, ``…:hotspots``) and every change is published on the channel
  ``hotline:<site>:<node>:live``; subscribers read Redis pub/sub, so other processes (a second
  wallboard server, reporting) see the same stream. ``<site>`` is the site config's ``site.id``,
  ``<node>`` its ``site.node`` (``default`` without one): several nodes and sites share one
  Redis, and each writes, deletes and rebuilds only its own keys.

Several nodes of a site (issue 14): each hub also reads its peers' queues from Redis and shows
every queue merged over the nodes (:mod:`hotline.live.peers`); seats, KPIs and alerts stay its own (a
peer's seat views go to subscribers as ``peer_seat``, for the seat's screen pop of a call there).

A dead Redis never stops calls or state: the hub marks itself degraded (``live.ok`` false,
a ``live`` message to subscribers), delivers changes in memory, retries the connection with
backoff, and when Redis returns writes the whole current state back into it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from hotline.redis_session import next_message
from .peers import ALIVE_S, REFRESH_S, merge_queue, node_of

log = logging.getLogger(__name__)

DEFAULT_NODE = "default"   # the node part of the keys when the site config names no node
SUBSCRIBER_BUFFER = 1000
_WAKE = ("", "", "", "")   # put in the outbox when Redis is marked down: never written


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class RedisKeys:
    """The Redis names one node of one site owns: ``hotline:<site>:<node>:…``."""

    prefix: str

    @property
    def seats(self) -> str:
        return f"{self.prefix}:seats"

    @property
    def queues(self) -> str:
        return f"{self.prefix}:queues"

    @property
    def kpi(self) -> str:
        return f"{self.prefix}:kpi"

    @property
    def hotspots(self) -> str:
        return f"{self.prefix}:hotspots"

    @property
    def channel(self) -> str:
        return f"{self.prefix}:live"

    @property
    def alive(self) -> str:
        return f"{self.prefix}:alive"

    def of_node(self, node: str) -> "RedisKeys":
        """The keys of another node of the same site."""
        return RedisKeys(f"{self.prefix.rsplit(':', 1)[0]}:{node}")

    @property
    def site_channels(self) -> str:
        """The pattern of every node's channel of this site."""
        return f"{self.prefix.rsplit(':', 1)[0]}:*:live"

    @property
    def hashes(self) -> tuple[str, str, str, str]:
        return self.seats, self.queues, self.kpi, self.hotspots


def redis_keys(site: str = "hotline", node: str | None = None) -> RedisKeys:
    """The keys of ``node`` of ``site`` (the site config's ``site.id`` and ``site.node``, both
    without ``:``, so no node's keys are a prefix of another's)."""
    for what, value in (("site", site), ("node", node or DEFAULT_NODE)):
        if not value or ":" in value or any(c.isspace() for c in value):
            raise ValueError(f"not a Redis key part ({what}): {value!r}")
    return RedisKeys(f"hotline:{site}:{node or DEFAULT_NODE}")


class LiveHub:
    def __init__(self, redis_url: str = "", *, site: str = "hotline", node: str | None = None,
                 retry: tuple[float, float] = (0.5, 10.0)) -> None:
        self.redis_url = redis_url
        self.keys = redis_keys(site, node)
        self.node = node or DEFAULT_NODE
        self.peer_queues: dict[str, dict[str, dict[str, Any]]] = {}   # other nodes' queue views, by node
        self.seats: dict[str, dict[str, Any]] = {}
        self.queues: dict[str, dict[str, Any]] = {}
        self.kpi: dict[str, Any] = {}
        self.hotspots: list[dict[str, Any]] = []   # the active hotspot alerts (hotline.hotspots)
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._redis: Any = None
        self._ok = not redis_url            # memory mode is always ok
        self._error: str | None = None
        self._retry = retry
        self._task: asyncio.Task[None] | None = None
        self._peers_task: asyncio.Task[None] | None = None
        self._outbox: asyncio.Queue[tuple[str, str, str, str]] | None = None
        self.stats = {"published": 0, "redis_errors": 0, "rebuilds": 0, "dropped": 0}

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        if self.redis_url:
            self._outbox = asyncio.Queue(maxsize=10000)
            self._task = asyncio.create_task(self._redis_loop(), name="live-redis")
            self._peers_task = asyncio.create_task(self._peers_loop(), name="live-peers")

    async def stop(self) -> None:
        for task in (self._task, self._peers_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()

    # -- writers ----------------------------------------------------------------------------
    def update_seat(self, view: dict[str, Any]) -> None:
        self.seats[view["seat_id"]] = view
        self._publish("seat", self.keys.seats, view["seat_id"], view)

    def update_queue(self, view: dict[str, Any]) -> None:
        self.queues[view["name"]] = view
        self._publish("queue", self.keys.queues, view["name"], view)

    def update_kpi(self, kpi: dict[str, Any]) -> None:
        self.kpi = kpi
        self._publish("kpi", self.keys.kpi, "today", kpi)

    def update_hotspots(self, alerts: list[dict[str, Any]]) -> None:
        """The active hotspot alerts, whole (a ``hotspot`` event: ``{"items": [...]}``)."""
        self.hotspots = list(alerts)
        self._publish("hotspot", self.keys.hotspots, "active", {"items": self.hotspots})

    # -- readers ----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return {"ok": self._ok, "backend": "redis" if self.redis_url else "memory", "error": self._error}

    def snapshot(self) -> dict[str, Any]:
        return {"ts": time.time(), "live": self.status(),
                "seats": sorted(self.seats.values(), key=lambda s: s["seat_id"]),
                "queues": [self.merged_queue(n) for n in sorted({*self.queues, *(
                    name for queues in self.peer_queues.values() for name in queues)})], "kpi": self.kpi,
                "hotspots": self.hotspots}

    async def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        """Changes as ``{"type": "seat"|"queue"|"kpi"|"hotspot"|"live", "data": ...}``, until cancelled.

        From Redis pub/sub while Redis is up, from memory while it is not (a ``live`` message
        marks each switch). A subscriber that falls more than SUBSCRIBER_BUFFER messages behind
        loses the oldest ones; it should take a new snapshot on the next ``live`` message."""
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=SUBSCRIBER_BUFFER)
        self._subscribers.add(inbox)
        reader = asyncio.create_task(self._pubsub_reader(inbox)) if self.redis_url else None
        try:
            while True:
                yield await inbox.get()
        finally:
            self._subscribers.discard(inbox)
            if reader is not None:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader

    # -- internals --------------------------------------------------------------------------
    def merged_queue(self, name: str) -> dict[str, Any]:
        """Queue ``name`` over this node and its peers (:func:`hotline.live.peers.merge_queue`)."""
        views = {node: queues[name] for node, queues in self.peer_queues.items() if name in queues}
        if name in self.queues:
            views[self.node] = self.queues[name]
        return merge_queue(self.node, views)

    def _publish(self, kind: str, key: str, field: str, data: Any) -> None:
        self.stats["published"] += 1
        if self.redis_url and self._ok and self._outbox is not None:
            try:
                self._outbox.put_nowait((kind, key, field, _dumps(data)))
                return
            except asyncio.QueueFull:
                self._mark_down("Redis is not keeping up")
        self._deliver({"type": kind, "data": self.merged_queue(field) if kind == "queue" else data})

    def _deliver(self, message: dict[str, Any]) -> None:
        for inbox in list(self._subscribers):
            if inbox.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    inbox.get_nowait()
                    self.stats["dropped"] += 1
            inbox.put_nowait(message)

    def _mark_down(self, error: str) -> None:
        if self._ok or self._error != error:
            log.warning("live state: Redis unavailable (%s); degraded, changes stay in memory", error)
        was_ok, self._ok, self._error = self._ok, False, error
        if was_ok:
            self._deliver({"type": "live", "data": self.status()})
            # Wake the writer (it may be waiting on an empty outbox, since changes now stay in
            # memory): it reconnects and rebuilds, whoever noticed the outage first.
            if self._outbox is not None:
                with contextlib.suppress(asyncio.QueueFull):
                    self._outbox.put_nowait(_WAKE)

    def _mark_up(self) -> None:
        self._ok, self._error = True, None
        log.info("live state: Redis connected; state rebuilt in it")
        self._deliver({"type": "live", "data": self.status()})

    async def _connect(self) -> Any:
        import redis.asyncio as aioredis   # only when configured

        client = aioredis.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=2,
                                   health_check_interval=5)
        await client.ping()
        return client

    async def _rebuild(self, client: Any) -> None:
        """Write the whole current state into Redis (after a start or an outage): this node's
        keys only, never another node's or site's."""
        keys = self.keys
        async with client.pipeline(transaction=True) as pipe:
            pipe.delete(*keys.hashes)
            if self.seats:
                pipe.hset(keys.seats, mapping={k: _dumps(v) for k, v in self.seats.items()})
            if self.queues:
                pipe.hset(keys.queues, mapping={k: _dumps(v) for k, v in self.queues.items()})
            if self.kpi:
                pipe.hset(keys.kpi, mapping={"today": _dumps(self.kpi)})
            if self.hotspots:
                pipe.hset(keys.hotspots, mapping={"active": _dumps({"items": self.hotspots})})
            await pipe.execute()
        self.stats["rebuilds"] += 1

    async def _redis_loop(self) -> None:
        assert self._outbox is not None
        delay = self._retry[0]
        while True:
            try:
                client = await self._connect()
                self._redis = client
                # Changes made while Redis was away are in memory: drop the stale outbox, rebuild.
                while not self._outbox.empty():
                    self._outbox.get_nowait()
                await self._rebuild(client)
                await client.set(self.keys.alive, "1", ex=ALIVE_S)
                alive_said = time.monotonic()
                self._mark_up()
                delay = self._retry[0]
                while True:
                    if time.monotonic() - alive_said > REFRESH_S:   # busy or idle, it stays alive
                        await client.set(self.keys.alive, "1", ex=ALIVE_S)
                        alive_said = time.monotonic()
                    try:
                        kind, key, field, payload = await asyncio.wait_for(self._outbox.get(), REFRESH_S)
                    except asyncio.TimeoutError:
                        continue
                    if not self._ok or kind == _WAKE[0]:   # marked down elsewhere (a subscriber's reader)
                        raise ConnectionError(self._error or "Redis unavailable")
                    batch = [(kind, key, field, payload)]
                    while not self._outbox.empty() and len(batch) < 500:
                        batch.append(self._outbox.get_nowait())
                    async with client.pipeline(transaction=False) as pipe:
                        for kind, key, field, payload in batch:
                            pipe.hset(key, field, payload)
                            pipe.publish(self.keys.channel, f'{{"type":"{kind}","data":{payload}}}')
                        await pipe.execute()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # redis.ConnectionError, TimeoutError, OSError ...
                self.stats["redis_errors"] += 1
                self._mark_down(f"{type(exc).__name__}: {exc}")
                if self._redis is not None:
                    with contextlib.suppress(Exception):
                        await self._redis.aclose()
                    self._redis = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry[1])

    async def _peers_loop(self) -> None:
        """The other nodes' queues of this site while Redis is up: read whole every REFRESH_S (a
        peer whose alive key expired drops out), followed in between on their channels."""
        while True:
            if not self._ok or self._redis is None:
                await asyncio.sleep(0.2)
                continue
            client = self._redis
            try:
                pubsub = client.pubsub()
                await pubsub.psubscribe(self.keys.site_channels)
                try:
                    read_at = 0.0
                    while self._ok:
                        if time.monotonic() - read_at > REFRESH_S:
                            await self._read_peers(client)
                            read_at = time.monotonic()
                        msg = await next_message(pubsub, 1.0)
                        if msg is not None:
                            self._peer_message(msg)
                finally:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()
            except asyncio.CancelledError:
                raise
            except Exception as exc:   # the writer loop notices an outage and reconnects
                log.debug("live state: peers not read (%s)", exc)
                await asyncio.sleep(0.5)

    async def _read_peers(self, client: Any) -> None:
        fresh: dict[str, dict[str, dict[str, Any]]] = {}
        async for raw in client.scan_iter(match=self.keys.of_node("*").queues, count=100):
            node = _text(raw).split(":")[2]
            if node != self.node and await client.exists(self.keys.of_node(node).alive):
                views = await client.hgetall(raw)
                fresh[node] = {_text(k): json.loads(_text(v)) for k, v in views.items()}
        old, self.peer_queues = self.peer_queues, fresh
        for name in {n for q in (*old.values(), *fresh.values()) for n in q}:
            if any(old.get(node, {}).get(name) != fresh.get(node, {}).get(name) for node in {*old, *fresh}):
                self._deliver({"type": "queue", "data": self.merged_queue(name)})

    def _peer_message(self, msg: dict[str, Any]) -> None:
        node = node_of(_text(msg.get("channel", b"")))
        if node is None or node == self.node:
            return
        try:
            message = json.loads(_text(msg["data"]))
            if message.get("type") == "seat" and isinstance(message.get("data"), dict):   # its view of a seat
                self._deliver({"type": "peer_seat", "data": {**message["data"], "node": node}})   # (the pop's)
                return
            view = message["data"] if message.get("type") == "queue" else None
            name = view["name"] if isinstance(view, dict) else None
        except (ValueError, KeyError, TypeError, AttributeError):
            return
        if isinstance(name, str) and isinstance(view, dict):
            self.peer_queues.setdefault(node, {})[name] = view
            self._deliver({"type": "queue", "data": self.merged_queue(name)})

    async def _pubsub_reader(self, inbox: asyncio.Queue[dict[str, Any]]) -> None:
        """Feed one subscriber from Redis pub/sub whenever Redis is up."""
        while True:
            if not self._ok or self._redis is None:
                await asyncio.sleep(0.2)
                continue
            try:
                pubsub = self._redis.pubsub()
                await pubsub.subscribe(self.keys.channel)
                try:
                    while self._ok:
                        msg = await next_message(pubsub, 1.0)
                        if msg is None:
                            continue
                        message = json.loads(_text(msg["data"]))
                        if message.get("type") == "queue" and isinstance(message.get("data"), dict):
                            message["data"] = self.merged_queue(str(message["data"].get("name")))
                        if inbox.full():
                            with contextlib.suppress(asyncio.QueueEmpty):
                                inbox.get_nowait()
                                self.stats["dropped"] += 1
                        inbox.put_nowait(message)
                finally:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._mark_down(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.5)
