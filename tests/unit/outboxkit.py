"""A real HTTP receiver for the outbox tests: an aiohttp server on 127.0.0.1 that answers what
the test scripts (2xx, 500, a hang past the client's timeout, or holds until released)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from hotline.outbox.services import signature


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 12, 1, 8, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Receipt:
    key: str
    order_id: str
    seq: int
    status: int
    signed: bool
    event_type: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


class Receiver:
    """``decide(message) -> int | "hang" | "hold"``: the status to answer; ``hang`` answers only when the
    receiver stops (past any client timeout); ``hold`` waits until :meth:`release`."""

    def __init__(self, secret: str, decide: Callable[[dict[str, Any]], int | str] = lambda m: 200) -> None:
        self.secret = secret
        self.decide = decide
        self.port = free_port()
        self.receipts: list[Receipt] = []
        self.got = asyncio.Event()
        self._release = asyncio.Event()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/events", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            self._release.set()
            self._stopping.set()
            await self._runner.cleanup()
            self._runner = None

    def release(self) -> None:
        self._release.set()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        message = json.loads(body)
        signed = request.headers.get("X-Hotline-Signature") == signature(self.secret, body)
        assert request.headers["X-Hotline-Idempotency-Key"] == message["idempotency_key"]
        verdict = self.decide(message)
        self.got.set()
        if verdict == "hang":
            await self._stopping.wait()   # past the client's timeout: it gave up long before
            return web.json_response({}, status=504)
        if verdict == "hold":
            await self._release.wait()
            verdict = 200
        status = int(verdict)
        self.receipts.append(Receipt(message["idempotency_key"], message["order_id"], message["seq"], status, signed,
                                     message["event_type"], message["payload"]))
        return web.json_response({"ok": status < 300}, status=status)

    def accepted(self) -> list[Receipt]:
        return [r for r in self.receipts if r.status < 300]


def check_order(receipts: list[Receipt], dead: frozenset[str] | set[str] = frozenset()) -> None:
    """An order's event ``seq`` is only ever sent once every earlier one was accepted (or is dead)."""
    done: set[str] = set(dead)
    for r in receipts:
        for earlier in range(1, r.seq):
            key = r.key.rsplit(":", 1)[0] + f":{earlier}"
            assert key in done, f"{r.key} sent before {key} was delivered"
        if r.status < 300:
            done.add(r.key)
