"""Faults around the call path: the database dies, Asterisk restarts under the controller."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from . import servers
from .rig import SEATS, SLOT, Stack, wait_for

PG_DIR = Path(f"/tmp/hotline-it-pg-{SLOT}")   # per slot: rigs of several work trees run at once
PG_PORT = 55450 + SLOT


@pytest.fixture
def postgres_controller(stack: Stack) -> Iterator[str]:
    with servers.postgres_controller(stack, PG_DIR, PG_PORT) as url:
        yield url


def test_calls_flow_while_postgres_is_down_and_records_land_when_it_returns(
        stack: Stack, postgres_controller: str) -> None:
    r = stack.call("12345", "13900000101", talk_ms=1500)
    assert r.returncode == 0, r.stdout[-800:]
    assert stack.record_for("13900000101")["outcome"] == "answered"

    servers.pg("stop", str(PG_DIR))
    wait_for("the database reported down", lambda: stack.status()["database"]["ok"] is False)
    r = stack.call("83531111", "13900000102", talk_ms=1500)
    assert r.returncode == 0, r.stdout[-800:]  # the call itself is unaffected
    wait_for("the record waiting in the journal", lambda: stack.status()["journal"]["pending"] >= 1)

    servers.pg("start", str(PG_DIR), str(PG_PORT))
    rec = stack.record_for("13900000102")
    assert rec["outcome"] == "answered" and rec["legacy_mode"] == "merged"
    wait_for("the journal drained", lambda: stack.status()["journal"]["pending"] == 0)
    ids = [c["call_id"] for c in stack.calls()]
    assert ids.count(rec["call_id"]) == 1


def test_controller_reconnects_after_asterisk_restarts(stack: Stack) -> None:
    logins = stack.status()["ami"]["logins"]
    stack.runtime.stop()
    wait_for("AMI reported down", lambda: stack.status()["ami"]["ok"] is False)
    stack.runtime.start()
    wait_for("AMI logged in again", lambda: stack.status()["ami"]["logins"] > logins
             and stack.status()["ami"]["ok"], timeout=40)
    for seat, secret in SEATS.items():
        stack.register(seat, secret)

    def members_available() -> bool:   # qualify again: a late first OPTIONS answer under load
        for seat in SEATS:               # leaves a contact unavailable until the next qualify
            stack.cli(f"pjsip qualify {seat}")
        return stack.cli("queue show hotline").count("(Not in use)") >= len(SEATS)
    wait_for("queue members available", members_available, timeout=30, interval=0.5)
    r = stack.call("12345", "13900000103", talk_ms=1500)
    assert r.returncode == 0, r.stdout[-800:]
    rec = stack.record_for("13900000103")
    assert rec["outcome"] == "answered"
    assert rec["source"] == "live"
