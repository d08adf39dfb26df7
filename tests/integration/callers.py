"""Trunk callers that wait side by side (each from a port of its own) and the queue they wait in.

Shared by tests/integration/test_queue_caller.py and the call-shape catalogue (shapes/)."""

from __future__ import annotations

import re
import subprocess

from .rig import CONTROL_CALLER_MEDIA, CONTROL_CALLER_PORT, Q3_CALLER_PORTS, SIP_PORT, SIPP_DIR, TRUNK_IP, Stack


def start_caller(stack: Stack, number: str, caller: str, slot: int, talk_ms: int,
                 scenario: str = "caller.xml") -> subprocess.Popen[bytes]:
    """A trunk caller that stays on for ``talk_ms`` after the platform answers (it answers before
    queueing), from port ``Q3_CALLER_PORTS[slot]`` so several can wait at once. ``scenario``:
    ``caller_hangs_up.xml`` gives up after ``talk_ms``, ``caller_hears_notice.xml`` waits for the
    platform's BYE. Slot -1 is call control's caller port (CONTROL_CALLER_PORT)."""
    port, media = Q3_CALLER_PORTS[slot] if slot >= 0 else (CONTROL_CALLER_PORT, CONTROL_CALLER_MEDIA)
    return subprocess.Popen(
        ["sipp", "-sf", str(SIPP_DIR / scenario), "-i", TRUNK_IP, "-p", str(port), "-mp", str(media),
         "-s", number, "-key", "caller", caller, "-d", str(talk_ms), "-m", "1", "-nostdin",
         "-timeout", str(talk_ms // 1000 + 60), "-trace_err",
         "-error_file", str(stack.workdir / f"caller-{caller}.err"), f"127.0.0.1:{SIP_PORT}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=stack.workdir)


def waiting(stack: Stack, queue: str) -> int:
    """Callers waiting in ``queue`` as Asterisk has it."""
    m = re.search(r"has (\d+) calls", stack.cli(f"queue show {queue}"))
    return int(m.group(1)) if m else 0


def finish(*callers: subprocess.Popen[bytes], timeout: float = 120) -> list[int]:
    """Wait for each caller's scenario to end (killed after ``timeout``); their exit codes."""
    codes = []
    for c in callers:
        try:
            codes.append(c.wait(timeout))
        except subprocess.TimeoutExpired:
            c.kill()
            codes.append(c.wait())
    return codes
