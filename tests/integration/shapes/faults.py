"""Shapes across a fault mid-call: the controller killed and restarted, Asterisk killed and restarted."""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime
from typing import Any

from ..callers import finish
from ..rig import Stack, wait_for
from .ctx import CITY_SEATS, Ctx
from .model import ANSWERED_IN_15S, Expect, Shape


def answered_live(ctx: Ctx, n: int) -> dict[str, Any]:
    """Caller ``n``'s live call once a seat answered it (/api/calls/live)."""
    return wait_for(f"caller {n} answered by a seat", lambda: next(
        (c for c in ctx.live() if c["caller_number"] == ctx.caller(n) and c.get("seat")), None), timeout=30)


def controller_restart(stack: Stack, ctx: Ctx) -> list[Expect]:
    """The controller is killed (-9) while a seat talks; the caller hangs up while it is down; the
    restarted controller rebuilds the call from the CEL log."""
    caller = ctx.start("12345", 1, talk_ms=6000)
    answered_live(ctx, 1)
    assert stack.controller is not None
    stack.controller.send_signal(signal.SIGKILL)
    stack.controller.wait(10)
    stack.controller = None
    try:
        assert finish(caller) == [0]
    finally:
        stack.start_controller()
    return [Expect(ctx.caller(1), "answered", "12345", "hotline", ANSWERED_IN_15S, seats=CITY_SEATS, wait=(0, 5),
                   talk=(4, 6.1), fields={"source": "cel-reconcile"})]


def asterisk_restart(stack: Stack, ctx: Ctx) -> list[Expect]:
    """Asterisk is killed (-9) while a seat talks and started again: the cut call is closed when
    the controller lost Asterisk (its AMI connection dropped at the kill): answered, talk until then."""
    caller = ctx.start("12345", 1, talk_ms=120000)
    answered = datetime.fromisoformat(answered_live(ctx, 1)["answered_at"]).timestamp()
    wait_for("3 s of talk", lambda: time.time() - answered >= 3, timeout=20, interval=0.1)
    pid = stack.runtime.pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for("Asterisk gone", lambda: stack.runtime.pid() is None, timeout=15)
    caller.kill()
    caller.wait(10)
    stack.runtime.start()
    ctx.on_exit(stack.seats_ready)   # registered and logged in again before the next shape
    wait_for("the cut call gone from the live list",
             lambda: all(c["caller_number"] != ctx.caller(1) for c in ctx.live()), timeout=60, interval=0.5)
    return [Expect(ctx.caller(1), "answered", "12345", "hotline", ANSWERED_IN_15S, seats=CITY_SEATS, wait=(0, 5),
                   talk=(3, 8), extra={"cut_by": "asterisk_restart", "cut_end": "ami_lost"})]   # 3 s, then the kill


SHAPES = [
    Shape("controller-restart-mid-call", "faults",
          "The controller is killed while a seat talks; the caller hangs up before it is back.",
          "rebuilt from the CEL log (`source: cel-reconcile`): one record, offered and answered within 15 s; "
          "talk to the caller's hang-up", controller_restart),
    Shape("asterisk-restart-mid-call", "faults",
          "Asterisk is killed while a seat talks, then started again.",
          "closed when the controller lost Asterisk (`extra.cut_by: asterisk_restart`, `extra.cut_end: "
          "ami_lost`): offered, answered within 15 s, talk until the kill", asterisk_restart,
          reconciled=("restart-mid-call",)),
]
