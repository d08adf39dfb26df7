"""Issue #8, the fault matrix on a live stack: every call that entered has exactly one record.

Each case injects one fault while real calls flow, then checks against Asterisk's own count:
the trunk calls that entered are the ``CHAN_START`` lines of the CEL log(s) whose channel was
created in a ``from-trunk-*`` context and whose Uniqueid is the Linkedid (the conversation's
first leg). Records == those calls, by id, with no duplicate, and no caller's call failed
because of the controller. These tests read /status only where the fault itself needs it (to
see the fault took effect); the counts come from the CEL log and /api/calls.

The matrix (issue #8), and where each row lives:

| fault | test |
| --- | --- |
| controller kill -9 during 60 calls | ``test_controller_killed_during_60_calls`` (here) |
| Asterisk kill -9 mid-call, restarted | ``test_record_faults.py::test_a_call_cut_by_an_asterisk_kill_…`` |
| database down 60 s (PostgreSQL) | ``test_database_down_60_s`` (here) |
| Redis down 60 s | ``test_redis_down_60_s`` (here) |
| journal disk full | ``test_disk.py::test_with_the_state_disk_full_…`` |
| CEL log rotated with the controller down | ``test_record_faults.py::test_cel_log_rotated_while_…`` |
| two controllers on one state directory | ``test_two_controllers_on_one_state_directory`` (here) |
| FastAGI stopped, killed, unread, its port taken | ``test_routing_bound.py`` |

Each row checks records == the calls Asterisk saw (``groundtruth.assert_exactly_once``).
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from . import servers
from .groundtruth import assert_exactly_once, entered_calls
from .rig import CALLER_MEDIA, SEATS, SIP_PORT, SIPP_DIR, SLOT, TRUNK_IP, TRUNK_PORT, Stack, wait_for


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


def test_database_down_60_s(stack: Stack) -> None:
    pg_dir, pg_port = Path(f"/tmp/hotline-it-pg-matrix-{SLOT}"), 55440 + SLOT
    with servers.postgres_controller(stack, pg_dir, pg_port):
        t0 = time.time()
        servers.pg("stop", str(pg_dir))
        down_until = time.monotonic() + 60
        p = load(stack, 20, 0.4, "13900007101")   # 20 calls over the 60 s outage
        while time.monotonic() < down_until:      # the outage lasts 60 s whatever the calls do
            time.sleep(1)
        servers.pg("start", str(pg_dir), str(pg_port))
        finished_ok(p, "calls while the database was down")
        assert_exactly_once(stack, t0, 20)


def test_redis_down_60_s(stack: Stack, tmp_path: Path) -> None:
    rdir, port = tmp_path / "redis", 56400 + SLOT
    try:
        with servers.redis_site(stack, rdir, port):
            for seat in SEATS:
                stack.login_seat(seat)
            t0 = time.time()
            servers.redis("stop", str(rdir))
            down_until = time.monotonic() + 60
            p = load(stack, 20, 0.4, "13900007201")
            while time.monotonic() < down_until:
                time.sleep(1)
            servers.redis("start", str(rdir), str(port))
            finished_ok(p, "calls while Redis was down")
            assert_exactly_once(stack, t0, 20)
    finally:
        for seat in SEATS:
            stack.login_seat(seat)


def test_two_controllers_on_one_state_directory(stack: Stack) -> None:
    """A second controller started on the running one's state directory is refused with a clear
    error at once; the calls flowing meanwhile are recorded once each (no journal line cut)."""
    import sys
    t0 = time.time()
    p = load(stack, 10, 2, "13900007301")
    wait_for("calls flowing", lambda: len(entered_calls(stack, t0)) >= 3, timeout=30, interval=0.2)
    second = subprocess.run(
        [sys.executable, "-m", "hotline", "--site", str(stack.site_file), "--state-dir",
         str(stack.paths.state_dir), "serve"],
        capture_output=True, text=True, timeout=60)
    assert second.returncode != 0
    assert "state-dir-locked" in second.stderr + second.stdout, second.stderr[-600:]
    assert str(stack.paths.state_dir) in second.stderr + second.stdout
    finished_ok(p, "calls while a second controller was refused")
    assert_exactly_once(stack, t0, 10)
