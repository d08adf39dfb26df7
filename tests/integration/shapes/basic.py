"""Shapes of one caller and the hotline queue: answered, abandoned before or in the queue, answered late."""

from __future__ import annotations

import time
from datetime import datetime

from ..callers import finish
from ..rig import MERGED_IN_TRANSITION, Stack, wait_for
from .ctx import CITY_SEATS, Ctx, Records
from .model import (ABSENT, ANSWERED_IN_15S, ANSWERED_LATE, LONG_ABANDON, NOT_OFFERED, SHORT_ABANDON, Expect,
                    Shape)

EMPTY_QUEUE_NUMBER = "85000000"   # rig: a merged number whose department's queue has no seat


def answered(stack: Stack, ctx: Ctx) -> list[Expect]:
    ctx.call("12345", 1, talk_ms=2500)
    return [Expect(ctx.caller(1), "answered", "12345", "hotline", ANSWERED_IN_15S, seats=CITY_SEATS,
                   wait=(0, 5), talk=(1.0, 3.5), fields={"legacy_mode": None, "origin": None},
                   extra={"fallback": ABSENT, "priority_reason": ABSENT})]


def abandoned_before_queue(stack: Stack, ctx: Ctx) -> list[Expect]:
    # the transition notice plays for several seconds before the queue; the caller leaves during it
    assert ctx.stack.prompt_seconds("merged-notice") > 3
    ctx.call(MERGED_IN_TRANSITION, 1, talk_ms=1500, scenario="caller_hangs_up.xml")
    return [Expect(ctx.caller(1), "abandoned_before_queue", MERGED_IN_TRANSITION, None, NOT_OFFERED,
                   fields={"queued_at": None, "legacy_mode": "merged"}, extra={"prompt": "merged-notice"})]


def abandoned_short(stack: Stack, ctx: Ctx) -> list[Expect]:
    ctx.call(EMPTY_QUEUE_NUMBER, 1, talk_ms=1500, scenario="caller_hangs_up.xml")
    return [Expect(ctx.caller(1), "abandoned_in_queue", EMPTY_QUEUE_NUMBER, "empty", SHORT_ABANDON,
                   wait=(0.5, 4.0), fields={"department": "nobody", "answered_at": None})]


def abandoned_long(stack: Stack, ctx: Ctx) -> list[Expect]:
    ctx.call(EMPTY_QUEUE_NUMBER, 1, talk_ms=7000, scenario="caller_hangs_up.xml")
    return [Expect(ctx.caller(1), "abandoned_in_queue", EMPTY_QUEUE_NUMBER, "empty", LONG_ABANDON,
                   wait=(5.5, 7.5), fields={"department": "nobody", "answered_at": None})]


def answered_after_15s(stack: Stack, ctx: Ctx) -> list[Expect]:
    ctx.logout(*sorted(CITY_SEATS))
    proc = ctx.start("12345", 1, talk_ms=120000)
    # Asterisk's own count of the caller's wait (whole seconds of time(): 17 is at least 16 s), then a seat
    # logs in and answers
    wait_for("the caller waiting 16 s", lambda: ctx.queue_waits("hotline") and ctx.queue_waits("hotline")[0] >= 17,
             timeout=40, interval=0.2)
    ctx.login("1001")
    wait_for("1001 talking", lambda: ctx.seat_state("1001") == "talking", timeout=20, interval=0.2)
    ctx.hang_up(1, proc)
    return [Expect(ctx.caller(1), "answered", "12345", "hotline", ANSWERED_LATE, seats=frozenset({"1001"}),
                   wait=(16, 22), talk=(0, 5))]


