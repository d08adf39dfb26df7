"""The FastAGI server over real TCP on 127.0.0.1, driven by a scripted fake Asterisk.

Timeouts here are small so failure paths finish quickly; GUARD only stops a
broken test from hanging. No test asserts how long anything took, only what
was sent, what was logged and whether the connection was closed.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from agi_scripts.decide import RouteDecision
from agi_scripts.protocol import AgiCommand
from agi_scripts.routes import build_router
from agi_scripts.server import AgiSession, FastAgiServer, Router
from agi_scripts.signature import route_signature
from hotline.config import SiteConfig, parse_site

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "agi"
GUARD = 10.0
SHORT = 0.1

# 'general' is reserved by Asterisk's queues.conf, so the default queue is 'hotline'.
SITE = parse_site({
    "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
    "departments": [{"id": "renshe", "name": "人社局", "queue": "renshe"}],
    "queues": [{"name": "hotline"}, {"name": "renshe"}],
    "legacy_numbers": [{"number": "12333", "mode": "parallel", "department": "renshe"}],
    # the protocol tests call from one number again and again: no repeat-caller priority here
    # (tests/unit/test_agi_repeat.py covers it)
    "repeat_caller": {"within_hours": 0},
})

INBOUND_COMMANDS = [
    'SET VARIABLE HOTLINE_CALLER "13800138000"',
    'SET VARIABLE HOTLINE_ROUTE_PRIORITY "0"',
    'SET VARIABLE HOTLINE_ROUTE_QUEUE "renshe"',
    # issue #9: the route's signature, last (agi_scripts/signature.py; no key and no nonce here)
    'SET VARIABLE HOTLINE_ROUTE_SIG "'
    + route_signature("", "", {"HOTLINE_ROUTE_QUEUE": "renshe", "HOTLINE_ROUTE_PRIORITY": "0"}) + '"',
]
HEALTH_COMMANDS = ['SET VARIABLE HOTLINE_AGI_OK "1"']


def env_block(script: str, **values: str) -> bytes:
    """An environment block as Asterisk 22 sends it for AGI(agi://127.0.0.1:4573/<script>)."""
    fields = {
        "agi_network": "yes",
        "agi_network_script": script,
        "agi_request": f"agi://127.0.0.1:4573/{script}",
        "agi_channel": "PJSIP/carrier-00000001",
        "agi_uniqueid": "1732345678.1",
        "agi_callerid": "13800138000",
        "agi_calleridname": "unknown",
        "agi_context": "from-carrier",
        "agi_extension": "12333",
        "agi_priority": "3",
        "agi_accountcode": "",
    }
    fields.update(values)
    return "".join(f"{key}: {value}\n" for key, value in fields.items()).encode() + b"\n"


class FakeAsterisk:
    """The Asterisk side of one FastAGI connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, server: FastAgiServer) -> AsyncIterator[FakeAsterisk]:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.bound_port)
        try:
            yield cls(reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def send(self, data: bytes) -> None:
        self._writer.write(data)

    async def next_line(self) -> str | None:
        """The next line the server sent, or None once it has closed the connection."""
        async with asyncio.timeout(GUARD):
            line = await self._reader.readline()
        return line.decode().removesuffix("\n") if line else None

    async def converse(self, answer: str = "200 result=1") -> list[str]:
        """Answer every command with ``answer`` until the server closes; the commands."""
        commands = []
        while (line := await self.next_line()) is not None:
            commands.append(line)
            self.send(answer.encode() + b"\n")
        return commands


async def call(server: FastAgiServer, env: bytes, answer: str = "200 result=1") -> list[str]:
    async with FakeAsterisk.connect(server) as asterisk:
        asterisk.send(env)
        return await asterisk.converse(answer)


@pytest.fixture
async def make_server() -> AsyncIterator[Callable[..., Awaitable[FastAgiServer]]]:
    servers: list[FastAgiServer] = []

    async def make(router: Router | None = None, **options: float) -> FastAgiServer:
        options.setdefault("read_timeout", 1.0)
        server = FastAgiServer(router or build_router(SITE), "127.0.0.1", 0, **options)  # type: ignore[arg-type]
        await server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.stop()


def router_with(**handlers: Callable[[AgiSession], Awaitable[None]]) -> Router:
    router = build_router(SITE)
    for path, handler in handlers.items():
        router.add(path, handler)
    return router


# --- the inbound route -------------------------------------------------------------

def load_transcript(path: Path) -> list[tuple[str, str | None]]:
    steps: list[tuple[str, str | None]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line == "EOF":
            steps.append(("EOF", None))
        else:
            direction, _, literal = line.partition(" ")
            assert direction in ("A", "S"), line
            steps.append((direction, ast.literal_eval(literal)))
    return steps


async def test_inbound_transcript_replays_exactly(make_server) -> None:
    server = await make_server()
    steps = load_transcript(FIXTURES / "inbound.txt")
    assert [text for direction, text in steps if direction == "S"] == INBOUND_COMMANDS
    async with FakeAsterisk.connect(server) as asterisk:
        for direction, text in steps:
            if direction == "A":
                asterisk.send(text.encode() + b"\n")  # type: ignore[union-attr]
            elif direction == "S":
                assert await asterisk.next_line() == text
            else:
                assert await asterisk.next_line() is None
    assert server.stats.commands.count == 4
    assert server.stats.connections.count == 1
    assert server.stats.commands.percentile(99) >= server.stats.commands.percentile(50) > 0


@pytest.mark.parametrize("env_values, commands", [
    pytest.param({}, INBOUND_COMMANDS, id="plain"),
    pytest.param({"agi_callerid": "unknown"},
                 ['SET VARIABLE HOTLINE_CALLER "anonymous"'] + INBOUND_COMMANDS[1:], id="withheld"),
    pytest.param({"agi_callerid": ""},
                 ['SET VARIABLE HOTLINE_CALLER "anonymous"'] + INBOUND_COMMANDS[1:], id="empty-caller"),
    pytest.param({"agi_callerid": '123" EXEC System rm'},
                 ['SET VARIABLE HOTLINE_CALLER "anonymous"'] + INBOUND_COMMANDS[1:], id="hostile-caller"),
    pytest.param({"agi_callerid": "+86 138-0013-8000"},
                 ['SET VARIABLE HOTLINE_CALLER "+8613800138000"'] + INBOUND_COMMANDS[1:], id="formatted"),
])
async def test_inbound_caller_is_sanitised(make_server, env_values: dict[str, str],
                                           commands: list[str]) -> None:
    server = await make_server()
    assert await call(server, env_block("inbound?dialled=12333", **env_values)) == commands


@pytest.mark.parametrize("script, extension, queue", [
    pytest.param("inbound?dialled=12345", "12333", "hotline", id="param-wins-over-extension"),
    pytest.param("inbound", "12333", "renshe", id="extension-fallback"),
    pytest.param("inbound?dialled=", "12333", "renshe", id="empty-param-fallback"),
    pytest.param("inbound?dialled=99999", "s", "hotline", id="unknown-number"),
    pytest.param("inbound?dialled=12333%22%0AEXEC%20System%20rm", "12333", "hotline", id="hostile-dialled"),
])
async def test_inbound_queue_follows_the_dialled_number(make_server, script: str, extension: str,
                                                       queue: str) -> None:
    server = await make_server()
    commands = await call(server, env_block(script, agi_extension=extension))
    assert commands[-2] == f'SET VARIABLE HOTLINE_ROUTE_QUEUE "{queue}"'
    assert len(commands) == 4 and commands[-1].startswith("SET VARIABLE HOTLINE_ROUTE_SIG ")


async def test_inbound_uses_the_injected_decision(make_server) -> None:
    seen: list[tuple[str, str]] = []

    def decide(site: SiteConfig, dialled: str, caller: str, *, repeat: bool = False) -> RouteDecision:
        seen.append((dialled, caller))
        return RouteDecision(queue="renshe", priority=7, reason="test")

    server = await make_server(build_router(SITE, decide=decide))
    commands = await call(server, env_block("inbound?dialled=123-33", agi_callerid="(138) 0013 8000"))
    assert seen == [("12333", "13800138000")]
    sig = route_signature("", "", {"HOTLINE_ROUTE_PRIORITY": "7", "HOTLINE_ROUTE_QUEUE": "renshe"})
    assert commands == [INBOUND_COMMANDS[0], 'SET VARIABLE HOTLINE_ROUTE_PRIORITY "7"', INBOUND_COMMANDS[2],
                        f'SET VARIABLE HOTLINE_ROUTE_SIG "{sig}"']


async def test_health_route(make_server) -> None:
    server = await make_server()
    assert await call(server, env_block("health")) == HEALTH_COMMANDS


# --- hostile or broken clients ---------------------------------------------------------

async def test_silent_client_is_closed_and_does_not_block_others(make_server, caplog) -> None:
    server = await make_server(read_timeout=SHORT)
    async with FakeAsterisk.connect(server) as silent:
        assert await call(server, env_block("health")) == HEALTH_COMMANDS
        assert await silent.next_line() is None
    assert "no complete environment" in caplog.text
    assert await call(server, env_block("health")) == HEALTH_COMMANDS


async def test_truncated_env_is_closed_after_the_timeout(make_server, caplog) -> None:
    server = await make_server(read_timeout=SHORT)
    async with FakeAsterisk.connect(server) as asterisk:
        asterisk.send(env_block("health")[:-30])
        assert await asterisk.next_line() is None
    assert "no complete environment" in caplog.text
    assert await call(server, env_block("health")) == HEALTH_COMMANDS


async def test_env_cut_by_the_client_closing(make_server, caplog) -> None:
    server = await make_server()
    async with FakeAsterisk.connect(server) as asterisk:
        asterisk.send(env_block("health")[:-30])
        asterisk._writer.write_eof()
        assert await asterisk.next_line() is None
    assert "closed before the environment ended" in caplog.text
    assert await call(server, env_block("health")) == HEALTH_COMMANDS


async def test_malformed_env_lines_are_skipped(make_server, caplog) -> None:
    server = await make_server()
    env = env_block("inbound?dialled=12333")
    garbage = b"".join([
        b"no separator here\n",
        b"agi_calleridname: \xff\xfe\xfd\n",
        b"agi_callerid: 999\x00\n",
        b"agi_arg_1: " + b"x" * 5000 + b"\n",      # over 4 KiB
        b"agi_arg_2: " + b"y" * 100_000 + b"\n",   # over the stream limit: discarded unread
        b"AGI_CALLERID: 999\n",
    ])
    assert await call(server, garbage + env) == INBOUND_COMMANDS
    assert caplog.text.count("skipped") == 6


async def test_hostile_caller_id_cannot_inject_a_command(make_server) -> None:
    server = await make_server()
    # The newline ends the env line; the rest arrives as a malformed line.
    env = env_block("inbound?dialled=12333", agi_callerid='123"\nEXEC System rm -rf /')
    assert await call(server, env) == ['SET VARIABLE HOTLINE_CALLER "anonymous"'] + INBOUND_COMMANDS[1:]


async def test_oversized_env_block_is_refused(make_server, caplog) -> None:
    server = await make_server()
    flood = b"".join(f"agi_arg_{i}: {'z' * 1000}\n".encode() for i in range(40))
    assert await call(server, flood + env_block("health")) == []
    assert "environment block over" in caplog.text
    assert await call(server, env_block("health")) == HEALTH_COMMANDS


@pytest.mark.parametrize("script", ["nosuch?x=1", "", "inbound/extra", "health%0AEXEC"])
async def test_unknown_route_is_reported_and_closed(make_server, caplog, script: str) -> None:
    server = await make_server()
    commands = await call(server, env_block(script))
    assert len(commands) == 1 and commands[0].startswith('VERBOSE "hotline FastAGI: no route ')
    assert "no route" in caplog.text
    assert await call(server, env_block("health")) == HEALTH_COMMANDS


async def test_handler_exception_is_logged_and_server_keeps_serving(make_server, caplog) -> None:
    async def boom(session: AgiSession) -> None:
        await session.set_variable("HOTLINE_STEP", "1")
        raise RuntimeError("bug in a route")

    server = await make_server(router_with(boom=boom))
    assert await call(server, env_block("boom")) == ['SET VARIABLE HOTLINE_STEP "1"']
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.levelno == logging.ERROR and isinstance(record.exc_info[1], RuntimeError)
    assert await call(server, env_block("health")) == HEALTH_COMMANDS
    assert server.stats.connections.count == 1


async def test_session_refuses_a_hand_made_multi_line_command(make_server, caplog) -> None:
    async def sneaky(session: AgiSession) -> None:
        await session.command(AgiCommand('NOOP\nEXEC System "rm"'))

    server = await make_server(router_with(sneaky=sneaky))
    assert await call(server, env_block("sneaky")) == []
    [record] = [r for r in caplog.records if r.exc_info]
    assert isinstance(record.exc_info[1], ValueError)


@pytest.mark.parametrize("answer, logged", [
    pytest.param("HANGUP", "hung up", id="hangup"),
    pytest.param("511 Command Not Permitted on a dead channel or intercept routine", "hung up", id="511"),
    pytest.param("510 Invalid or unknown command", "protocol error", id="510"),
    pytest.param("520-Invalid command syntax.  Proper usage follows:\n Usage: x\n520 End of proper usage.",
                 "protocol error", id="520"),
    pytest.param("200 garbage", "protocol error", id="garbage"),
])
async def test_session_ends_at_the_first_failed_command(make_server, caplog, answer: str,
                                                        logged: str) -> None:
    caplog.set_level(logging.INFO, logger="agi_scripts.server")
    server = await make_server()
    assert await call(server, env_block("inbound?dialled=12333"), answer) == INBOUND_COMMANDS[:1]
    assert logged in caplog.text
    assert server.stats.connections.count == 0
    assert await call(server, env_block("inbound?dialled=12333")) == INBOUND_COMMANDS


async def test_unanswered_command_times_out(make_server, caplog) -> None:
    server = await make_server(read_timeout=SHORT)
    async with FakeAsterisk.connect(server) as asterisk:
        asterisk.send(env_block("health"))
        assert await asterisk.next_line() == HEALTH_COMMANDS[0]
        assert await asterisk.next_line() is None
    assert "no answer within" in caplog.text


async def test_get_variable(make_server) -> None:
    values: list[str | None] = []

    async def probe(session: AgiSession) -> None:
        values.append(await session.get_variable("HOTLINE_DIALLED"))
        values.append(await session.get_variable("UNSET"))

    server = await make_server(router_with(probe=probe))
    async with FakeAsterisk.connect(server) as asterisk:
        asterisk.send(env_block("probe"))
        assert await asterisk.next_line() == "GET VARIABLE HOTLINE_DIALLED"
        asterisk.send(b"200 result=1 (12333)\n")
        assert await asterisk.next_line() == "GET VARIABLE UNSET"
        asterisk.send(b"200 result=0\n")
        assert await asterisk.next_line() is None
    assert values == ["12333", None]


# --- capacity and lifecycle ----------------------------------------------------------------

async def test_200_concurrent_calls_are_all_served(make_server) -> None:
    server = await make_server(read_timeout=GUARD)
    results = await asyncio.gather(*(call(server, env_block("inbound?dialled=12333")) for _ in range(200)))
    assert results == [INBOUND_COMMANDS] * 200
    assert server.stats.connections.count == 200
    assert server.stats.commands.count == 800


async def test_connections_over_the_limit_are_closed_at_once(make_server, caplog) -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def hold(session: AgiSession) -> None:
        entered.set()
        await release.wait()

    server = await make_server(router_with(hold=hold), max_connections=1, read_timeout=GUARD)
    async with FakeAsterisk.connect(server) as holder:
        holder.send(env_block("hold"))
        async with asyncio.timeout(GUARD):
            await entered.wait()
        async with FakeAsterisk.connect(server) as refused:
            refused.send(env_block("health"))
            assert await refused.next_line() is None
        release.set()
        assert await holder.next_line() is None
    assert "refusing new ones" in caplog.text
    assert await call(server, env_block("health")) == HEALTH_COMMANDS


async def test_stop_closes_calls_in_progress() -> None:
    entered = asyncio.Event()

    async def hold(session: AgiSession) -> None:
        entered.set()
        await asyncio.Event().wait()

    server = FastAgiServer(router_with(hold=hold), "127.0.0.1", 0, read_timeout=GUARD)
    await server.start()
    async with FakeAsterisk.connect(server) as asterisk:
        asterisk.send(env_block("hold"))
        async with asyncio.timeout(GUARD):
            await entered.wait()
        await server.stop()
        assert await asterisk.next_line() is None
    with pytest.raises(RuntimeError):
        server.bound_port  # noqa: B018  (the property raises once stopped)


async def test_start_twice_is_refused(make_server) -> None:
    server = await make_server()
    with pytest.raises(RuntimeError):
        await server.start()
