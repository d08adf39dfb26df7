"""Shapes of the numbers a caller dials (issue #4) and of a queue with no seat: voice message,
merged number with its notice, withdrawn numbers, parallel numbers, 110 diversion."""

from __future__ import annotations

from ..rig import (DIVERSION_PRIORITY, DIVERTED_110, MERGED_IN_TRANSITION, MERGED_WITHDRAWN_END,
                   MERGED_WITHDRAWN_TO_HOTLINE, PARALLEL_ANSWERED, PARALLEL_BUSY, PARALLEL_CLOSED, PARALLEL_NOANSWER,
                   Q3_NIGHT, Q3_NUMBERS, Stack)
from .ctx import CITY_SEATS, Ctx
from .model import ABSENT, ANSWERED_IN_15S, NOT_OFFERED, OFFERED_ONLY, Expect, Shape


def voice_message(stack: Stack, ctx: Ctx) -> list[Expect]:
    ctx.call(Q3_NUMBERS[Q3_NIGHT], 1, talk_ms=12000)
    return [Expect(ctx.caller(1), "voice_message", Q3_NUMBERS[Q3_NIGHT], Q3_NIGHT, OFFERED_ONLY,
                   wait=(10, 12.5), fields={"answered_at": None},   # queue join to hang-up, message included
                   extra={"fallback": {"action": "message", "reason": "no_seat", "queue": Q3_NIGHT}})]


def merged_with_notice(stack: Stack, ctx: Ctx) -> list[Expect]:
    prompt = stack.prompt_seconds("merged-notice")
    ctx.call(MERGED_IN_TRANSITION, 1, talk_ms=int(prompt * 1000) + 2500)
    return [Expect(ctx.caller(1), "answered", MERGED_IN_TRANSITION, "hotline", ANSWERED_IN_15S, seats=CITY_SEATS,
                   wait=(0, 5), talk=(0.5, 3.5), fields={"legacy_mode": "merged", "department": "chengjian"},
                   extra={"prompt": "merged-notice"})]


def withdrawn_then_hotline(stack: Stack, ctx: Ctx) -> list[Expect]:
    notice = stack.prompt_seconds("withdrawn-notice")
    ctx.call(MERGED_WITHDRAWN_TO_HOTLINE, 1, talk_ms=int(notice * 1000) + 2500)
    return [Expect(ctx.caller(1), "answered", MERGED_WITHDRAWN_TO_HOTLINE, "hotline", ANSWERED_IN_15S,
                   seats=CITY_SEATS, wait=(0, 5), talk=(0.5, 3.5), fields={"department": "chengjian"},
                   extra={"prompt": "withdrawn-notice"})]


def withdrawn_then_end(stack: Stack, ctx: Ctx) -> list[Expect]:
    ctx.call(MERGED_WITHDRAWN_END, 1, talk_ms=1000, scenario="caller_hears_notice.xml")
    return [Expect(ctx.caller(1), "ended_after_notice", MERGED_WITHDRAWN_END, None, NOT_OFFERED,
                   fields={"queued_at": None, "answered_at": None, "legacy_mode": "merged"},
                   extra={"prompt": "withdrawn-notice", "hangup_source": "other"})]


def parallel_answered(stack: Stack, ctx: Ctx) -> list[Expect]:
    stack.wait_reachable("dept-gongjijin")   # unreachable, the call would overflow to a seat
    ctx.call(PARALLEL_ANSWERED, 1, talk_ms=1500)
    return [Expect(ctx.caller(1), "answered", PARALLEL_ANSWERED, None, NOT_OFFERED, talk=(0.5, 2.1),
                   fields={"queued_at": None, "legacy_mode": "parallel", "department": "gongjijin"},
                   extra={"answered_by": "department", "overflow": ABSENT})]


def parallel_overflow(number: str, department: str, reason: str) -> Shape:
    def drive(stack: Stack, ctx: Ctx) -> list[Expect]:
        if reason != "closed":   # a late OPTIONS answer would make the reason "chanunavail"
            stack.wait_reachable(f"dept-{department}")
        ctx.call(number, 1, talk_ms=8000 if reason == "noanswer" else 2500)
        # the platform answers the caller when the call reaches the queue, after the department's ring
        talk = (6.5, 8.1) if reason == "noanswer" else (1, 2.5)
        return [Expect(ctx.caller(1), "answered", number, "hotline", ANSWERED_IN_15S, seats=CITY_SEATS,
                       wait=(0, 5), talk=talk, fields={"legacy_mode": "parallel", "department": department},
                       extra={"overflow": reason, "answered_by": ABSENT})]
    what = {"noanswer": "nobody picks up in its 5 s", "busy": "its phone answers 486 Busy",
            "closed": "its office hours exclude now (nothing rings)"}[reason]
    return Shape(f"parallel-overflow-{reason}", "numbers",
                 f"A parallel number rings its department first; {what}; the call goes on to the 12345 seats.",
                 "offered once, from its queue join (the department's ring is before the queue), answered within "
                 f"15 s; `extra.overflow: {reason}`", drive, needs="dept_phones")


def diverted_110(stack: Stack, ctx: Ctx) -> list[Expect]:
    ctx.call(DIVERTED_110, 1, talk_ms=2000)
    return [Expect(ctx.caller(1), "answered", DIVERTED_110, "hotline", ANSWERED_IN_15S, seats=CITY_SEATS,
                   wait=(0, 5), talk=(0.5, 2.1), fields={"origin": "110", "legacy_mode": None},
                   extra={"priority": DIVERSION_PRIORITY})]


SHAPES = [
    Shape("voice-message", "queue rules",
          "A queue with no seat and the no-seat rule: the caller leaves a voice message.",
          "offered, neither answered nor abandoned (lowers the answer rate)", voice_message,
          reconciled=("voice-message",)),
    Shape("merged-number-with-notice", "numbers",
          "A merged number in its transition: the caller hears the notice, then a seat answers.",
          "offered from the queue join (the notice is before it), answered within 15 s; grouped under the "
          "merged number", merged_with_notice),
    Shape("withdrawn-number-to-hotline", "numbers",
          "A withdrawn number: the withdrawal notice, then 12345's seats.",
          "offered after the notice, answered within 15 s, under the withdrawn number", withdrawn_then_hotline),
    Shape("withdrawn-number-ends", "numbers",
          "A withdrawn number configured to end: the notice plays and the platform hangs up.",
          "not offered (`ended_after_notice`): in no KPI", withdrawn_then_end,
          reconciled=("ended-after-notice",)),
    Shape("parallel-number-answered-by-department", "numbers",
          "A parallel number: the department's own phone answers.",
          "recorded, never offered to the 12345 seats: in no answer-rate KPI (`extra.answered_by: department`)",
          parallel_answered, needs="dept_phones", reconciled=("parallel-number-not-queued",)),
    parallel_overflow(PARALLEL_NOANSWER, "guotu", "noanswer"),
    parallel_overflow(PARALLEL_BUSY, "shuiwu", "busy"),
    parallel_overflow(PARALLEL_CLOSED, "wenhua", "closed"),
    Shape("diverted-from-110", "numbers",
          "A non-police call 110 diverts to 12345: queue priority 20, a seat answers.",
          "offered, answered within 15 s, under the diversion number; `origin: 110`", diverted_110),
]
