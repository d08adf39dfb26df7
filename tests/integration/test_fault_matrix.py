"""Issue #8, the fault matrix on a live stack: every call that entered has exactly one record.

Each case injects one fault while real calls flow, then checks against Asterisk's own count:
the trunk calls that entered are the ``CHAN_START`` lines of the CEL log(s) whose channel was
created in a ``from-trunk-*`` context and whose Uniqueid is the Linkedid (the conversation's
first leg). Records == those calls, by id, with no duplicate, and no caller's call failed
because of the controller. These tests read /status only where the fault itself needs it (to
see the fault took effect); the counts come from the CEL log and /api/calls.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from .rig import (SEATS, SIP_PORT, SIPP_DIR, SLOT, TRUNK_IP, TRUNK_PORT, CALLER_MEDIA, REPO, Stack, http_json,
                  wait_for)


# -- the ground truth and the check -------------------------------------------------------
def entered_calls(stack: Stack, since: float) -> list[str]:
    """Linkedids of trunk calls that entered since ``since`` (epoch s), from the CEL log and any
    rotated copies beside it. Unparseable lines (a hostile caller-ID written raw) are skipped."""
    log = stack.runtime.cel_log
    out: list[str] = []
    for path in sorted(log.parent.glob(log.name + "*")):
        if path.suffix == ".gz":
            continue
        for raw in path.read_bytes().splitlines():
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            if (ev.get("eventtype") == "CHAN_START" and str(ev.get("context", "")).startswith("from-trunk-")
                    and ev.get("uniqueid") == ev.get("linkedid") and float(ev.get("eventtime", 0)) >= since):
                out.append(ev["linkedid"])
    return out


def records_since(stack: Stack, since: float) -> list[dict]:
    start = datetime.fromtimestamp(since, tz=UTC).isoformat().replace("+00:00", "Z")
    items: list[dict] = []
    offset = 0
    while True:
        code, body = http_json("GET", f"{stack.api}/api/calls?start={start}&limit=500&offset={offset}")
        if code == 503:   # the database is back but not serving yet: wait_for tries again
            raise ValueError(f"store unavailable: {body}")
        assert code == 200, body
        items += body["items"]
        if len(body["items"]) < 500:
            return items
        offset += 500


def assert_exactly_once(stack: Stack, since: float, expected: int, timeout: float = 120.0) -> list[dict]:
    """Wait until every call that entered since ``since`` has its record; then no duplicates and
    no record of a call that did not enter."""
    entered = entered_calls(stack, since)
    assert len(entered) == expected, f"Asterisk saw {len(entered)} trunk calls, expected {expected}"
    assert len(set(entered)) == len(entered)

    def complete() -> list[dict] | None:
        recs = [r for r in records_since(stack, since) if r["call_id"] in set(entered)]
        return recs if {r["call_id"] for r in recs} == set(entered) else None
    try:
        recs = wait_for(f"records for all {expected} calls", complete, timeout=timeout, interval=1.0)
    except AssertionError:
        have = {r["call_id"] for r in records_since(stack, since)}
        raise AssertionError(f"missing records: {sorted(set(entered) - have)}") from None
    ids = [r["call_id"] for r in records_since(stack, since)]
    dups = {i for i in ids if ids.count(i) > 1}
    assert not dups, f"duplicate records: {dups}"
    assert set(ids) == set(entered), f"records of calls Asterisk never saw: {set(ids) - set(entered)}"
    return recs


def load(stack: Stack, calls: int, rate: float, caller: str, *, talk_ms: int = 500,
         number: str = "12345") -> subprocess.Popen[bytes]:
    """``calls`` calls at ``rate`` per second from the carrier, each talking ``talk_ms``."""
    return subprocess.Popen(
        ["sipp", "-sf", str(SIPP_DIR / "caller.xml"), "-i", TRUNK_IP, "-p", str(TRUNK_PORT), "-mp",
         str(CALLER_MEDIA), "-s", number, "-key", "caller", caller, "-d", str(talk_ms), "-m", str(calls),
         "-r", str(rate), "-l", "40", "-nostdin", "-timeout", "240", "-trace_err", "-trace_stat", "-fd", "1",
         "-error_file", str(stack.workdir / f"load-{caller}.err"), f"127.0.0.1:{SIP_PORT}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=stack.workdir)


def finished_ok(p: subprocess.Popen[bytes], what: str, timeout: float = 300) -> None:
    assert p.wait(timeout) == 0, f"{what}: sipp reported failed calls (exit {p.returncode})"


# -- the cases ----------------------------------------------------------------------------
def test_controller_killed_during_60_calls(stack: Stack) -> None:
    t0 = time.time()
    p = load(stack, 60, 4, "13900007001")
    wait_for("a third of the calls in", lambda: len(entered_calls(stack, t0)) >= 20, timeout=60, interval=0.2)
    assert stack.controller is not None
    stack.controller.send_signal(signal.SIGKILL)
    stack.controller.wait(10)
    stack.controller = None
    time.sleep(2)   # the fault's length: calls keep arriving with nobody behind FastAGI or the journal
    stack.start_controller()
    finished_ok(p, "60 calls across a controller kill -9")
    recs = assert_exactly_once(stack, t0, 60)
    # Each caller hangs up 0.5 s after the platform answers, so with two seats most leave the
    # queue before a seat is free: answered or abandoned in the queue, never failed or stuck
    # before it (calls made while the controller was dead failed open to the queue).
    outcomes = {r["outcome"] for r in recs}
    assert outcomes <= {"answered", "abandoned_in_queue"} and "answered" in outcomes, outcomes
    assert all(r["queued_at"] is not None for r in recs)


def _pg(*args: str) -> str:
    r = subprocess.run([str(REPO / "scripts" / "pg.sh"), *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_database_down_60_s(stack: Stack) -> None:
    if not list(Path("/usr/lib/postgresql").glob("*/bin/postgres")):
        pytest.skip("PostgreSQL server binaries not installed (scripts/test.sh installs them)")
    pg_dir, pg_port = Path(f"/tmp/hotline-it-pg-matrix-{SLOT}"), 55440 + SLOT
    url = _pg("start", str(pg_dir), str(pg_port))
    stack.stop_controller()
    stack.start_controller("--set", f"store.url={url}")
    try:
        t0 = time.time()
        _pg("stop", str(pg_dir))
        down_until = time.monotonic() + 60
        p = load(stack, 20, 0.4, "13900007101")   # 20 calls over the 60 s outage
        while time.monotonic() < down_until:      # the outage lasts 60 s whatever the calls do
            time.sleep(1)
        _pg("start", str(pg_dir), str(pg_port))
        finished_ok(p, "calls while the database was down")
        assert_exactly_once(stack, t0, 20)
    finally:
        stack.stop_controller()
        _pg("stop", str(pg_dir))
        stack.start_controller()


def _redis(*args: str) -> str:
    return subprocess.run(["bash", str(REPO / "scripts" / "redis.sh"), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_redis_down_60_s(stack: Stack, tmp_path: Path) -> None:
    import shutil
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (scripts/test.sh)")
    rdir, port = tmp_path / "redis", 56400 + SLOT
    url = _redis("start", str(rdir), str(port))
    previous = stack.site_file.read_text(encoding="utf-8")
    data = yaml.safe_load(previous)
    data["redis"] = {"url": url}
    try:
        stack.apply_site_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
        for seat in SEATS:
            stack.login_seat(seat)
        t0 = time.time()
        _redis("stop", str(rdir))
        down_until = time.monotonic() + 60
        p = load(stack, 20, 0.4, "13900007201")
        while time.monotonic() < down_until:
            time.sleep(1)
        _redis("start", str(rdir), str(port))
        finished_ok(p, "calls while Redis was down")
        assert_exactly_once(stack, t0, 20)
    finally:
        _redis("stop", str(rdir))
        stack.restore_site(previous)
        for seat in SEATS:
            stack.login_seat(seat)
