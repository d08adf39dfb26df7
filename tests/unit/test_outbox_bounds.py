"""The outbox with nobody consuming (SQLite and PostgreSQL: the ``store`` fixture): a receiver down
for simulated days (the service's clock moved, never slept) keeps the store within its bounds,
dead letters expire and are purged with exact counts, and once the receiver is back everything
still pending is delivered once each, in order per order."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from hotline.config.integration import Integration, Webhook
from hotline.outbox import services as outbox_services
from hotline.outbox.services import OutboxService
from hotline.store import Store
from hotline.store.models import OutboxDeliveryRow as D, OutboxEventRow as E
from outboxkit import Clock, Receiver, check_order

SECRET = "s3cret-key-1"
LIFE = ("created", "dispatched", "signed", "extension_requested", "extension_approved", "replied", "verified",
        "evaluated")


def config(url: str, **changes: Any) -> Integration:
    hook = Webhook(name="gongdan", url=url, secret=SECRET, timeout_ms=2000)
    return Integration(webhooks=[hook], **{"max_attempts": 1000, "backoff_base_ms": 60000,
                                           "backoff_cap_ms": 3600000, "batch": 500, **changes})


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver(SECRET)
    await r.start()
    yield r
    await r.stop()


def rows(store: Store) -> dict[str, Any]:
    with store.session() as s:
        by_status = {str(k): int(n) for k, n in s.execute(select(D.status, func.count()).group_by(D.status))}
        oldest_dead = s.scalar(select(func.min(D.updated_at)).where(D.status == "dead"))
        pending = set(s.scalars(select(E.idempotency_key).join(D, D.event_id == E.id).where(D.status == "pending")))
        return {"pending": by_status.get("pending", 0), "dead": by_status.get("dead", 0),
                "delivered": by_status.get("delivered", 0), "events": int(s.scalar(select(func.count(E.id))) or 0),
                "oldest_dead": oldest_dead, "pending_keys": pending}


async def drain(outbox: OutboxService, clock: Clock, passes: int = 100) -> None:
    for _ in range(passes):
        await outbox.run_once()
        if outbox.status()["pending_rows"] == 0:
            return
        clock.advance(hours=1)   # past any backoff (capped at an hour)
    raise AssertionError(f"still pending after {passes} passes: {outbox.status()}")


async def test_a_receiver_down_for_eight_days_keeps_the_store_bounded_then_gets_the_rest_in_order(
        store: Store) -> None:
    """1828 events over 8 simulated days in 3-hour steps, the receiver refusing connections: a busy
    first 3 days (8 orders a step: the cap binds), then a quiet 5 (1 a step: the retention binds);
    each order's 8 events a step apart."""
    receiver = Receiver(SECRET)   # not started: nothing listens on its port
    max_age, dead_days, cap, kept_days, step, steps = 24, 3, 800, 2, timedelta(hours=3), 64
    clock = Clock()
    outbox = OutboxService(config(receiver.url, max_age_hours=max_age, dead_retention_days=dead_days,
                                  max_dead_per_webhook=cap, retention_days=kept_days),
                           "puyang", clock=clock, store=store, rand=lambda: 0.5)
    schedule: dict[int, list[tuple[str, str]]] = defaultdict(list)   # step -> (order, event)
    n = 0
    for at in range(steps):
        for _ in range(8 if at < 24 else 1):
            for j, event in enumerate(LIFE):
                schedule[at + j].append((f"WO-{n}", event))
            n += 1
    published: list[tuple[datetime, str]] = []
    start = clock.now
    for hour in range(steps):
        clock.now = start + hour * step
        for order, event in schedule[hour]:
            published.append((clock.now, outbox.publish(order, event, {"n": order})["idempotency_key"]))
        await outbox.run_once()
        await outbox.maintain()
        now, r = clock.now, rows(store)
        window = timedelta(hours=max_age) + timedelta(milliseconds=outbox._config.backoff_cap_ms)
        assert r["pending"] <= sum(1 for t, _ in published if t > now - window), (hour, r)
        assert r["dead"] <= cap, (hour, r)
        assert r["oldest_dead"] is None or r["oldest_dead"] >= now - timedelta(days=dead_days), (hour, r)
        young = sum(1 for t, _ in published if t >= now - timedelta(days=kept_days))
        assert r["events"] <= r["pending"] + r["dead"] + young, (hour, r)
        purged = await outbox.purged()
        total_purged = sum(p["expired"] + p["capped"] for p in purged.values())
        assert len(published) == r["pending"] + r["dead"] + total_purged, (hour, r, purged)   # none lost
    assert len(published) == sum(len(v) for h, v in schedule.items() if h < steps) == 1828
    assert outbox.stats["sent"] == 0
    counts = (await outbox.purged())["gongdan"]
    assert counts["capped"] > 0 and counts["expired"] > 0, counts   # both bounds were reached
    assert outbox.stats["dead_purged"] == counts["capped"] + counts["expired"]
    before = rows(store)
    assert 0 < before["pending"] and len(before["pending_keys"]) == before["pending"]

    await receiver.start()   # it comes back
    try:
        await drain(outbox, clock)
    finally:
        await outbox.stop()
        await receiver.stop()
    keys = [r.key for r in receiver.accepted()]
    assert len(keys) == len(set(keys)), "an event was delivered twice"
    assert set(keys) == before["pending_keys"]   # all still pending, nothing expired or purged
    check_order(receiver.receipts, dead={k for _, k in published} - before["pending_keys"])
    after = rows(store)
    assert (after["pending"], after["delivered"], after["dead"]) == (0, len(keys), before["dead"])


