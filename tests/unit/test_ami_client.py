"""AmiClient over real TCP on 127.0.0.1 against a scripted fake Asterisk manager.

The fake server speaks just enough AMI: greeting, Login, Ping, a scripted
answer to anything else, and events the test pushes. Readiness is always
waited for with events or deadline-bounded polling; no test depends on a sleep
being long enough. GUARD only stops a broken test from hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from hotline.ami import AmiClient, actions
from hotline.ami.parse import StreamSplitter, parse_block

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GUARD = 10.0
BACKOFF = (0.01, 0.05)
GREETING = b"Asterisk Call Manager/11.0.0\r\n"

Responder = Callable[[dict[str, str]], Awaitable[bytes | None]]


def message(**headers: str) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode() + b"\r\n"


def cel_event(name: str, uniqueid: str = "1795444596.1", **extra: str) -> bytes:
    return message(Event="CEL", Privilege="call,all", Timestamp="1795444596.198346", EventName=name,
                   Channel="PJSIP/trunk-carrier-00000001", UniqueID=uniqueid, LinkedID=uniqueid, **extra)


class FakeAmi:
    """The Asterisk side of AMI: one server, any number of (sequential) connections."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.handlers: set[asyncio.Task[Any]] = set()
        self.received: list[dict[str, str]] = []
        self.logins = 0
        self.connections = 0
        self.login_gate: asyncio.Event | None = None  # when set: Login answers wait for it
        self.responder: Responder | None = None       # answers actions other than Login and Ping
        self.changed = asyncio.Condition()

    async def start(self, port: int = 0) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        self.writers.append(writer)
        self.connections += 1
        try:
            writer.write(GREETING)
            await writer.drain()
            while True:
                try:
                    raw = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                headers = dict(line.split(": ", 1) for line in raw.decode().split("\r\n") if ": " in line)
                self.received.append(headers)
                answer = await self._answer(headers)
                if answer:
                    writer.write(answer)
                    await writer.drain()
                async with self.changed:
                    self.changed.notify_all()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self.writers.remove(writer)
            self.handlers.discard(task)
            async with self.changed:
                self.changed.notify_all()

    async def _answer(self, headers: dict[str, str]) -> bytes | None:
        action, aid = headers.get("Action", "").lower(), headers.get("ActionID", "")
        if action == "login":
            if self.login_gate is not None:
                await self.login_gate.wait()
            self.logins += 1
            return message(Response="Success", ActionID=aid, Message="Authentication accepted")
        if action == "ping":
            return message(Response="Success", ActionID=aid, Ping="Pong", Timestamp="1795444596.000000")
        if self.responder is not None:
            return await self.responder(headers)
        return message(Response="Success", ActionID=aid, Message=f"{headers.get('Action')} done")

    async def send(self, data: bytes, chunk: int = 0) -> None:
        """Write to the newest connection, in pieces of ``chunk`` bytes when given."""
        writer = self.writers[-1]
        pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] if chunk else [data]
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            if chunk:
                await asyncio.sleep(0)

    async def drop(self) -> None:
        """Close every client connection from the server side."""
        for writer in list(self.writers):
            writer.close()
        await wait_until(lambda: not self.handlers)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        await self.drop()


