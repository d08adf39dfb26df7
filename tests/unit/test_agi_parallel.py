"""Issue #4 in the FastAGI server: the ``parallel`` route (is the department open now?) and
the priority of calls 110 diverts to 12345. Pure policy tables, then the route over TCP."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from agi_scripts.decide import RouteDecision, decide_route, department_open
from agi_scripts.routes import build_router
from agi_scripts.server import FastAgiServer
from agi_scripts.signature import route_signature
from hotline.config import parse_site
from trunk_config import GenerateOptions, generate

SH = ZoneInfo("Asia/Shanghai")
SITE = parse_site({
    "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
    "departments": [
        {"id": "renshe", "name": "人社局", "queue": "renshe",
         "hours": {"days": "workdays", "start": "08:30", "end": "17:30"}},
        {"id": "shuiwu", "name": "税务局", "hours": {"days": "daily", "start": "08:00", "end": "20:00"}},
        {"id": "jiaotong", "name": "交通局"},
    ],
    "queues": [{"name": "hotline"}, {"name": "renshe"}, {"name": "urgent"}],
    "legacy_numbers": [
        {"number": "12333", "mode": "parallel", "department": "renshe"},
        {"number": "12366", "mode": "parallel", "department": "shuiwu"},
        {"number": "12328", "mode": "parallel", "department": "jiaotong"},
        {"number": "83531111", "mode": "merged", "department": "renshe"},
    ],
    "diversion_110": {"numbers": ["85110110", "85110111"], "priority": 20},
})


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


# --- the priority of diverted calls ----------------------------------------------------

@pytest.mark.parametrize("dialled, expected", [
    ("85110110", RouteDecision("hotline", 20, "diverted-110")),
    ("85110111", RouteDecision("hotline", 20, "diverted-110")),
    ("12345", RouteDecision("hotline", 0, "hotline")),
    ("12333", RouteDecision("renshe", 0, "parallel-number")),
    ("83531111", RouteDecision("renshe", 0, "merged-number")),
    ("8511011", RouteDecision("hotline", 0, "unknown-number")),   # a prefix is not the number
    ("", RouteDecision("hotline", 0, "unknown-number")),
])
def test_diverted_calls_get_the_configured_priority(dialled: str, expected: RouteDecision) -> None:
    assert decide_route(SITE, dialled, "13800138000") == expected
    assert decide_route(SITE, dialled, "anonymous") == expected


def test_the_agi_priority_agrees_with_the_static_dialplan_priority() -> None:
    """The dialplan sets __HOTLINE_PRIO for diverted numbers (fail-open); the AGI's
    HOTLINE_ROUTE_PRIORITY replaces it, so both must say the same."""
    ext = generate(SITE, GenerateOptions(ami_secret="x" * 16, recordings_dir="/r"))["extensions.conf"]
    for number in SITE.diversion_110.numbers:
        block = ext[ext.index(f"[hotline-in-{number}]"):].split("\n\n")[0]
        static = int(re.search(r"Set\(__HOTLINE_PRIO=([0-9]+)\)", block).group(1))  # type: ignore[union-attr]
        assert decide_route(SITE, number, "13800138000").priority == static


def test_the_default_diversion_priority() -> None:
    site = parse_site({"trunks": [{"name": "c", "host": "127.0.0.2"}], "diversion_110": {"numbers": ["85110110"]}})
    assert decide_route(site, "85110110", "anonymous") == RouteDecision("hotline", 10, "diverted-110")


# --- is the department open? --------------------------------------------------------------

@pytest.mark.parametrize("now, renshe, shuiwu, jiaotong", [
    (local("2026-11-23T10:00"), True, True, True),      # Monday morning
    (local("2026-11-23T08:15"), False, True, True),     # before 08:30, after 08:00
    (local("2026-11-23T19:00"), False, True, True),
    (local("2026-11-23T22:00"), False, False, True),    # night: only the 7x24 department
    (local("2026-11-21T10:00"), False, True, True),     # Saturday
    (local("2026-10-01T10:00"), False, True, True),     # National Day
    (local("2026-10-10T10:00"), True, True, True),      # Saturday, make-up working day (调休)
    (datetime(2026, 11, 23, 2, 0, tzinfo=UTC), True, True, True),   # 10:00 in Shanghai
    (datetime(2026, 11, 23, 10, 0, tzinfo=UTC), False, True, True),  # 18:00 in Shanghai
])
def test_department_open(now: datetime, renshe: bool, shuiwu: bool, jiaotong: bool) -> None:
    assert department_open(SITE, "12333", now) is renshe
    assert department_open(SITE, "12366", now) is shuiwu
    assert department_open(SITE, "12328", now) is jiaotong


@pytest.mark.parametrize("dialled", ["83531111", "12345", "99999", "", "85110110"])
def test_anything_but_a_parallel_number_is_open(dialled: str) -> None:
    """Fail-open: the dialplan rings the department unless told it is closed."""
    assert department_open(SITE, dialled, local("2026-10-01T03:00")) is True


# --- the route over TCP ------------------------------------------------------------------

def env_block(script: str, **values: str) -> bytes:
    fields = {"agi_network": "yes", "agi_network_script": script, "agi_request": f"agi://127.0.0.1:4573/{script}",
              "agi_channel": "PJSIP/trunk-carrier-00000001", "agi_uniqueid": "1795444596.1",
              "agi_callerid": "13800138000", "agi_calleridname": "caller", "agi_context": "hotline-parallel",
              "agi_extension": "s", "agi_priority": "2"}
    fields.update(values)
    return "".join(f"{k}: {v}\n" for k, v in fields.items()).encode() + b"\n"


@contextlib.asynccontextmanager
async def serving(now: datetime) -> AsyncIterator[FastAgiServer]:
    server = FastAgiServer(build_router(SITE, clock=lambda: now), "127.0.0.1", 0, read_timeout=1.0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def converse(server: FastAgiServer, env: bytes) -> list[str]:
    """Play Asterisk: send the environment, answer every command with success, until closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.bound_port)
    commands = []
    try:
        writer.write(env)
        async with asyncio.timeout(10):
            while line := await reader.readline():
                commands.append(line.decode().rstrip("\n"))
                writer.write(b"200 result=1\n")
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return commands


