"""The outbox delivers order events to a real HTTP receiver that fails and recovers (SQLite and
PostgreSQL: the ``store`` fixture): everything arrives, in order per order, duplicates only as
at-least-once allows and recognisable by their idempotency key, dead letters after the limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from hotline.config.integration import Integration, Webhook
from hotline.exceptions import InvalidRequest, NoSuchDeadLetter
from hotline.outbox.services import OutboxService, backoff
from hotline.store import Store
from hotline.store.models import OutboxDeliveryRow
from outboxkit import Clock, Receiver, check_order

SECRET = "s3cret-key-1"
EVENTS = ("created", "dispatched", "signed", "replied")


def config(url: str, **changes: Any) -> Integration:
    hook = Webhook(name="gongdan", url=url, secret=SECRET, timeout_ms=changes.pop("timeout_ms", 2000))
    return Integration(webhooks=[hook], **{"max_attempts": 5, "backoff_base_ms": 1000, "backoff_cap_ms": 60000,
                                           "batch": 10, **changes})


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver(SECRET)
    await r.start()
    yield r
    await r.stop()


async def drain(outbox: OutboxService, clock: Clock, passes: int = 200) -> None:
    """Passes until nothing is pending, moving the test clock past any backoff (no sleeping)."""
    for _ in range(passes):
        await outbox.run_once()
        if outbox.status()["pending_rows"] == 0:
            return
        clock.advance(minutes=2)
    raise AssertionError(f"still pending after {passes} passes: {outbox.status()}")


def publish_all(outbox: OutboxService, orders: list[str]) -> set[str]:
    keys = set()
    for event in EVENTS:
        for order in orders:
            keys.add(outbox.publish(order, event, {"note": f"{order} {event} 已办"})["idempotency_key"])
    return keys


async def test_a_failing_receiver_that_recovers_gets_everything_in_order(store: Store, receiver: Receiver) -> None:
    failures = iter(["500", "hang", "503", "500", "hang", "502"] * 3)
    receiver.decide = lambda m: next(failures, 200)
    clock = Clock()
    outbox = OutboxService(config(receiver.url, timeout_ms=200, max_attempts=50), "puyang", store, clock=clock,
                           rand=lambda: 0.5)
    keys = publish_all(outbox, ["WO-1", "WO-2", "WO-3"])
    await drain(outbox, clock)
    await outbox.stop()
    assert {r.key for r in receiver.accepted()} == keys
    assert all(r.signed for r in receiver.receipts)
    check_order(receiver.receipts)
    assert outbox.status()["failed"] >= 12 and outbox.status()["dead_rows"] == 0
    assert outbox.status()["delivered_rows"] == len(keys)


async def test_connection_refused_then_the_receiver_comes_up(store: Store) -> None:
    receiver = Receiver(SECRET)   # not started yet: nothing listens on its port
    clock = Clock()
    outbox = OutboxService(config(receiver.url), "puyang", store, clock=clock, rand=lambda: 0.0)
    keys = publish_all(outbox, ["WO-7"])
    for _ in range(3):
        clock.advance(minutes=5)
        await outbox.run_once()
    assert outbox.status()["pending_rows"] == 4 and outbox.status()["failed"] == 3   # only seq 1 was tried
    await receiver.start()
    try:
        await drain(outbox, clock)
    finally:
        await outbox.stop()
        await receiver.stop()
    assert [r.key for r in receiver.accepted()] == [f"puyang:WO-7:{n}" for n in range(1, 5)]
    assert {r.key for r in receiver.accepted()} == keys


async def test_dead_letter_after_the_limit_then_retried_and_discarded(store: Store, receiver: Receiver) -> None:
    broken = {"WO-1"}
    receiver.decide = lambda m: 500 if m["order_id"] in broken and m["seq"] == 2 else 200
    clock = Clock()
    outbox = OutboxService(config(receiver.url, max_attempts=3), "puyang", store, clock=clock, rand=lambda: 0.9)
    publish_all(outbox, ["WO-1", "WO-2"])
    await drain(outbox, clock)
    dead = await outbox.dead_letters(10)
    assert [(d["order_id"], d["seq"], d["attempts"], d["last_error"]) for d in dead] == [("WO-1", 2, 3, "HTTP 500")]
    # the dead letter no longer holds the order back: seq 3 and 4 went after it
    assert [r.seq for r in receiver.accepted() if r.order_id == "WO-1"] == [1, 3, 4]
    check_order(receiver.receipts, dead={"puyang:WO-1:2"})
    assert outbox.status()["dead_rows"] == 1
    broken.clear()
    retried = await outbox.retry(dead[0]["id"])
    assert retried["status"] == "pending" and retried["attempts"] == 0
    await drain(outbox, clock)
    assert [r.seq for r in receiver.accepted() if r.order_id == "WO-1"] == [1, 3, 4, 2]
    assert await outbox.dead_letters(10) == []
    with pytest.raises(NoSuchDeadLetter):
        await outbox.retry(dead[0]["id"])   # delivered now: not a dead letter any more
    with pytest.raises(NoSuchDeadLetter):
        await outbox.discard(dead[0]["id"])
    await outbox.stop()


async def test_discard_removes_a_dead_letter(store: Store, receiver: Receiver) -> None:
    receiver.decide = lambda m: 500
    clock = Clock()
    outbox = OutboxService(config(receiver.url, max_attempts=2), "puyang", store, clock=clock)
    outbox.publish("WO-9", "created", {})
    await drain(outbox, clock)
    [dead] = await outbox.dead_letters(10)
    await outbox.discard(dead["id"])
    assert await outbox.dead_letters(10) == [] and outbox.status()["dead_rows"] == 1   # counts: last pass
    await outbox.run_once()
    assert outbox.status()["dead_rows"] == 0
    await outbox.stop()


async def test_an_event_older_than_max_age_is_dead_at_its_next_failure(store: Store, receiver: Receiver) -> None:
    receiver.decide = lambda m: 500
    clock = Clock()
    outbox = OutboxService(config(receiver.url, max_attempts=1000, max_age_hours=1), "puyang", store, clock=clock)
    outbox.publish("WO-5", "created", {})
    await outbox.run_once()
    assert outbox.status()["pending_rows"] == 1
    clock.advance(hours=1)
    await outbox.run_once()
    assert [d["attempts"] for d in await outbox.dead_letters(10)] == [2]
    await outbox.stop()


async def test_the_worker_cancelled_mid_delivery_loses_nothing(store: Store, receiver: Receiver) -> None:
    receiver.decide = lambda m: "hold" if m["seq"] == 1 and not receiver.receipts else 200
    clock = Clock()
    outbox = OutboxService(config(receiver.url), "puyang", store, clock=clock)
    keys = publish_all(outbox, ["WO-3"])
    outbox.start()
    await asyncio.wait_for(receiver.got.wait(), 10)   # the POST of seq 1 is at the receiver
    await outbox.stop()                                # the task cancelled mid-POST
    with store.session() as session:
        rows = session.query(OutboxDeliveryRow).order_by(OutboxDeliveryRow.seq).all()
        assert [(r.status, r.attempts) for r in rows] == [("pending", 0)] * 4
    receiver.release()
    again = OutboxService(config(receiver.url), "puyang", store, clock=clock)   # e.g. after a restart
    await drain(again, clock)
    await again.stop()
    assert {r.key for r in receiver.accepted()} == keys
    check_order(receiver.receipts)


async def test_a_publish_from_a_thread_wakes_the_idle_worker(store: Store, receiver: Receiver) -> None:
    """Even a publish that commits while a pass is reading (just after its query) is not missed."""
    outbox = OutboxService(config(receiver.url, poll_ms=60000), "puyang", store)   # polling alone: a minute
    real_due, published = outbox._db.due, []

    def due_then_publish(now: Any, limit: int, lease: Any) -> Any:
        found = real_due(now, limit, lease)
        if not published:   # the lifecycle publishes from its own thread, right after the query
            published.append(outbox.publish("WO-8", "created", {}))
        return found

    outbox._db.due = due_then_publish   # type: ignore[method-assign]
    outbox.start()
    try:
        await asyncio.wait_for(receiver.got.wait(), 10)
    finally:
        await outbox.stop()
    assert [r.key for r in receiver.receipts] == ["puyang:WO-8:1"]


async def test_two_workers_on_one_database_send_each_event_once(store: Store, receiver: Receiver) -> None:
    """Two nodes' workers: the one that claimed a delivery holds it while its POST is in flight."""
    receiver.decide = lambda m: "hold" if not receiver.got.is_set() else 200
    clock = Clock()
    one, two = (OutboxService(config(receiver.url), "puyang", store, clock=clock) for _ in range(2))
    one.publish("WO-4", "created", {})
    first = asyncio.create_task(one.run_once())
    await asyncio.wait_for(receiver.got.wait(), 10)   # one's POST is at the receiver, held
    assert await two.run_once() == 0
    receiver.release()
    assert await first == 1
    clock.advance(minutes=5)   # past any claim
    assert await two.run_once() == 0
    await one.stop()
    await two.stop()
    assert [r.key for r in receiver.receipts] == ["puyang:WO-4:1"]


