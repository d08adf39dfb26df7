"""The outbox service: publish order events, deliver them to the webhooks, keep the dead letters.

Delivery is at-least-once: a delivery is marked ``delivered`` only after the receiver answered
2xx, so a worker cancelled mid-POST (or a process killed) sends it again; the receiver drops
duplicates by ``idempotency_key`` (``<site>:<order_id>:<seq>``, also in the header
``X-Hotline-Idempotency-Key``). In order per order: the store hands out only the earliest pending
delivery of each (webhook, order) (:meth:`OutboxStore.due`), claimed for the longest webhook
timeout plus a margin so a second node's worker leaves it alone. A failure (non-2xx, timeout,
connection refused) is retried after ``backoff_base_ms * 2**(attempts-1)`` capped at
``backoff_cap_ms``, with equal jitter (half fixed, half random); after ``max_attempts`` or once
the event is ``max_age_hours`` old it becomes a dead letter. The clock and the random source are
injectable, so tests move time instead of sleeping.

Bounded with nobody consuming: every ``PRUNE_EVERY`` (of the clock) the worker's maintenance
(:meth:`OutboxService.maintain`) expires pending deliveries past their age or attempts, deletes
delivered ones after ``retention_days`` and purges dead letters after ``dead_retention_days`` or
beyond ``max_dead_per_webhook`` (:mod:`hotline.outbox.retention`); each batch that changed
something is one log line, and the purges are counted per webhook in the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy.orm import Session

from hotline.config.integration import Integration, Webhook
from hotline.http.body import parse_json_body
from hotline.outbox import retention
from hotline.outbox.inbound import InboundChange, InboundHook, InboundStore, authenticate, record_only
from hotline.outbox.schemas import InboundBody
from hotline.outbox.store import Delivery, OutboxStore
from hotline.store import Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
PRUNE_EVERY = timedelta(minutes=10)
PRUNE_BATCH = 1000
LEASE_MARGIN = timedelta(seconds=30)


def utc_now() -> datetime:
    return datetime.now(UTC)


def signature(secret: str, body: bytes) -> str:
    """The value of ``X-Hotline-Signature``: ``sha256=<hex HMAC-SHA256 of the body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempts: int, base_ms: int, cap_ms: int, rand: float) -> timedelta:
    """The wait after the ``attempts``-th failure: exponential, capped, equal jitter (``rand`` in [0, 1))."""
    full = min(cap_ms, base_ms * 2 ** min(attempts - 1, 40))
    return timedelta(milliseconds=full / 2 + rand * full / 2)