@pytest.mark.parametrize("now, script, value", [
    (local("2026-11-23T10:00"), "parallel?dialled=12333", "1"),
    (local("2026-11-21T10:00"), "parallel?dialled=12333", "0"),    # Saturday
    (local("2026-10-01T10:00"), "parallel?dialled=12333", "0"),    # National Day
    (local("2026-10-01T10:00"), "parallel?dialled=12366", "1"),    # daily hours
    (local("2026-10-01T03:00"), "parallel?dialled=12328", "1"),    # 7x24
    (local("2026-10-01T03:00"), "parallel?dialled=8353%2B", "1"),  # garbage: fail-open
])
async def test_parallel_route_sets_caller_then_open(now: datetime, script: str, value: str) -> None:
    async with serving(now) as server:
        commands = await converse(server, env_block(script))
    sig = route_signature("", "", {"HOTLINE_DEPT_OPEN": value})   # no key, no nonce in this request
    assert commands == ['SET VARIABLE HOTLINE_CALLER "13800138000"', f'SET VARIABLE HOTLINE_DEPT_OPEN "{value}"',
                        f'SET VARIABLE HOTLINE_ROUTE_SIG "{sig}"']


async def test_parallel_route_falls_back_to_the_extension_and_sanitises_the_caller() -> None:
    async with serving(local("2026-11-21T10:00")) as server:
        commands = await converse(server, env_block("parallel", agi_extension="12333",
                                                    agi_callerid='139"\nEXEC System rm'))
    assert commands[:2] == ['SET VARIABLE HOTLINE_CALLER "anonymous"', 'SET VARIABLE HOTLINE_DEPT_OPEN "0"']
    assert commands[2].startswith("SET VARIABLE HOTLINE_ROUTE_SIG ") and len(commands) == 3


def test_the_route_table_has_parallel() -> None:
    router = build_router(SITE)
    assert router.resolve("parallel") is not None
    assert router.resolve("parallel/x") is None