async def test_delivered_events_are_pruned_after_the_retention(store: Store, receiver: Receiver) -> None:
    receiver.decide = lambda m: 500 if m["order_id"] == "WO-2" else 200
    clock = Clock()
    outbox = OutboxService(config(receiver.url, retention_days=7, max_attempts=100, max_age_hours=720), "puyang",
                           store, clock=clock)
    publish_all(outbox, ["WO-1", "WO-2"])
    outbox.publish("WO-3", "evaluated", {})
    for _ in range(5):
        await outbox.run_once()
        clock.advance(minutes=2)
    clock.advance(days=6)
    assert await outbox.prune() == 0
    clock.advance(days=2)
    assert await outbox.prune() == 10   # WO-1's 4 and WO-3's 1: deliveries and their events
    await outbox.run_once()
    st = outbox.status()
    assert (st["delivered_rows"], st["pending_rows"]) == (0, 4)   # WO-2 waits, it is never pruned
    await outbox.stop()


def test_publish_numbers_events_per_order_and_commits_with_the_caller(store: Store) -> None:
    outbox = OutboxService(config("http://127.0.0.1:9/x"), "puyang", store)
    assert outbox.publish("WO-1", "created", {})["idempotency_key"] == "puyang:WO-1:1"
    assert outbox.publish("WO-2", "created", {})["seq"] == 1
    with pytest.raises(RuntimeError), store.session() as session:
        outbox.publish("WO-1", "dispatched", {"unit": "城管局"}, session=session)
        raise RuntimeError("the caller's transition failed")
    with store.session() as session:
        assert outbox.publish("WO-1", "dispatched", {}, session=session)["idempotency_key"] == "puyang:WO-1:2"
    with pytest.raises(InvalidRequest) as exc:
        outbox.publish("WO-1", "teleported", {})
    assert exc.value.details["field"] == "event_type"
    with pytest.raises(InvalidRequest) as exc:
        outbox.publish("", "created", {})
    assert exc.value.details["field"] == "order_id"


def test_backoff_doubles_caps_and_jitters() -> None:
    assert backoff(1, 1000, 60000, 0.0) == timedelta(milliseconds=500)
    assert backoff(1, 1000, 60000, 0.99) == timedelta(milliseconds=995)
    assert backoff(3, 1000, 60000, 0.0) == timedelta(milliseconds=2000)
    assert backoff(30, 1000, 60000, 0.0) == timedelta(seconds=30)
    assert backoff(300, 1000, 60000, 1.0) == timedelta(seconds=60)
