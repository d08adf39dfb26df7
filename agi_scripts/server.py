"""One asyncio FastAGI server for every call: ``AGI(agi://127.0.0.1:4573/<route>?...)``.

The dialplan is fail-open: when this server does not answer, the call still
goes to the default queue. So every failure here (a silent or truncated client,
an unknown route, a handler bug, a hangup, a slow Asterisk) ends the same way:
log it, close the connection, keep serving. Nothing waits longer than
``read_timeout``, and at most ``max_connections`` calls are handled at once; a
connection beyond that is closed at once, which the dialplan treats like any
other failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from . import protocol
from .protocol import AgiCommand, AgiError, AgiHangup, AgiResponse
from .stats import AgiStats

log = logging.getLogger(__name__)

Handler = Callable[["AgiSession"], Awaitable[None]]

# Lines longer than this are discarded while reading, never buffered; it also
# bounds a command response (GET VARIABLE of a value over 4 KiB fails).
_STREAM_LIMIT = protocol.MAX_ENV_LINE_BYTES + 1


class Router:
    """The route table: FastAGI path (``inbound``) -> async handler."""

    def __init__(self) -> None:
        self._routes: dict[str, Handler] = {}

    def add(self, path: str, handler: Handler) -> None:
        path = path.strip("/")
        if path in self._routes:
            raise ValueError(f"FastAGI route {path!r} is already registered")
        self._routes[path] = handler

    def resolve(self, path: str) -> Handler | None:
        return self._routes.get(path)


async def _read_line(reader: asyncio.StreamReader) -> bytes | None:
    """One line including its ``\\n``, or None if it was over the stream limit
    (its bytes are discarded, so a huge line costs no memory)."""
    overlong = False
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.LimitOverrunError as exc:
            await reader.readexactly(exc.consumed)
            overlong = True
            continue
        return None if overlong else line


async def _read_env(reader: asyncio.StreamReader) -> dict[str, str]:
    lines: list[bytes] = []
    size = 0
    while True:
        raw = await _read_line(reader)
        if raw is None:
            log.warning("AGI env: skipped a line over %d bytes", protocol.MAX_ENV_LINE_BYTES)
            size += _STREAM_LIMIT
        elif protocol.is_env_end(raw):
            return protocol.parse_env(lines)
        else:
            lines.append(raw)
            size += len(raw)
        if size > protocol.MAX_ENV_BYTES:
            raise AgiError(0, [f"environment block over {protocol.MAX_ENV_BYTES} bytes"])


class AgiSession:
    """One call's FastAGI conversation, handed to a route handler.

    ``env`` is the parsed environment, ``params`` the sanitised query parameters
    of the route. Every command waits at most ``read_timeout`` for its response:
    the hot path only sends commands Asterisk answers at once.
    """

    def __init__(self, env: Mapping[str, str], params: Mapping[str, str],
                 reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 *, timeout: float, stats: AgiStats) -> None:
        self.env = env
        self.params = params
        self._reader = reader
        self._writer = writer
        self._timeout = timeout
        self._stats = stats

    async def command(self, cmd: AgiCommand) -> AgiResponse:
        """Send one command, return its ``200`` response.

        Raises :class:`AgiHangup`, :class:`AgiError`, TimeoutError, or
        ConnectionError / IncompleteReadError if Asterisk went away.
        """
        if "\n" in cmd or "\r" in cmd:
            raise ValueError("an AGI command must be a single line; use the protocol builders")
        started = time.perf_counter()
        self._writer.write(cmd.encode("utf-8") + b"\n")
        lines: list[str] = []
        async with asyncio.timeout(self._timeout):
            await self._writer.drain()
            while not protocol.response_complete(lines):
                raw = await _read_line(self._reader)
                if raw is None:
                    raise AgiError(0, [f"response line over {_STREAM_LIMIT} bytes to {cmd[:40]!r}"])
                lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
        response = protocol.parse_response(lines)
        self._stats.commands.record(time.perf_counter() - started)
        return response

    async def set_variable(self, name: str, value: str | int) -> None:
        await self.command(protocol.set_variable(name, value))

    async def get_variable(self, name: str) -> str | None:
        """The variable's value, or None when it is not set (``200 result=0``)."""
        response = await self.command(protocol.get_variable(name))
        return response.data if response.result == "1" else None

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command(protocol.verbose(message, level))