async def wait_until(predicate: Callable[[], bool], timeout: float = GUARD) -> None:
    """Poll ``predicate`` until true; fail after ``timeout`` (a guard, never a correctness delay)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def fake() -> AsyncIterator[FakeAmi]:
    server = FakeAmi()
    await server.start()
    yield server
    await server.close()


@contextlib.asynccontextmanager
async def running(port: int, **kwargs: Any) -> AsyncIterator[AmiClient]:
    client = AmiClient("127.0.0.1", port, "hotline", "s3cret", backoff=BACKOFF, **kwargs)
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def logged_in(client: AmiClient) -> None:
    async with asyncio.timeout(GUARD):
        await client.logged_in.wait()


# -- login and events -----------------------------------------------------------------------

async def test_login_sends_credentials_and_runs_on_login(fake: FakeAmi) -> None:
    logins = asyncio.Event()

    async def on_login() -> None:
        logins.set()

    async with running(fake.port, on_login=on_login) as client:
        await logged_in(client)
        async with asyncio.timeout(GUARD):
            await logins.wait()
        assert client.connected
        login = fake.received[0]
        assert (login["Action"], login["Username"], login["Secret"], login["Events"]) == \
            ("Login", "hotline", "s3cret", "on")
        assert (client.stats.connects, client.stats.logins) == (1, 1)
        assert client.status()["ok"] is True


async def test_events_reach_named_and_wildcard_handlers(fake: FakeAmi) -> None:
    named: list[dict[str, str]] = []
    every: list[dict[str, str]] = []
    async with running(fake.port) as client:
        client.on("CEL", named.append)
        client.on("*", every.append)
        await logged_in(client)
        await fake.send(cel_event("CHAN_START") + message(Event="QueueMemberStatus", Queue="hotline")
                        + message(Event="cel", EventName="lowercase-name", UniqueID="1.1", LinkedID="1.1"))
        await wait_until(lambda: len(every) == 3)
        assert [h["Event"] for h in every] == ["CEL", "QueueMemberStatus", "cel"]
        assert [h["EventName"] for h in named] == ["CHAN_START", "lowercase-name"]  # names match any case
        assert named[0]["Channel"] == "PJSIP/trunk-carrier-00000001"
        assert all(isinstance(v, str) for h in every for v in h.values())
        assert client.stats.events == 3


async def test_a_raising_handler_stops_neither_later_handlers_nor_events(fake: FakeAmi,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []

    def broken(headers: dict[str, str]) -> None:
        raise RuntimeError("handler bug")

    async with running(fake.port) as client:
        client.on("CEL", broken)
        client.on("CEL", lambda h: seen.append(h["EventName"]))
        await logged_in(client)
        with caplog.at_level(logging.ERROR, logger="hotline.ami.client"):
            await fake.send(cel_event("CHAN_START") + cel_event("ANSWER") + cel_event("HANGUP"))
            await wait_until(lambda: len(seen) == 3)
        assert seen == ["CHAN_START", "ANSWER", "HANGUP"]
        assert client.stats.handler_errors == 3
        assert "handler bug" in caplog.text
        # the connection survived: same connection, still logged in, still answering
        assert client.connected and client.stats.connects == 1 and fake.connections == 1
        await fake.send(cel_event("CHAN_END"))
        await wait_until(lambda: len(seen) == 4)
        assert (await client.send(actions.ping()))["Ping"] == "Pong"


async def test_a_raising_async_handler_is_counted(fake: FakeAmi) -> None:
    seen: list[str] = []

    async def broken(headers: dict[str, str]) -> None:
        await asyncio.sleep(0)
        raise RuntimeError("async handler bug")

    async def fine(headers: dict[str, str]) -> None:
        seen.append(headers["EventName"])

    async with running(fake.port) as client:
        client.on("CEL", broken)
        client.on("CEL", fine)
        await logged_in(client)
        await fake.send(cel_event("CHAN_START") + cel_event("ANSWER"))
        await wait_until(lambda: client.stats.handler_errors == 2 and len(seen) == 2)
        assert seen == ["CHAN_START", "ANSWER"]
        assert client.connected and fake.connections == 1


async def test_malformed_lines_and_truncated_message_then_valid_ones(fake: FakeAmi) -> None:
    seen: list[dict[str, str]] = []
    async with running(fake.port) as client:
        client.on("*", seen.append)
        await logged_in(client)
        await fake.send(
            b"Event: CEL\r\nthis line has no separator\r\nEventName: ANSWER\r\n\x00\x01garbage\r\n\r\n"
            b"Event: Truncated\r\nChann\r\n\r\n"           # cut inside a header, then terminated
            b"Privilege: call,all\r\nNo: event\r\n\r\n"     # neither Event nor Response: ignored
            b"\r\n\r\n"                                     # empty block
            + cel_event("HANGUP") + b"Event: Bare\nKey: lf\n\n")
        await wait_until(lambda: len(seen) == 4)
        assert [h["Event"] for h in seen] == ["CEL", "Truncated", "CEL", "Bare"]
        # panoramisk's Message adds an empty "content" key to every message
        assert {k: v for k, v in seen[0].items() if k != "content"} == {"Event": "CEL", "EventName": "ANSWER"}
        assert seen[2]["EventName"] == "HANGUP" and seen[3]["Key"] == "lf"
        assert client.stats.malformed_lines == 3
        assert client.connected and fake.connections == 1


async def test_message_in_one_byte_writes_keeps_utf8(fake: FakeAmi) -> None:
    seen: list[dict[str, str]] = []
    async with running(fake.port) as client:
        client.on("Newchannel", seen.append)
        await logged_in(client)
        event = message(Event="Newchannel", Channel="PJSIP/trunk-carrier-00000001", CallerIDNum="13800001111",
                        CallerIDName="张三", Uniqueid="1795444596.1")
        await fake.send(event * 2, chunk=1)
        await wait_until(lambda: len(seen) == 2)
        assert seen[0]["CallerIDName"] == "张三" and seen[1] == seen[0]
        assert client.stats.malformed_lines == 0


# -- reconnecting -------------------------------------------------------------------------

async def test_server_closes_then_client_reconnects_and_logs_in_again(fake: FakeAmi) -> None:
    resyncs: list[int] = []

    async def on_login() -> None:
        resyncs.append(client.stats.logins)

    async with running(fake.port, on_login=on_login) as client:
        await logged_in(client)
        await wait_until(lambda: resyncs == [1])
        fake.login_gate = asyncio.Event()   # hold the next login, to see the client disconnected
        await fake.drop()
        await wait_until(lambda: not client.connected)
        assert client.status()["ok"] is False
        await wait_until(lambda: fake.connections == 2)  # it came back by itself...
        assert not client.connected and client.stats.logins == 1
        fake.login_gate.set()                # ...and logs in once allowed
        await logged_in(client)
        await wait_until(lambda: resyncs == [1, 2])
        assert client.connected
        assert (client.stats.logins, fake.logins) == (2, 2)
        seen: list[str] = []
        client.on("CEL", lambda h: seen.append(h["EventName"]))
        await fake.send(cel_event("CHAN_START"))
        await wait_until(lambda: seen == ["CHAN_START"])


async def test_server_not_listening_at_first() -> None:
    port = free_port()
    fake = FakeAmi()
    try:
        async with running(port) as client:
            await wait_until(lambda: client.stats.connects >= 3)  # refused, retried with backoff
            assert not client.connected and client.stats.logins == 0
            await fake.start(port)
            await logged_in(client)
            assert client.stats.logins == 1 and fake.logins == 1
    finally:
        await fake.close()


def test_backoff_grows_to_the_cap() -> None:
    client = AmiClient("127.0.0.1", 1, "u", "s", backoff=(0.5, 4.0))
    assert [client._next_backoff() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


async def test_backoff_restarts_after_login() -> None:
    port = free_port()
    fake = FakeAmi()
    try:
        async with running(port) as client:
            await wait_until(lambda: client.stats.connects >= 4)  # 0.01, 0.02, 0.04, 0.05 ...
            await fake.start(port)
            await logged_in(client)
            # the first retry after a later loss waits the base delay again
            assert client._manager.reconnect_timeout == BACKOFF[0]
    finally:
        await fake.close()


async def test_failing_on_login_is_logged_not_fatal(fake: FakeAmi, caplog: pytest.LogCaptureFixture) -> None:
    async def on_login() -> None:
        raise RuntimeError("resync failed")

    seen: list[str] = []
    async with running(fake.port, on_login=on_login) as client:
        client.on("CEL", lambda h: seen.append(h["EventName"]))
        with caplog.at_level(logging.ERROR, logger="hotline.ami.client"):
            await logged_in(client)
            await wait_until(lambda: "resync failed" in caplog.text)
        await fake.send(cel_event("ANSWER"))
        await wait_until(lambda: seen == ["ANSWER"])
        assert client.connected


# -- actions ------------------------------------------------------------------------------

async def test_send_returns_the_response_with_the_matching_action_id(fake: FakeAmi) -> None:
    held: list[dict[str, str]] = []

    async def responder(headers: dict[str, str]) -> bytes | None:
        # hold the first action; answer both, the second first, when the second arrives
        held.append(headers)
        if len(held) < 2:
            return None
        return b"".join(message(Response="Success", ActionID=h["ActionID"], Message=f"for {h['Action']}")
                        for h in reversed(held))

    fake.responder = responder
    async with running(fake.port) as client:
        await logged_in(client)
        status_resp, summary_resp = await asyncio.gather(client.send(actions.queue_status("hotline")),
                                                         client.send(actions.queue_summary("hotline")))
        sent = {h["Action"]: h for h in held}
        assert status_resp["Message"] == "for QueueStatus"
        assert status_resp["ActionID"] == sent["QueueStatus"]["ActionID"]
        assert summary_resp["Message"] == "for QueueSummary"
        assert summary_resp["ActionID"] == sent["QueueSummary"]["ActionID"]
        assert sent["QueueStatus"]["ActionID"] != sent["QueueSummary"]["ActionID"]
        assert sent["QueueStatus"]["Queue"] == "hotline"
        assert status_resp.success


async def test_send_times_out_when_no_answer_comes(fake: FakeAmi) -> None:
    async def responder(headers: dict[str, str]) -> None:
        return None

    fake.responder = responder
    async with running(fake.port) as client:
        await logged_in(client)
        with pytest.raises(TimeoutError):
            await client.send(actions.queue_status(), timeout=0.05)
        assert client.connected


async def test_send_a_list_response(fake: FakeAmi) -> None:
    async def responder(headers: dict[str, str]) -> bytes:
        aid = headers["ActionID"]
        return (message(Response="Success", ActionID=aid, EventList="start", Message="Channels will follow")
                + message(Event="CoreShowChannel", ActionID=aid, Channel="PJSIP/trunk-carrier-00000001")
                + message(Event="CoreShowChannel", ActionID=aid, Channel="PJSIP/1001-00000002")
                + message(Event="CoreShowChannelsComplete", ActionID=aid, EventList="Complete", ListItems="2"))

    fake.responder = responder
    seen: list[str] = []
    async with running(fake.port) as client:
        client.on("*", lambda h: seen.append(h["Event"]))
        await logged_in(client)
        resp = await client.send(actions.core_show_channels())
        assert [m.get("Event") for m in resp if m.get("Event") == "CoreShowChannel"] == ["CoreShowChannel"] * 2
        assert seen == []  # answers to an action are not events


async def test_send_when_not_connected_raises() -> None:
    client = AmiClient("127.0.0.1", free_port(), "u", "s", backoff=BACKOFF)
    with pytest.raises(ConnectionError):
        await client.send(actions.ping())


# -- stopping -----------------------------------------------------------------------------

async def test_stop_closes_the_connection_and_does_not_reconnect(fake: FakeAmi) -> None:
    client = AmiClient("127.0.0.1", fake.port, "u", "s", backoff=BACKOFF)
    await client.start()
    await logged_in(client)
    await client.stop()
    assert not client.connected
    await wait_until(lambda: not fake.handlers)  # the server saw the connection close
    connects = client.stats.connects
    # nothing comes back: give a reconnect many backoff periods to (wrongly) happen
    await asyncio.sleep(BACKOFF[1] * 4)
    assert client.stats.connects == connects and fake.connections == 1


async def test_stop_while_reconnecting_stops_retrying() -> None:
    port = free_port()
    client = AmiClient("127.0.0.1", port, "u", "s", backoff=BACKOFF)
    await client.start()
    await wait_until(lambda: client.stats.connects >= 2)
    await client.stop()
    connects = client.stats.connects
    fake = FakeAmi()
    try:
        await fake.start(port)  # a server appears after stop(): the client must not use it
        await asyncio.sleep(BACKOFF[1] * 4)
        assert client.stats.connects == connects and fake.connections == 0
    finally:
        await fake.close()


async def test_stop_with_a_pending_async_handler(fake: FakeAmi) -> None:
    started = asyncio.Event()

    async def slow(headers: dict[str, str]) -> None:
        started.set()
        await asyncio.Event().wait()

    async with running(fake.port) as client:
        client.on("CEL", slow)
        await logged_in(client)
        await fake.send(cel_event("ANSWER"))
        async with asyncio.timeout(GUARD):
            await started.wait()
    # leaving the block stopped the client; filterwarnings=error fails the test on a
    # "Task was destroyed but it is pending" or an unclosed transport


async def test_stop_before_start_and_twice_is_harmless(fake: FakeAmi) -> None:
    client = AmiClient("127.0.0.1", fake.port, "u", "s", backoff=BACKOFF)
    await client.stop()
    await client.start()
    await logged_in(client)
    await client.stop()
    await client.stop()
    assert not client.connected


async def test_start_again_after_stop(fake: FakeAmi) -> None:
    client = AmiClient("127.0.0.1", fake.port, "u", "s", backoff=BACKOFF)
    await client.start()
    await logged_in(client)
    await client.stop()
    await client.start()
    try:
        await logged_in(client)
        assert client.stats.logins == 2 and fake.logins == 2
        await fake.drop()  # and it still reconnects after a loss
        await wait_until(lambda: fake.logins == 3 and client.connected)
    finally:
        await client.stop()


# -- the real capture -----------------------------------------------------------------------

def _ami_fixture_events() -> bytes:
    """The captured stream after the greeting and login answer, with Asterisk's CRLF."""
    raw = (FIXTURES / "ami" / "answered_merged_call.txt").read_bytes()
    assert b"\r\n" not in raw
    body = raw[raw.index(b"Event: FullyBooted"):]
    return body.replace(b"\n", b"\r\n")