class OutboxService:
    def __init__(self, config: Integration, site_id: str, store: Store, *, clock: Clock = utc_now,
                 rand: Callable[[], float] = random.random, inbound_hook: InboundHook = record_only) -> None:
        """``inbound_hook`` applies an order system's change to the order (the work-order
        lifecycle's, wired in ``hotline.compose``); the default stores it unapplied."""
        self._config = config
        self._systems = {s.name: s for s in config.systems}
        self._inbound = InboundStore(store, inbound_hook)
        self._webhooks = {w.name: w for w in config.webhooks}
        # How long a claimed delivery is not handed to another worker: the longest POST and a margin.
        self._lease = timedelta(milliseconds=max([w.timeout_ms for w in config.webhooks], default=0)) + LEASE_MARGIN
        self._db = OutboxStore(store, site_id, config.webhooks)
        self._store = store
        self._clock = clock
        self._rand = rand
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: aiohttp.ClientSession | None = None
        self._last_prune: datetime | None = None
        self._counts = {"pending": 0, "delivered": 0, "dead": 0}
        self.stats = {"sent": 0, "failed": 0, "dead_lettered": 0, "pruned": 0, "expired": 0, "dead_purged": 0}
        self._purged: dict[str, dict[str, Any]] = {}
        self._last_error: str | None = None

    # --- publishing ---------------------------------------------------------------------------
    def publish(self, order_id: str, event_type: str, payload: dict[str, Any], *,
                session: Session | None = None) -> dict[str, Any]:
        """Append an event; in ``session`` it commits with the caller's own change (the lifecycle
        publishes inside the transaction of the transition). Synchronous: call it in a thread."""
        event = self._db.publish(order_id, event_type, payload, now=self._clock(), session=session)
        self.poke()
        return event

    def poke(self) -> None:
        """Wake the worker (an event was published), from its loop or from a thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return   # no worker: it looks at the store when it starts
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    # --- the worker ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.create_task(self.run(), name="outbox")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def run(self) -> None:
        """Deliver until cancelled; a database error waits a poll period and tries again."""
        while True:
            self._wake.clear()   # before the pass: a publish during it wakes the wait below at once
            try:
                sent = await self.run_once()
                await self._prune_now()
            except asyncio.CancelledError:
                raise
            except Exception as exc:   # the store is down: the events wait in it
                log.warning("outbox: %s; retrying", exc)
                self._last_error = str(exc)[:200]
                sent = 0
            if sent < self._config.batch:
                try:
                    await asyncio.wait_for(self._wake.wait(), self._config.poll_ms / 1000)
                except TimeoutError:
                    pass

    async def run_once(self) -> int:
        """One pass: the due deliveries (at most ``batch``, at most one per order and webhook),
        all sent concurrently, each marked as soon as its answer is in. How many were tried."""
        due = await asyncio.to_thread(self._db.due, self._clock(), self._config.batch, self._lease)
        if due:
            died = [d for d in await asyncio.gather(*(self._deliver(d) for d in due)) if d is not None]
            if died:   # one line per pass, not one per letter: a receiver down for weeks fills no log
                log.warning("outbox: %d delivery(ies) became dead letters this pass, e.g. %s", len(died), died[0])
        self._counts = await asyncio.to_thread(self._db.counts)
        return len(due)

    async def _deliver(self, delivery: Delivery) -> str | None:
        """Send one delivery and mark it; a line saying why when it became a dead letter."""
        webhook = self._webhooks.get(delivery.webhook)
        error = await self._post(webhook, delivery) if webhook else f"webhook {delivery.webhook!r} not configured"
        now = self._clock()
        if error is None:
            await asyncio.to_thread(self._db.delivered, delivery.id, now)
            self.stats["sent"] += 1
            return None
        self.stats["failed"] += 1
        self._last_error = f"{delivery.webhook}: {error}"
        attempts = delivery.attempts + 1
        too_old = now - delivery.created_at >= timedelta(hours=self._config.max_age_hours)
        retry_at = None if webhook is None or too_old or attempts >= self._config.max_attempts else \
            now + backoff(attempts, self._config.backoff_base_ms, self._config.backoff_cap_ms, self._rand())
        await asyncio.to_thread(self._db.failed, delivery.id, now, error, retry_at)
        if retry_at is not None:
            return None
        self.stats["dead_lettered"] += 1
        return f"{delivery.idempotency_key} to {delivery.webhook} after {attempts} attempt(s): {error}"

    async def _post(self, webhook: Webhook, delivery: Delivery) -> str | None:
        """None when the receiver took it (2xx), else why not (one line)."""
        body = json.dumps(delivery.message(), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Hotline-Event": delivery.event_type,
                   "X-Hotline-Idempotency-Key": delivery.idempotency_key,
                   "X-Hotline-Signature": signature(webhook.secret, body)}
        if self._http is None:
            self._http = aiohttp.ClientSession()
        try:
            async with self._http.post(webhook.url, data=body, headers=headers, allow_redirects=False,
                                       timeout=aiohttp.ClientTimeout(total=webhook.timeout_ms / 1000)) as resp:
                await resp.read()
                return None if 200 <= resp.status < 300 else f"HTTP {resp.status}"
        except TimeoutError:
            return f"timed out after {webhook.timeout_ms} ms"
        except aiohttp.ClientError as exc:
            return f"{type(exc).__name__}: {exc}"[:200]

    async def _prune_now(self) -> None:
        now = self._clock()
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        await self.maintain()

    async def maintain(self) -> dict[str, int]:
        """The bounds (:mod:`hotline.outbox.retention`): expire, prune the delivered, purge the dead."""
        expired = await self.expire()
        pruned = await self.prune()
        purged = await self.purge_dead()
        self._purged = await asyncio.to_thread(retention.purged, self._store)
        return {"expired": expired, "pruned": pruned, "dead_purged": purged}

    async def expire(self) -> int:
        """Pending deliveries past ``max_age_hours`` or ``max_attempts`` made dead letters, in batches."""
        now, total = self._clock(), 0
        while n := await asyncio.to_thread(retention.expire, self._store, now=now, limit=PRUNE_BATCH,
                                           max_age=timedelta(hours=self._config.max_age_hours),
                                           max_attempts=self._config.max_attempts):
            log.warning("outbox: %d pending delivery(ies) expired into dead letters (max_age_hours %g, "
                        "max_attempts %d): %s", n.total(), self._config.max_age_hours, self._config.max_attempts,
                        dict(sorted(n.items())))
            total += n.total()
        self.stats["expired"] += total
        self.stats["dead_lettered"] += total
        return total

    async def purge_dead(self) -> int:
        """Dead letters past ``dead_retention_days`` or beyond ``max_dead_per_webhook`` deleted
        (the oldest first), counted per webhook in the store; one log line per batch."""
        now, total = self._clock(), 0
        before = now - timedelta(days=self._config.dead_retention_days)
        while batch := await asyncio.to_thread(retention.purge_dead, self._store, now=now, before=before,
                                               cap=self._config.max_dead_per_webhook, limit=PRUNE_BATCH):
            n = sum(e + c for e, c in batch.values())
            log.warning("outbox: purged %d dead letter(s) (older than %g days, or beyond %d per webhook): %s",
                        n, self._config.dead_retention_days, self._config.max_dead_per_webhook,
                        {w: {"expired": e, "capped": c} for w, (e, c) in sorted(batch.items())})
            total += n
        self.stats["dead_purged"] += total
        return total

    async def prune(self) -> int:
        """Delete delivered events and inbound changes older than ``retention_days`` (in batches,
        until none is left)."""
        before = self._clock() - timedelta(days=self._config.retention_days)
        total = 0
        for prune in (self._db.prune, self._inbound.prune):
            while (n := await asyncio.to_thread(prune, before, PRUNE_BATCH)) > 0:
                total += n
        self.stats["pruned"] += total
        return total

    # --- the dead-letter list ------------------------------------------------------------------
    async def dead_letters(self, limit: int) -> list[dict[str, Any]]:
        return [d.to_dict() for d in await asyncio.to_thread(self._db.dead, limit)]

    async def purged(self) -> dict[str, dict[str, Any]]:
        """Dead letters purged so far per webhook (``expired``, ``capped``, ``last_purged_at``)."""
        self._purged = await asyncio.to_thread(retention.purged, self._store)
        return self._purged

    async def retry(self, delivery_id: int) -> dict[str, Any]:
        delivery = await asyncio.to_thread(self._db.retry, delivery_id, self._clock())
        self.poke()
        return delivery.to_dict()

    async def discard(self, delivery_id: int) -> None:
        await asyncio.to_thread(self._db.discard, delivery_id)

    # --- inbound changes -----------------------------------------------------------------------
    async def receive(self, system: str, body: bytes, *, authorization: str | None,
                      signature: str | None) -> tuple[dict[str, Any], bool]:
        """An order system's change: authenticated first (nothing is parsed before), then parsed
        (the field at fault named), stored once and handed to the hook. (answer, replayed)."""
        authenticate(self._systems, system, body, authorization, signature)
        parsed = parse_json_body(InboundBody, body, empty_is_object=False)
        change = InboundChange(system=system, idempotency_key=parsed.idempotency_key, order_id=parsed.order_id,
                               change=parsed.change, at=parsed.at, data=parsed.data)
        answer = await asyncio.to_thread(self._inbound.accept, change, now=self._clock())
        self.poke()   # the hook may have published (in its transaction, committed now)
        return answer

    @property
    def inbound_hook(self) -> InboundHook:
        return self._inbound.hook

    @inbound_hook.setter
    def inbound_hook(self, hook: InboundHook) -> None:
        """The lifecycle's (``hotline.compose`` sets it once the work-order service exists)."""
        self._inbound.hook = hook

    async def inbound_changes(self, limit: int) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._inbound.recent, limit)

    # --- health ---------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """From the last pass (never waits on the database): rows by status, this process's counters."""
        running = self._task is not None and not self._task.done()
        return {"ok": True, "webhooks": len(self._webhooks), "running": running,
                **{f"{k}_rows": v for k, v in self._counts.items()}, **self.stats, "last_error": self._last_error,
                "purged_by_webhook": self._purged}