class FastAgiServer:
    """Serves FastAGI connections, dispatching each to the route its URL names.

    ``host``/``port`` come from the site config (``asterisk.fastagi``); ``port=0``
    binds an ephemeral port (tests), read back from ``bound_port``. ``read_timeout``
    bounds the environment read and every command round trip. ``stats`` collects
    command round trips and completed connections (a fresh :class:`AgiStats` if
    omitted; always exposed as ``.stats``).
    """

    def __init__(self, router: Router, host: str, port: int, *,
                 read_timeout: float = 2.0, stats: AgiStats | None = None,
                 max_connections: int = 512) -> None:
        if read_timeout <= 0 or max_connections < 1:
            raise ValueError("read_timeout must be > 0 and max_connections >= 1")
        self._router = router
        self._host = host
        self._port = port
        self._read_timeout = read_timeout
        self._max_connections = max_connections
        self.stats = stats if stats is not None else AgiStats()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._full = False

    @property
    def bound_port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the FastAGI server is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the FastAGI server is already started")
        # backlog: a burst of calls must queue in the kernel, not be refused by it.
        self._server = await asyncio.start_server(self._on_connect, self._host, self._port,
                                                  limit=_STREAM_LIMIT, backlog=self._max_connections)
        log.info("FastAGI listening on %s:%d", self._host, self.bound_port)

    async def stop(self) -> None:
        """Stop listening and cancel calls in progress (the dialplan fails open for them)."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A plain callback owning its task: asyncio's own wrapper for coroutine
        # callbacks mis-reports cancelled tasks on Python 3.11, which stop() does.
        if len(self._tasks) >= self._max_connections:
            if not self._full:
                log.warning("FastAGI: %d connections in progress, refusing new ones",
                            self._max_connections)
                self._full = True
            writer.close()
            return
        self._full = False
        task = asyncio.create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        started = time.perf_counter()
        peer = writer.get_extra_info("peername")
        completed = False
        try:
            completed = await self._converse(reader, writer, peer)
        except AgiHangup as exc:
            log.info("FastAGI %s: channel hung up (%s)", peer, exc)
        except AgiError as exc:
            log.warning("FastAGI %s: protocol error: %s", peer, exc)
        except TimeoutError:
            log.warning("FastAGI %s: no answer within %.1fs, closing", peer, self._read_timeout)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            log.warning("FastAGI %s: connection lost: %r", peer, exc)
        except Exception:
            log.exception("FastAGI %s: route handler failed", peer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        if completed:
            self.stats.connections.record(time.perf_counter() - started)

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        peer: object) -> bool:
        """Read the environment and run the route; True if the handler ran to the end."""
        try:
            async with asyncio.timeout(self._read_timeout):
                env = await _read_env(reader)
        except TimeoutError:
            log.warning("FastAGI %s: no complete environment within %.1fs, closing",
                        peer, self._read_timeout)
            return False
        except asyncio.IncompleteReadError:
            log.warning("FastAGI %s: connection closed before the environment ended", peer)
            return False
        try:
            path, params = protocol.parse_script(env.get("agi_network_script", ""))
        except ValueError as exc:
            log.warning("FastAGI %s: unusable script %r: %s", peer, env.get("agi_network_script"), exc)
            return False
        session = AgiSession(env, params, reader, writer, timeout=self._read_timeout, stats=self.stats)
        handler = self._router.resolve(path)
        if handler is None:
            log.warning("FastAGI %s: no route %r (channel %s)", peer, path, env.get("agi_channel"))
            await session.verbose(f"hotline FastAGI: no route {path!r}, call continues in the dialplan")
            return False
        await handler(session)
        return True
