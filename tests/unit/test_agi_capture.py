"""Replay a FastAGI session captured from Asterisk 22.10 (tests/fixtures/agi/asterisk22_inbound_capture.txt).

The capture was taken with a recording server on the FastAGI port while a sipp caller dialled the
merged number 83531111 through the trunk: ``<`` lines are what Asterisk sent (its environment
block and its answers), ``>`` lines what the recording server sent. Our server, given the same
environment, must send the same commands, and must read Asterisk's real answers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from agi_scripts.protocol import parse_env, parse_response
from agi_scripts.routes import build_router
from agi_scripts.server import FastAgiServer
from hotline.config import parse_site

CAPTURE = Path(__file__).resolve().parents[1] / "fixtures" / "agi" / "asterisk22_inbound_capture.txt"

SITE = parse_site({
    "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
    "departments": [{"id": "chengjian", "name": "城建局"}],
    "legacy_numbers": [{"number": "83531111", "mode": "merged", "department": "chengjian"}],
})


def _capture() -> tuple[list[bytes], list[tuple[bytes, bytes]]]:
    env: list[bytes] = []
    exchanges: list[tuple[bytes, bytes]] = []
    lines = CAPTURE.read_bytes().splitlines(keepends=True)
    i = 0
    while lines[i] != b"< \n":
        env.append(lines[i][2:])
        i += 1
    env.append(b"\n")
    i += 1
    while i < len(lines):
        cmd, answer = lines[i], lines[i + 1]
        assert cmd.startswith(b"> ") and answer.startswith(b"< ")
        exchanges.append((cmd[2:], answer[2:]))
        i += 2
    return env, exchanges


def test_the_capture_parses_with_our_protocol_code() -> None:
    env, exchanges = _capture()
    parsed = parse_env(env)
    assert parsed["agi_network_script"] == "inbound?dialled=83531111"
    assert parsed["agi_callerid"] == "13800003333"
    assert parsed["agi_accountcode"] == ""
    assert parsed["agi_version"].startswith("22.")
    answers = [parse_response([a.decode().rstrip("\n")]) for _, a in exchanges[:4]]
    assert [a.code for a in answers] == [200, 200, 200, 200]
    assert answers[3].data == "83531111"


async def test_our_server_sends_what_the_capture_expects() -> None:
    env, exchanges = _capture()
    server = FastAgiServer(build_router(SITE), "127.0.0.1", 0, read_timeout=2.0)
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.bound_port)
        writer.write(b"".join(env))
        sent = []
        for _cmd, answer in exchanges[:3]:  # the route's three SET VARIABLE commands
            sent.append(await asyncio.wait_for(reader.readline(), 5))
            writer.write(answer)
        await writer.drain()
        signature = await asyncio.wait_for(reader.readline(), 5)   # issue #9: the route's signature, last
        writer.write(b"200 result=1\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.readline(), 5) == b""  # the route is done: closed
        writer.close()
        await writer.wait_closed()
    finally:
        await server.stop()
    assert sent == [cmd for cmd, _ in exchanges[:3]]
    assert signature.startswith(b'SET VARIABLE HOTLINE_ROUTE_SIG "') and len(signature.strip()) == 73
