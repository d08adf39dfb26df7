"""The controller's one long-lived AMI connection, panoramisk underneath.

Why a wrapper: panoramisk decodes each TCP read on its own (a UTF-8 character
split across reads is lost), lets an exception in an event callback escape into
the transport (which closes the connection), and reconnects at a fixed interval.
Here the read path uses our own tolerant framing (:mod:`hotline.ami.parse`),
every handler runs inside a guard, reconnects back off exponentially, and each
(re)login runs the ``on_login`` re-sync hook.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from hotline.latency import LatencyStats

from .parse import StreamSplitter, parse_block

log = logging.getLogger(__name__)

EventHandler = Callable[[dict[str, str]], Any]


@dataclass
class AmiStats:
    events: int = 0
    malformed_lines: int = 0
    handler_errors: int = 0
    connects: int = 0
    logins: int = 0
    lag: LatencyStats = field(default_factory=LatencyStats)  # Asterisk Timestamp -> handled


# Events panoramisk itself must see: it flushes queued actions on FullyBooted and drops
# the connection on Shutdown. Every other event bypasses it.
_PANORAMISK_EVENTS = frozenset({"FullyBooted", "Shutdown"})


class _SafeProtocol(AMIProtocol):
    """AMIProtocol with incremental UTF-8 framing and a guarded dispatch."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._splitter = StreamSplitter()
        self._greeted = False
        self._early: list[bytes] = []

    def data_received(self, data: bytes) -> None:
        client: AmiClient | None = getattr(self.factory, "client", None)
        if client is None:  # bytes before panoramisk attached us to the manager: keep them
            self._early.append(data)
            return
        if self._early:
            data, self._early = b"".join(self._early) + data, []
        for block in self._splitter.feed(data):
            if not self._greeted and block.startswith("Asterisk Call Manager/"):
                self._greeted = True
                self.version, _, rest = block.partition("\n")
                block = rest
                if not block.strip():
                    continue
            headers, bad = parse_block(block)
            client.stats.malformed_lines += bad
            if bad:
                log.warning("AMI: %d malformed line(s) skipped", bad)
            if "Event" not in headers and "Response" not in headers:
                continue
            if "Event" in headers and "ActionID" not in headers and headers["Event"] not in _PANORAMISK_EVENTS:
                # The hot path (thousands of events a second under load): straight to our
                # handlers, without panoramisk's Message objects and pattern matching.
                client._dispatch_headers(headers)
                continue
            try:
                self.handle_message(Message(headers))
            except Exception:  # never let one message close the connection
                client.stats.handler_errors += 1
                log.exception("AMI: error handling a message; the read loop goes on")


class _Manager(Manager):
    client: "AmiClient"
    _connecting: asyncio.Future[Any] | None = None

    def connect(self, run_forever: bool = False, on_startup: Any = None, on_shutdown: Any = None) -> Any:
        if not self.client._started:  # a retry scheduled before stop() fires after it: do nothing
            return None
        self.client.stats.connects += 1
        # panoramisk schedules the next attempt after `reconnect_timeout`: make it a backoff.
        self.reconnect_timeout = self.client._next_backoff()
        self._connecting = super().connect(run_forever, on_startup, on_shutdown)
        return self._connecting

    def connection_made(self, f: asyncio.Future[Any]) -> None:
        if self._connecting is f:
            self._connecting = None
        if not self.client._started:  # the attempt finished after stop(): close what it opened
            if not f.cancelled() and f.exception() is None:
                transport, _ = f.result()
                transport.close()
            return
        super().connection_made(f)

    def connection_lost(self, exc: Any) -> None:
        if not self.client._started:  # stop() closed it: no reconnect
            self._connected = False
            return
        super().connection_lost(exc)