async def test_expiry_keeps_an_orders_later_event_behind_its_pending_earlier_one(
        store: Store, receiver: Receiver) -> None:
    """seq 1 keeps failing: seq 2 is never sent while seq 1 is pending; seq 1 expires, then seq 2
    goes. A supervisor's retry of the expired seq 1 is not expired again before it is tried."""
    broken = {1}
    receiver.decide = lambda m: 500 if m["seq"] in broken else 200
    clock = Clock()
    outbox = OutboxService(config(receiver.url, max_age_hours=10, backoff_cap_ms=7200000), "puyang", store,
                           clock=clock, rand=lambda: 0.0)
    outbox.publish("WO-1", "created", {})
    await outbox.run_once()
    clock.advance(hours=6)
    outbox.publish("WO-1", "dispatched", {})
    for _ in range(4):   # hour 6 to 9: seq 1 fails, seq 2 waits behind it
        await outbox.run_once()
        assert await outbox.maintain() == {"expired": 0, "pruned": 0, "dead_purged": 0}
        clock.advance(hours=1)
    assert [r.seq for r in receiver.receipts] == [1] * len(receiver.receipts) and len(receiver.receipts) >= 3
    clock.advance(hours=2)   # seq 1 is 12 h old (past 10), seq 2 6 h
    assert (await outbox.maintain())["expired"] == 1
    [dead] = await outbox.dead_letters(10)
    assert dead["seq"] == 1 and dead["last_error"] == "expired: older than 10 h; last error: HTTP 500"
    await outbox.run_once()
    assert [r.seq for r in receiver.accepted()] == [2]
    check_order(receiver.receipts, dead={"puyang:WO-1:1"})
    broken.clear()
    await outbox.retry(dead["id"])
    assert (await outbox.maintain())["expired"] == 0   # retried: its next attempt decides
    await outbox.run_once()
    assert [r.seq for r in receiver.accepted()] == [2, 1] and await outbox.dead_letters(10) == []
    await outbox.stop()


async def test_a_lowered_max_attempts_expires_what_is_over_it(store: Store, receiver: Receiver) -> None:
    receiver.decide = lambda m: 503
    clock = Clock()
    outbox = OutboxService(config(receiver.url, backoff_base_ms=1000), "puyang", store, clock=clock)
    outbox.publish("WO-2", "created", {})
    for _ in range(3):
        await outbox.run_once()
        clock.advance(minutes=5)
    await outbox.stop()
    lowered = OutboxService(config(receiver.url, max_attempts=2), "puyang", store, clock=clock)
    assert await lowered.maintain() == {"expired": 1, "pruned": 0, "dead_purged": 0}
    [dead] = await lowered.dead_letters(10)
    assert (dead["attempts"], dead["last_error"]) == (3, "expired: 2 attempts; last error: HTTP 503")
    await lowered.stop()


