"""One seat pool over the edge's nodes (hotline/seats/pool.py): two nodes' seat services, each
with its own AMI (recorded actions), share a seat's login and pause through a real Redis
(scripts/redis.sh); its parsing and the states it shares are table-tested."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hotline.ami.port import AmiPort
from hotline.config import parse_site
from hotline.live.hub import LiveHub
from hotline.seats.pool import SeatPool, Wanted, wanted_of
from hotline.seats.services import SeatService
from queue_manager import seats as sm

from tests.unit.test_live_hub import RedisServer, redis_server, until   # noqa: F401  (a fixture)
from tests.unit.test_seat_service import SITE, FakeAmi

SITE_ID = "pooltest"


class Node:
    """One node's controller side: its AMI, its seat service, its pool."""

    def __init__(self, name: str, url: str) -> None:
        self.ami = FakeAmi()
        self.seats = SeatService(parse_site(copy.deepcopy(SITE)), AmiPort(self.ami.send), LiveHub(""))
        self.pool = SeatPool(self.seats, url, site=SITE_ID, node=name, retry=(0.1, 0.5), poll_s=0.02)

    async def start(self) -> None:
        await self.seats.resync()   # the controller reads its node first (empty QueueStatus here)
        await self.pool.start()
        await until(lambda: self.pool.stats["converged"] >= 1, what=f"{self.pool.node} to converge")

    async def stop(self) -> None:
        await self.pool.stop()
        self.seats.stop()

    def state(self, seat: str) -> sm.SeatState:
        return self.seats.seats[seat].state

    def actions(self, name: str, seat: str = "1001") -> list[dict[str, str]]:
        return [a for a in self.ami.named(name) if a.get("Interface") == f"PJSIP/{seat}"]


@pytest.fixture
async def nodes(redis_server: RedisServer) -> AsyncIterator[tuple[Node, Node, RedisServer]]:  # noqa: F811
    url = redis_server.start()
    a, b = Node("node-a", url), Node("node-b", url)
    await a.start()
    await b.start()
    yield a, b, redis_server
    await a.stop()
    await b.stop()


async def test_a_login_pause_and_logout_on_one_node_are_made_on_the_other(
        nodes: tuple[Node, Node, RedisServer]) -> None:
    a, b, _ = nodes
    # At start the pool had no state: node-a (first) announced its 3 seats, node-b took them.
    assert a.pool.stats["announced"] == 3 and b.pool.stats["announced"] == 0
    await a.seats.login("1001")
    await until(lambda: b.state("1001") == sm.SeatState.idle, what="the login on node-b")
    assert [x["Queue"] for x in b.actions("QueueAdd")] == ["hotline", "wrapq"]   # the seat's own queues
    await a.seats.pause("1001", "break")
    await until(lambda: b.state("1001") == sm.SeatState.paused, what="the pause on node-b")
    assert b.seats.seats["1001"].reason == "break"
    assert b.actions("QueuePause")[-1]["Paused"] == "true" and b.actions("QueuePause")[-1]["Reason"] == "break"
    await a.seats.unpause("1001")
    await until(lambda: b.state("1001") == sm.SeatState.idle, what="the unpause on node-b")
    await a.seats.logout("1001")
    await until(lambda: b.state("1001") == sm.SeatState.logged_out, what="the logout on node-b")
    assert {x["Queue"] for x in b.actions("QueueRemove")} == {"hotline", "wrapq"}
    # Each change went out once, from node-a; node-b applied it and echoed nothing back.
    assert a.pool.stats["announced"] == 3 + 4 and b.pool.stats["announced"] == 0
    assert b.pool.stats["applied"] == 4 and a.pool.stats["applied"] == 0
    assert len(a.actions("QueueAdd")) == 2   # node-a was not told to log in again


async def test_a_feature_code_on_a_phone_is_shared_too(nodes: tuple[Node, Node, RedisServer]) -> None:
    """The seat logs in with its phone on node-b: a queue event, not an API command."""
    a, b, _ = nodes
    for queue in ("hotline", "wrapq"):
        b.seats.on_ami_event({"Event": "QueueMemberAdded", "Queue": queue, "MemberName": "1002",
                              "Interface": "PJSIP/1002", "StateInterface": "PJSIP/1002", "Paused": "0",
                              "PausedReason": "", "Status": "1", "InCall": "0", "LastCall": "0"})
    assert b.state("1002") == sm.SeatState.idle
    await until(lambda: a.state("1002") == sm.SeatState.idle, what="the phone's login on node-a")
    assert [x["Queue"] for x in a.actions("QueueAdd", "1002")] == ["hotline"]


