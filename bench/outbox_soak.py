#!/usr/bin/env python3
"""Soak benchmark of the webhook outbox with nobody consuming: N order events a second for a while
with the receiver down (connection refused), then the receiver up.

    .venv/bin/python bench/outbox_soak.py                          # 20 ev/s, 120 s down, 60 s up
    .venv/bin/python bench/outbox_soak.py --rate 50 --down 600 --up 120 --store-url postgresql://…

The outbox runs as in the controller (its worker task, the real maintenance pass) with a clock that
runs ``--speedup`` times faster than the wall clock (default 60: a real second is a site minute), so
max_age_hours, retention_days and dead_retention_days of an hour or so are reached in a minute or
so of real time while the event rate and the HTTP are real. A sampler records every second: the
deliveries by status, the events, the purge counters and the process's RSS. After recovery it
measures the delivery lag (received − published, wall clock) of the events published while the
receiver was up, p50/p99, how long the backlog took, and duplicates (by idempotency key). Writes
bench/results/<UTC stamp>-outbox-soak.json and latest-outbox-soak.json. Prints PASS/FAIL against
the bounds; never asserts. SQLite in a temporary directory unless --store-url.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from aiohttp import web  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from hotline.config.integration import Integration, Webhook  # noqa: E402
from hotline.outbox.services import OutboxService  # noqa: E402
from hotline.store import Store  # noqa: E402
from hotline.store.models import OutboxDeliveryRow as D, OutboxEventRow as E  # noqa: E402

RESULTS = HERE / "results"
LIFE = ("created", "dispatched", "signed", "extension_requested", "extension_approved", "replied", "verified",
        "evaluated")


class ScaledClock:
    def __init__(self, speedup: float) -> None:
        self.speedup, self.t0, self.start = speedup, time.monotonic(), datetime(2026, 12, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self.t0) * self.speedup)


class Receiver:
    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.received: dict[str, float] = {}
        self.seq_seen: dict[str, int] = {}
        self.duplicates = 0
        self.out_of_order = 0
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        m = await request.json()
        key, order, seq = m["idempotency_key"], m["order_id"], m["seq"]
        if key in self.received:
            self.duplicates += 1
        else:
            self.received[key] = time.monotonic()
        if seq < self.seq_seen.get(order, 0):
            self.out_of_order += 1
        self.seq_seen[order] = max(seq, self.seq_seen.get(order, 0))
        return web.json_response({"ok": True})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/events", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def table_rows(store: Store) -> dict[str, int]:
    with store.session() as s:
        out = {f"{k}": int(n) for k, n in s.execute(select(D.status, func.count()).group_by(D.status))}
        out["events"] = int(s.scalar(select(func.count(E.id))) or 0)
    return {k: out.get(k, 0) for k in ("pending", "delivered", "dead", "events")}


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 3)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix="outbox-soak-")
    store = Store(args.store_url or f"sqlite:///{tmp}/hotline.db")
    store.upgrade()
    receiver, clock = Receiver(), ScaledClock(args.speedup)
    config = Integration(
        webhooks=[Webhook(name="gongdan", url=f"http://127.0.0.1:{receiver.port}/events", secret="soak-secret-1")],
        max_age_hours=args.max_age_hours, retention_days=args.retention_days,
        dead_retention_days=args.dead_retention_days, max_dead_per_webhook=args.cap, max_attempts=1000,
        backoff_base_ms=1000, backoff_cap_ms=600000, batch=200, poll_ms=200)
    outbox = OutboxService(config, "soak", store, clock=clock)
    published: dict[str, float] = {}
    publish_s: dict[str, list[float]] = {"down": [], "up": []}   # how long one publish took (the product's side)
    state = {"n": 0, "active": [[f"WO-{i}", 0] for i in range(50)]}
    samples: list[dict[str, Any]] = []
    phase = {"name": "down"}
    t0 = time.monotonic()

    async def publisher(seconds: float) -> None:
        active, interval = state["active"], 1 / args.rate
        end = time.monotonic() + seconds
        next_at = time.monotonic()
        while (now := time.monotonic()) < end:
            if now < next_at:
                await asyncio.sleep(next_at - now)
            n = int(state["n"])
            slot = active[n % len(active)]
            began = time.monotonic()
            event = await asyncio.to_thread(outbox.publish, str(slot[0]), LIFE[int(slot[1])], {"n": n})
            published[event["idempotency_key"]] = time.monotonic()
            publish_s[phase["name"]].append(published[event["idempotency_key"]] - began)
            slot[1] = int(slot[1]) + 1
            if slot[1] == len(LIFE):
                active[n % len(active)] = [f"WO-{n + 50}", 0]
            state["n"] = n + 1
            next_at += interval

    async def sampler() -> None:
        while True:
            rows = await asyncio.to_thread(table_rows, store)
            samples.append({"t": round(time.monotonic() - t0, 1), "site_time": clock().isoformat(),
                            "phase": phase["name"], **rows, "rss_kb": rss_kb(),
                            "published": len(published), "received": len(receiver.received),
                            **{k: v for k, v in outbox.stats.items()}})
            await asyncio.sleep(1)

    outbox.start()
    sampling = asyncio.create_task(sampler())
    await publisher(args.down)
    backlog = {k for k in published}
    phase["name"] = "up"
    recovered = time.monotonic()
    await receiver.start()
    up_from = len(published)
    await publisher(args.up)
    up_keys = list(published)[up_from:]
    phase["name"] = "drain"
    deadline = time.monotonic() + args.drain_timeout
    while time.monotonic() < deadline and table_rows(store)["pending"] > 0:
        await asyncio.sleep(0.5)
    drained = time.monotonic()
    await asyncio.sleep(1.5)
    sampling.cancel()
    await asyncio.gather(sampling, return_exceptions=True)
    await outbox.stop()
    await receiver.stop()
    purged = await outbox.purged()
    final = table_rows(store)
    store.close()
    lags = [receiver.received[k] - published[k] for k in up_keys if k in receiver.received]
    backlog_got = [receiver.received[k] for k in backlog if k in receiver.received]
    down = [s for s in samples if s["phase"] == "down"]
    bound_pending = args.rate * (args.max_age_hours * 3600 + 600) / args.speedup   # + the backoff cap
    checks = {
        "pending_within_max_age": max((s["pending"] for s in samples), default=0) <= bound_pending * 1.1 + 200,
        "dead_within_cap": max((s["dead"] for s in samples), default=0) <= args.cap + 1000,   # + one purge batch
        "nothing_pending_after_drain": final["pending"] == 0,
        "no_duplicates": receiver.duplicates == 0,
        "in_order": receiver.out_of_order == 0,
    }
    return {
        "run_id": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"), "complete": True,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": __import__("os").cpu_count()},
        "git": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=HERE).stdout.strip(),
        "parameters": {k: v for k, v in vars(args).items() if k != "store_url"} | {
            "store": "postgresql" if args.store_url and args.store_url.startswith("postgres") else "sqlite"},
        "samples": samples,
        "summary": {
            "published": len(published), "received": len(receiver.received), "duplicates": receiver.duplicates,
            "out_of_order": receiver.out_of_order, "final_rows": final, "purged": purged, "stats": outbox.stats,
            "max_rows_while_down": {k: max((s[k] for s in down), default=0) for k in ("pending", "dead", "events")},
            "rss_kb": {"start": samples[0]["rss_kb"] if samples else None,
                       "end_of_down": down[-1]["rss_kb"] if down else None,
                       "max": max((s["rss_kb"] for s in samples), default=None)},
            "publish_s": {k: {"p50": pct(v, 50), "p99": pct(v, 99), "n": len(v)} for k, v in publish_s.items()},
            "lag_after_recovery_s": {"p50": pct(lags, 50), "p99": pct(lags, 99), "n": len(lags)},
            "backlog": {"pending_at_recovery": down[-1]["pending"] if down else None,
                        "delivered": len(backlog_got),
                        "drained_s": round(max(backlog_got) - recovered, 2) if backlog_got else None},
            "drain_s": round(drained - recovered, 2), "checks": checks, "pass": all(checks.values())},
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=20, help="events per second (wall clock)")
    p.add_argument("--down", type=float, default=120, help="seconds with the receiver down")
    p.add_argument("--up", type=float, default=60, help="seconds publishing with the receiver up")
    p.add_argument("--speedup", type=float, default=60, help="site seconds per wall-clock second")
    p.add_argument("--max-age-hours", type=float, default=1)
    p.add_argument("--retention-days", type=float, default=1 / 24)
    p.add_argument("--dead-retention-days", type=float, default=1 / 24)
    p.add_argument("--cap", type=int, default=1500, help="max_dead_per_webhook")
    p.add_argument("--drain-timeout", type=float, default=300)
    p.add_argument("--store-url", default=None, help="default: SQLite in a temporary directory")
    args = p.parse_args()
    result = asyncio.run(run(args))
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(result, indent=1, ensure_ascii=False, default=str)
    for name in (f"{result['run_id']}-outbox-soak.json", "latest-outbox-soak.json"):
        (RESULTS / name).write_text(text + "\n", encoding="utf-8")
    s = result["summary"]
    print(json.dumps({k: s[k] for k in ("published", "received", "duplicates", "max_rows_while_down", "rss_kb",
                                        "publish_s",
                                        "lag_after_recovery_s", "backlog", "drain_s", "checks")},
                     ensure_ascii=False, indent=1))
    print("PASS" if s["pass"] else "FAIL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