async def test_the_worker_loop_runs_the_maintenance_on_its_own(store: Store, receiver: Receiver,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    """Nobody calls prune or purge: the running worker does, delivered rows go after
    ``retention_days`` and dead letters after ``dead_retention_days``, each purge logged."""
    receiver.decide = lambda m: 500 if m["order_id"] == "WO-dead" else 200
    clock = Clock()
    outbox = OutboxService(config(receiver.url, max_attempts=1, retention_days=1, dead_retention_days=2,
                                  poll_ms=50), "puyang", store, clock=clock)
    outbox.publish("WO-ok", "created", {})
    outbox.publish("WO-dead", "created", {})
    outbox.start()

    async def until(condition: Any) -> None:
        for _ in range(400):   # a deadline, not a wait for time to pass: the clock is the test's
            if condition(outbox.status()):
                return
            await asyncio.sleep(0.025)
        raise AssertionError(outbox.status())

    try:
        await until(lambda s: (s["delivered_rows"], s["dead_rows"]) == (1, 1))
        clock.advance(days=1, minutes=11)   # past retention_days and PRUNE_EVERY
        await until(lambda s: s["pruned"] == 2 and s["delivered_rows"] == 0)   # the delivery and its event
        assert s_dead(outbox) == 1
        clock.advance(days=1, minutes=11)
        await until(lambda s: s["dead_purged"] == 1 and s["dead_rows"] == 0)
    finally:
        await outbox.stop()
    assert outbox.status()["purged_by_webhook"]["gongdan"]["expired"] == 1
    assert [r.message for r in caplog.records if "purged 1 dead letter" in r.message] == [
        "outbox: purged 1 dead letter(s) (older than 2 days, or beyond 100000 per webhook): "
        "{'gongdan': {'expired': 1, 'capped': 0}}"]
    assert outbox_services.PRUNE_EVERY == timedelta(minutes=10)


def s_dead(outbox: OutboxService) -> int:
    return int(outbox.status()["dead_rows"])


async def test_the_cap_purges_the_oldest_dead_letters_first(store: Store, receiver: Receiver) -> None:
    receiver.decide = lambda m: 500
    clock = Clock()
    outbox = OutboxService(config(receiver.url, max_attempts=1, max_dead_per_webhook=3), "puyang", store,
                           clock=clock)
    for i in range(5):
        outbox.publish(f"WO-{i}", "created", {})
        await outbox.run_once()
        clock.advance(minutes=1)
    assert await outbox.purge_dead() == 2
    assert sorted(d["order_id"] for d in await outbox.dead_letters(10)) == ["WO-2", "WO-3", "WO-4"]
    assert (await outbox.purged())["gongdan"]["capped"] == 2
    assert await outbox.purge_dead() == 0
    await outbox.stop()


async def test_an_order_quiet_for_longer_than_the_retention_never_reuses_an_idempotency_key(
        store: Store, receiver: Receiver) -> None:
    """Signed on day 1, replied on day 12: the pruned events' numbers are not handed out again
    (before, the reply got seq 1, the key of ``created``, and a receiver dropped it as a repeat)."""
    clock = Clock()
    outbox = OutboxService(config(receiver.url, retention_days=7), "puyang", store, clock=clock)
    for event in ("created", "dispatched", "signed"):
        outbox.publish("WO-1", event, {})
    await outbox.run_once()
    await outbox.run_once()
    await outbox.run_once()
    clock.advance(days=11)
    assert await outbox.prune() == 6   # the three deliveries and their events
    assert outbox.publish("WO-1", "replied", {})["idempotency_key"] == "puyang:WO-1:4"
    await outbox.run_once()
    await outbox.stop()
    assert [r.key for r in receiver.accepted()] == [f"puyang:WO-1:{n}" for n in (1, 2, 3, 4)]