class AmiClient:
    def __init__(self, host: str, port: int, username: str, secret: str, *,
                 on_login: Callable[[], Awaitable[None]] | None = None,
                 on_lost: Callable[[float], None] | None = None,
                 backoff: tuple[float, float] = (0.5, 10.0), ping_interval: int = 10) -> None:
        self.host, self.port = host, port
        self._handlers: list[tuple[str, EventHandler]] = []
        self._on_login = on_login
        self._on_lost = on_lost   # the logged-in connection dropped (time.time()): Asterisk gone?
        self._backoff_base, self._backoff_cap = backoff
        self._attempt = 0
        self.stats = AmiStats()
        self.logged_in = asyncio.Event()
        self._resync_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Future[Any]] = set()  # async handlers in flight (strong refs)
        self._manager = _Manager(host=host, port=port, username=username, secret=secret,
                                 protocol_factory=_SafeProtocol, ping_delay=ping_interval,
                                 ping_interval=ping_interval, reconnect_timeout=1,
                                 on_login=self._logged_in, on_disconnect=self._disconnected,
                                 loop=None)
        self._manager.client = self
        self._manager.register_event("*", self._dispatch)
        self._started = False

    # -- public surface -------------------------------------------------------------
    def on(self, event_name: str, handler: EventHandler) -> None:
        """Call ``handler(headers)`` for each event named ``event_name`` ("*" for all)."""
        self._handlers.append((event_name.lower(), handler))

    @property
    def connected(self) -> bool:
        return self.logged_in.is_set()

    async def start(self) -> None:
        self._manager.loop = asyncio.get_running_loop()
        self._started = True
        self._manager.connect()

    async def stop(self) -> None:
        self._started = False
        connecting = self._manager._connecting
        if connecting is not None:
            connecting.cancel()
        self._manager.close()
        self.logged_in.clear()
        me = asyncio.current_task()
        pending = [t for t in (self._resync_task, *self._tasks) if t is not None and not t.done() and t is not me]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def send(self, action: dict[str, str], timeout: float = 10.0, *, as_list: bool | None = None) -> Any:
        """Send an action built by :mod:`hotline.ami.actions`; returns panoramisk's response.

        ``as_list=False`` returns the first response alone. An asynchronous Originate needs it:
        panoramisk would otherwise wait for the OriginateResponse event, which the manager.conf
        event filters never let through (the result is read from CEL instead)."""
        if not self.connected:
            raise ConnectionError("AMI is not connected")
        fut = self._manager.send_action(dict(action), as_list=as_list)
        return await asyncio.wait_for(fut, timeout)

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.connected, "host": self.host, "port": self.port,
                               "events": self.stats.events, "malformed_lines": self.stats.malformed_lines,
                               "handler_errors": self.stats.handler_errors, "logins": self.stats.logins}
        if self.stats.lag.count:
            out["lag_p99_ms"] = round(self.stats.lag.percentile(99) * 1000, 2)
        return out

    # -- internals ---------------------------------------------------------------------
    def _next_backoff(self) -> float:
        delay = min(self._backoff_cap, self._backoff_base * (2 ** self._attempt))
        self._attempt += 1
        return delay

    def _logged_in(self, manager: Manager) -> None:
        if not self._started:
            return
        self._attempt = 0
        # the first retry after a later loss waits the base delay, not the last failed attempt's
        self._manager.reconnect_timeout = self._next_backoff()
        self.stats.logins += 1
        self.logged_in.set()
        log.info("AMI: logged in to %s:%s", self.host, self.port)
        if self._on_login is not None:
            self._resync_task = asyncio.ensure_future(self._guarded_resync())

    async def _guarded_resync(self) -> None:
        try:
            await self._on_login()  # type: ignore[misc]
        except Exception:
            log.exception("AMI: re-sync after login failed")

    def _disconnected(self, manager: Manager, exc: Any) -> None:
        was_in = self.logged_in.is_set()
        self.logged_in.clear()
        if self._started:
            log.warning("AMI: connection to %s:%s lost; reconnecting with backoff", self.host, self.port)
            if was_in and self._on_lost is not None:
                try:
                    self._on_lost(time.time())
                except Exception:
                    log.exception("AMI: the connection-lost hook failed")

    def _dispatch(self, manager: Manager, message: Message) -> None:
        self._dispatch_headers({str(k): v if isinstance(v, str) else str(v) for k, v in message.items()})

    def _dispatch_headers(self, headers: dict[str, str]) -> None:
        name = headers.get("Event", "")
        self.stats.events += 1
        ts = headers.get("Timestamp")
        if ts:
            try:
                self.stats.lag.record(max(0.0, time.time() - float(ts)))
            except ValueError:
                pass
        for pattern, handler in self._handlers:
            if pattern != "*" and pattern != name.lower():
                continue
            try:
                result = handler(headers)
                if asyncio.iscoroutine(result):
                    task = asyncio.ensure_future(result)
                    self._tasks.add(task)
                    task.add_done_callback(self._task_done)
            except Exception:
                self.stats.handler_errors += 1
                log.exception("AMI: handler for %s failed; the read loop goes on", name)

    def _task_done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.stats.handler_errors += 1
            log.error("AMI: async handler failed: %r", task.exception())
