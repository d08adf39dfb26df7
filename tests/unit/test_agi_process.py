"""The FastAGI process and its supervisor (hotline/agi_process.py), with real child processes.

Issue #8: the child once reported into a pipe only GET /status drained; unread, it blocked and
every call waited on it. Now it reports into shared memory, and the supervisor replaces a child
that died or stopped making progress.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time

import pytest

from hotline.agi_process import AgiProcess
from hotline.config import parse_site
from hotline.exceptions import HotlineError

SITE = parse_site({"trunks": [{"name": "carrier", "host": "127.0.0.2"}],
                   "seats": [{"id": "1001", "name": "s", "secret": "seat-secret-1001"}]}, "<test>")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _agi_round_trip(port: int) -> bytes:
    """What a FastAGI client (Asterisk) gets back for a minimal environment."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(b"agi_network: yes\nagi_network_script: inbound?dialled=12345\nagi_request: "
                  b"agi://127.0.0.1/inbound?dialled=12345\nagi_channel: PJSIP/trunk-carrier-00000001\n"
                  b"agi_callerid: 13800001111\n\n")
        first, buf = b"", b""
        while True:   # answer every command as Asterisk would, until the server hangs up
            chunk = c.recv(4096)
            if not chunk:
                return first
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                first = first or line
                c.sendall(b"200 result=1\n")


async def _replaced(agi: AgiProcess, old: int) -> None:
    """Until the supervisor has a new child up in place of ``old`` (at most 10 s)."""
    for _ in range(400):
        if agi.pid != old and agi.status()["ok"]:
            return
        await asyncio.sleep(0.025)


@pytest.fixture
def agi():
    proc = AgiProcess(SITE.model_dump(mode="json"), "127.0.0.1", _free_port(), read_timeout=1.0,
                      report_every=0.005, stall_after=0.6)
    yield proc
    proc.stop()


def test_an_unread_child_keeps_answering(agi: AgiProcess) -> None:
    agi.start()
    port = agi.port
    assert port
    # 400 reports at 5 ms with nobody reading: a pipe would have filled long before.
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        time.sleep(0.1)
    assert _agi_round_trip(port).startswith(b"SET VARIABLE")   # the route, at once
    deadline = time.monotonic() + 10.0   # the closed connection is counted on the child's next turn
    while agi.status()["connections"] < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    st = agi.status()
    assert st["ok"] is True and st["connections"] == 1 and st["heartbeat_age_s"] < 0.6


async def test_a_stopped_child_is_detected_and_replaced(agi: AgiProcess) -> None:
    agi.start()
    old = agi.pid
    assert old is not None
    os.kill(old, signal.SIGSTOP)
    task = asyncio.create_task(agi.supervise(check_every=0.05))
    try:
        await _replaced(agi, old)
        st = agi.status()
        assert agi.pid != old and st["ok"] is True and st["restarts"] == 1
        assert st["last_restart"]["reason"].startswith("stalled")
        assert _agi_round_trip(agi.port or 0)
    finally:
        task.cancel()
    with pytest.raises(ProcessLookupError):
        os.kill(old, 0)   # killed and reaped, not left stopped


async def test_a_killed_child_is_replaced(agi: AgiProcess) -> None:
    agi.start()
    old = agi.pid
    assert old is not None
    os.kill(old, signal.SIGKILL)
    task = asyncio.create_task(agi.supervise(check_every=0.05))
    try:
        await _replaced(agi, old)
        st = agi.status()
        assert st["ok"] is True and st["restarts"] == 1 and st["last_restart"]["reason"].startswith("exited")
    finally:
        task.cancel()


async def test_a_taken_port_is_an_error_then_retried(agi: AgiProcess) -> None:
    port = agi._args[2]
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", port))
    squatter.listen(1)
    try:
        with pytest.raises(HotlineError, match=f"cannot listen on 127.0.0.1:{port}"):
            agi.start()
        st = agi.status()
        assert st["ok"] is False and "cannot listen" in st["error"]
    finally:
        squatter.close()
    task = asyncio.create_task(agi.supervise(check_every=0.05))
    try:
        for _ in range(400):
            if agi.status()["ok"]:
                break
            await asyncio.sleep(0.025)
        assert agi.status()["ok"] is True and agi.port == port
    finally:
        task.cancel()