async def test_a_node_that_starts_later_takes_the_pools_state(nodes: tuple[Node, Node, RedisServer]) -> None:
    a, _, server = nodes
    await a.seats.login("1001")
    await a.seats.pause("1001", "training")
    await until(lambda: a.pool.stats["announced"] == 3 + 1, what="node-a's newest state announced")
    late = Node("node-c", f"redis://127.0.0.1:{server.port}/0")
    await late.start()
    try:
        assert late.state("1001") == sm.SeatState.paused and late.seats.seats["1001"].reason == "training"
        assert late.state("1002") == sm.SeatState.logged_out
        assert late.pool.stats["announced"] == 0   # it took the pool's state, it did not impose its own
    finally:
        await late.stop()


async def test_changes_wait_through_a_redis_outage_newest_only(nodes: tuple[Node, Node, RedisServer]) -> None:
    a, b, server = nodes
    server.stop()
    await until(lambda: not a.pool.ok and not b.pool.ok, what="both pools to notice the outage")
    await a.seats.login("1001")
    await a.seats.pause("1001", "break")
    await a.seats.unpause("1001")
    assert a.pool.status()["pending"] == 1   # one per seat: the newest
    assert b.state("1001") == sm.SeatState.logged_out
    server.start()
    await until(lambda: b.state("1001") == sm.SeatState.idle, timeout=20, what="the login on node-b after Redis")
    assert not b.actions("QueuePause")   # the pause came and went while Redis was away
    # node-b may apply it before node-a's write returns and node-a drops it from its pending changes
    await until(lambda: a.pool.status()["pending"] == 0, what="node-a's pending change sent")


async def test_bad_announcements_are_counted_and_the_pool_goes_on(nodes: tuple[Node, Node, RedisServer]) -> None:
    import redis.asyncio as aioredis

    a, b, server = nodes
    client = aioredis.from_url(f"redis://127.0.0.1:{server.port}/0")
    try:
        for junk in ("not json", "[1]", json.dumps({"seat": 1001, "node": "x", "logged_in": True}),
                     json.dumps({"seat": "1001", "node": "x", "logged_in": "yes"}),
                     json.dumps({"seat": "9999", "node": "x", "logged_in": True})):
            await client.publish(a.pool.channel, junk)
        await until(lambda: b.pool.stats["bad_messages"] == 5, what="five bad messages counted")
    finally:
        await client.aclose()
    await a.seats.login("1001")   # and the next good one is applied
    await until(lambda: b.state("1001") == sm.SeatState.idle, what="the login on node-b")


async def test_an_auto_pause_stays_on_its_node(nodes: tuple[Node, Node, RedisServer]) -> None:
    a, b, _ = nodes
    await a.seats.login("1001")
    await until(lambda: b.state("1001") == sm.SeatState.idle, what="the login on node-b")
    for _ in range(2):   # auto_pause_after: 2 unanswered rings on node-a
        a.seats.on_ami_event({"Event": "AgentRingNoAnswer", "Queue": "hotline", "MemberName": "1001",
                              "Interface": "PJSIP/1001", "RingTime": "15"})
    assert a.state("1001") == sm.SeatState.paused and a.seats.seats["1001"].reason == sm.AUTO_PAUSE_REASON
    assert a.pool.stats["announced"] == 3 + 1 and a.pool.status()["pending"] == 0   # the login only
    await b.seats.pause("1001", "break")   # a real pause elsewhere does not replace node-a's auto-pause
    await until(lambda: b.pool.stats["announced"] == 1, what="node-b's pause announced")
    await b.seats.unpause("1001")          # nor does an unpause lift it: node-a's phone did not answer
    await until(lambda: b.pool.stats["announced"] == 2, what="node-b's unpause announced")
    await until(lambda: a.pool.stats["applied"] == 0 and a.pool.status()["pending"] == 0, what="node-a quiet")
    assert a.seats.seats["1001"].reason == sm.AUTO_PAUSE_REASON


@pytest.mark.parametrize(("state", "reason", "wanted"), [
    (sm.SeatState.logged_out, None, Wanted(False)),
    (sm.SeatState.idle, None, Wanted(True)),
    (sm.SeatState.ringing, None, Wanted(True)),
    (sm.SeatState.talking, None, Wanted(True)),
    (sm.SeatState.wrapup, None, Wanted(True)),
    (sm.SeatState.paused, "break", Wanted(True, True, "break")),
    (sm.SeatState.paused, sm.AUTO_PAUSE_REASON, None),   # each node counts its own unanswered rings
])
def test_the_state_a_seat_shares(state: sm.SeatState, reason: str | None, wanted: Wanted | None) -> None:
    assert wanted_of(sm.Seat("1001", state, reason=reason)) == wanted