def _fixture_headers() -> list[dict[str, str]]:
    """The capture's events as the pure parser reads them from the whole stream at once."""
    return [parse_block(b)[0] for b in StreamSplitter().feed(_ami_fixture_events())]


@pytest.mark.parametrize("chunk", [0, 1, 7, 1000], ids=["whole", "1-byte", "7-byte", "1000-byte"])
async def test_replayed_capture_reaches_handlers_whole_in_any_chunking(fake: FakeAmi, chunk: int) -> None:
    """Asterisk's real stream (a merged-number call: CEL, Newchannel, queue events ...) cut at any
    byte gives the handlers exactly the events the parser reads from the whole capture."""
    seen: list[dict[str, str]] = []
    async with running(fake.port) as client:
        client.on("*", lambda h: seen.append({k: v for k, v in h.items() if k != "content"}))
        await logged_in(client)
        before = len(seen)
        await fake.send(_ami_fixture_events(), chunk=chunk)
        await wait_until(lambda: len(seen) >= before + 24)
        assert client.stats.malformed_lines == 0 and client.stats.handler_errors == 0
    expected = _fixture_headers()
    assert len(expected) == 24
    assert seen[before:] == expected
    assert [h["EventName"] for h in seen[before:] if h["Event"] == "CEL"][:2] == ["CHAN_START", "USER_DEFINED"]