def seat_hangs_up_first(stack: Stack, ctx: Ctx) -> list[Expect]:
    """A seat answers; after 2 s on the line the seat's side is hung up: the platform ends the
    caller's leg too (the caller's scenario waits for that BYE)."""
    caller = ctx.start("12345", 1, talk_ms=1000, scenario="caller_hears_notice.xml")
    live = wait_for("caller 1 answered by a seat", lambda: next(
        (c for c in ctx.live() if c["caller_number"] == ctx.caller(1) and (c.get("control") or {}).get("seat_channel")),
        None), timeout=30, interval=0.2)
    seat_channel = live["control"]["seat_channel"]
    answered = datetime.fromisoformat(live["answered_at"]).timestamp()
    wait_for("2 s of talk", lambda: time.time() - answered >= 2, timeout=20, interval=0.1)
    stack.cli(f"channel request hangup {seat_channel}")
    assert finish(caller) == [0]

    def not_the_caller(records: Records) -> None:
        assert records[(ctx.caller(1), "12345")]["extra"].get("hangup_source") != "caller"
    ctx.check(not_the_caller)
    return [Expect(ctx.caller(1), "answered", "12345", "hotline", ANSWERED_IN_15S, seats=CITY_SEATS, wait=(0, 5),
                   talk=(1.5, 6))]


def merged_number(stack: Stack, ctx: Ctx) -> list[Expect]:
    ctx.call("83531111", 1, talk_ms=2000)
    return [Expect(ctx.caller(1), "answered", "83531111", "hotline", ANSWERED_IN_15S, seats=CITY_SEATS,
                   wait=(0, 5), talk=(1.0, 2.1), fields={"legacy_mode": "merged", "department": "chengjian"},
                   extra={"prompt": ABSENT})]


def unknown_number(stack: Stack, ctx: Ctx) -> list[Expect]:
    ctx.call("99999999", 1, talk_ms=2000)
    return [Expect(ctx.caller(1), "answered", "99999999", "hotline", ANSWERED_IN_15S, seats=CITY_SEATS,
                   wait=(0, 5), talk=(1.0, 2.1), fields={"legacy_mode": "unknown"})]


def controller_down(stack: Stack, ctx: Ctx) -> list[Expect]:
    """The whole call while the controller is stopped: the dialplan fails open to the queue."""
    stack.stop_controller()
    try:
        ctx.call("12345", 1, talk_ms=2000)
    finally:
        stack.start_controller()
    return [Expect(ctx.caller(1), "answered", "12345", "hotline", ANSWERED_IN_15S, seats=CITY_SEATS,
                   wait=(0, 5), talk=(1.0, 2.1), fields={"source": "cel-reconcile"})]


SHAPES = [
    Shape("answered", "queue", "A caller dials 12345 and a seat answers at once.",
          "offered, answered, answered within 15 s; ASA its wait, AHT its talk", answered),
    Shape("abandoned-before-queue", "queue",
          "A caller of a merged number hangs up during its transition notice, before the queue.",
          "not offered: in no KPI (grouped under no queue and no seat)", abandoned_before_queue,
          reconciled=("ended-before-queue",)),
    Shape("abandoned-in-queue-short", "queue", "A caller hangs up after 1.5 s in a queue with no seat.",
          "offered, abandoned, short abandon (< 5 s): out of the base", abandoned_short,
          reconciled=("short-abandon-excluded",)),
    Shape("abandoned-in-queue-long", "queue", "A caller hangs up after 7 s in a queue with no seat.",
          "offered, abandoned, long abandon: in the base and the abandon rate", abandoned_long),
    Shape("answered-after-15s", "queue",
          "Every seat logged out; the caller waits 16 s, then a seat logs in and answers.",
          "offered, answered, not within 15 s; ASA its wait", answered_after_15s),
    Shape("seat-hangs-up-first", "queue", "A seat answers and, after 2 s, the seat's side hangs up first.",
          "offered, answered within 15 s; talk to the end of the caller's leg, which the platform ends at once",
          seat_hangs_up_first),
    Shape("merged-number", "numbers", "A merged department number (no notice): a 12345 seat answers.",
          "offered, answered within 15 s, under the merged number", merged_number),
    Shape("unknown-number", "numbers", "A number the site does not know reaches the hotline queue.",
          "offered, answered within 15 s, under the dialled number (`legacy_mode: unknown`)", unknown_number),
    Shape("call-while-controller-down", "faults",
          "The controller is stopped for the whole call: routing fails open to the queue, a seat answers.",
          "rebuilt from the CEL log at start-up (`source: cel-reconcile`): offered, answered within 15 s",
          controller_down),
]