@pytest.mark.parametrize(("raw", "words"), [
    ("", "Expecting value"), ("{", "Expecting"), ("[]", "not an object"), ("3", "not an object"),
    ('{"seat": 1, "node": "a", "logged_in": true}', "seat and node"),
    ('{"seat": "1", "node": null, "logged_in": true}', "seat and node"),
    ('{"seat": "1", "node": "a"}', "logged_in and paused"),
    ('{"seat": "1", "node": "a", "logged_in": true, "paused": 1}', "logged_in and paused"),
    ('{"seat": "1", "node": "a", "logged_in": true, "reason": 5}', "reason"),
    (b"\xff\xfe", "can't decode|Expecting|invalid"), (None, "not JSON text"),
])
def test_hostile_announcements_are_refused_by_name(raw: Any, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        Wanted.parse(raw)


def test_a_good_announcement() -> None:
    raw = json.dumps({"seat": "1001", "node": "node-a", "at": 1.0, "logged_in": True, "paused": True,
                      "reason": "break"})
    assert Wanted.parse(raw) == ("1001", "node-a", Wanted(True, True, "break"), 1.0)


async def test_an_older_announcement_loses_to_a_newer_state(nodes: tuple[Node, Node, RedisServer]) -> None:
    """Last writer wins by the time the state was wanted, not by arrival: a node's late view (time
    0, after Redis lost its data) or a delayed message never undoes a newer change."""
    import redis.asyncio as aioredis

    a, b, server = nodes
    await a.seats.login("1001")
    await until(lambda: b.state("1001") == sm.SeatState.idle, what="the login on node-b")
    client = aioredis.from_url(f"redis://127.0.0.1:{server.port}/0")
    try:
        old = json.dumps({"seat": "1001", "node": "node-x", "at": 0.0, "logged_in": False})
        await client.publish(a.pool.channel, old)
        await until(lambda: a.pool.stats["stale"] >= 1 and b.pool.stats["stale"] >= 1, what="the old one ignored")
    finally:
        await client.aclose()
    assert a.state("1001") == b.state("1001") == sm.SeatState.idle


async def test_one_controller_at_a_time_writes_the_pools_seat_state_log(sqlite_store: Any) -> None:
    """Both controllers see seat 1001's changes; only the duty holder writes them, and the one
    that takes over writes where every seat stands first (a real lease table, SQLite)."""
    import logging

    from hotline.background import Duty
    from hotline.seats.pool import PooledStateLog
    from hotline.store.leases import DutyLeases

    rows: dict[str, list[tuple[str, str]]] = {"node-a": [], "node-b": []}
    logs = {}
    for name in rows:
        duty = Duty("seat_state_log", DutyLeases(sqlite_store, name).hold, 0.5, logging.getLogger("test"))
        logs[name] = PooledStateLog(lambda s, st, r, at, c, n=name: rows[n].append((s, st)), duty, every_s=0.05)
        logs[name].seats = Node(name, "redis://unused").seats
    assert await logs["node-a"].duty.held() and not await logs["node-b"].duty.held()
    for log_ in logs.values():   # the same change seen by both controllers
        log_("1001", "idle", None, 1.0, None)
    assert rows == {"node-a": [("1001", "idle")], "node-b": []}
    assert logs["node-b"].stats["elsewhere"] == 1
    # node-a stops (its lease lapses after 0.5 s); node-b's round takes the duty over.
    task = asyncio.create_task(logs["node-b"].run())
    try:
        await until(lambda: logs["node-b"].stats["taken_over"] == 1, what="node-b to take the state log over")
    finally:
        task.cancel()
    assert sorted(rows["node-b"]) == [("1001", "logged_out"), ("1002", "logged_out"), ("1005", "logged_out")]
    logs["node-b"]("1002", "paused", "break", 2.0, None)
    assert rows["node-b"][-1] == ("1002", "paused")


async def test_a_change_that_fails_on_a_node_does_not_stop_its_pool(nodes: tuple[Node, Node, RedisServer]) -> None:
    a, b, _ = nodes
    b.ami.errors["QueueAdd"] = ConnectionError("AMI connection lost")
    await a.seats.login("1001")
    await until(lambda: b.pool.stats["refused"] == 1, what="node-b's failed login counted")
    assert b.state("1001") == sm.SeatState.logged_out and b.pool.ok
    del b.ami.errors["QueueAdd"]
    await a.seats.login("1002")   # the pool goes on
    await until(lambda: b.state("1002") == sm.SeatState.idle, what="the next login on node-b")
    await b.seats.resync()        # and a re-sync (AMI back) converges the seat that failed
    await until(lambda: b.state("1001") == sm.SeatState.idle, what="node-b converged after its re-sync")
