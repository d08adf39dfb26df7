"""Shapes of the queue's rules: repeat-caller priority, max-wait fallback, county overflow, wrap-up,
a seat paused while its phone rings, a seat on an external number that must press 1."""

from __future__ import annotations

from ..callers import finish
from ..rig import (NOANSWER_SEAT, OVERFLOW_AFTER_S, Q3_BACKUP, Q3_MAX_WAIT_S, Q3_NUMBERS, Q3_PRIO, Q3_REPEAT_PRIORITY,
                   Q3_TIMEOUT, REMOTE_SEAT, SEAT_TEST_NUMBERS, WRAPUP_S, Stack, http_json, wait_for)
from .ctx import CITY_SEATS, Ctx, Records
from .model import ABSENT, ANSWERED_IN_15S, LONG_ABANDON, SHORT_ABANDON, Expect, Shape

ONLY_1001 = frozenset({"1001"})


def repeat_caller_priority(stack: Stack, ctx: Ctx) -> list[Expect]:
    """Caller 1 called before (answered); in q3prio (one seat, paused in Asterisk while both join)
    first-time caller 2 joins first, caller 1 second; caller 1 is answered first."""
    number = Q3_NUMBERS[Q3_PRIO]
    ctx.call("12345", 1, talk_ms=1000)
    stack.record_for(ctx.caller(1))   # in the store: the next call of this number is a repeat
    stack.cli(f"queue pause member PJSIP/1001 queue {Q3_PRIO}")
    ctx.on_exit(lambda: stack.cli(f"queue unpause member PJSIP/1001 queue {Q3_PRIO}"))
    first_timer = ctx.start(number, 2, talk_ms=120000, slot=1)
    wait_for("the first-time caller queued", lambda: ctx.waiting(Q3_PRIO) == 1, timeout=30, interval=0.2)
    repeat = ctx.start(number, 1, talk_ms=120000, slot=2)
    wait_for("both callers queued", lambda: ctx.waiting(Q3_PRIO) == 2, timeout=30, interval=0.2)
    stack.cli(f"queue unpause member PJSIP/1001 queue {Q3_PRIO}")
    # each talks a moment once answered, then leaves: the seat takes the other
    for n, proc in ((1, repeat), (2, first_timer)):
        wait_for(f"1001 talking with caller {n}", lambda n=n: ctx.waiting(Q3_PRIO) == 2 - n  # type: ignore[misc]
                 and ctx.seat_state("1001") == "talking", timeout=30, interval=0.2)
        ctx.hang_up(n, proc)

    def served_first(records: Records) -> None:
        again, earlier = records[(ctx.caller(1), number)], records[(ctx.caller(2), number)]
        assert earlier["queued_at"] < again["queued_at"] and again["answered_at"] < earlier["answered_at"]
    ctx.check(served_first)
    return [
        Expect(ctx.caller(1), "answered", "12345", "hotline", ANSWERED_IN_15S, seats=CITY_SEATS, wait=(0, 5),
               talk=(0.2, 1.5), extra={"priority_reason": ABSENT}),
        Expect(ctx.caller(2), "answered", number, Q3_PRIO, ANSWERED_IN_15S, seats=ONLY_1001, wait=(1, 14),
               talk=(0, 3), extra={"priority_reason": ABSENT}),
        Expect(ctx.caller(1), "answered", number, Q3_PRIO, ANSWERED_IN_15S, seats=ONLY_1001, wait=(0, 12),
               talk=(0, 3), extra={"priority": Q3_REPEAT_PRIORITY, "priority_reason": "repeat_caller"}),
    ]


def max_wait_fallback(stack: Stack, ctx: Ctx) -> list[Expect]:
    ctx.call(Q3_NUMBERS[Q3_TIMEOUT], 1, talk_ms=15000)
    return [Expect(ctx.caller(1), "answered", Q3_NUMBERS[Q3_TIMEOUT], Q3_BACKUP, ANSWERED_IN_15S,
                   seats=frozenset({"1002"}), wait=(Q3_MAX_WAIT_S - 0.5, Q3_MAX_WAIT_S + 4), talk=(5, 11),
                   extra={"fallback": {"action": "queue", "reason": "timeout", "queue": Q3_TIMEOUT, "to": Q3_BACKUP}})]


def county_overflow(stack: Stack, ctx: Ctx) -> list[Expect]:
    number = SEAT_TEST_NUMBERS["haimen"]
    ctx.call(number, 1, talk_ms=(OVERFLOW_AFTER_S + 6) * 1000)
    return [Expect(ctx.caller(1), "answered", number, "haimen", ANSWERED_IN_15S, seats=CITY_SEATS,
                   wait=(OVERFLOW_AFTER_S - 0.5, OVERFLOW_AFTER_S + 4), talk=(2, 6.5))]


def wrapup_not_offered(stack: Stack, ctx: Ctx) -> list[Expect]:
    """wrapq's one seat (1001) takes a call, goes into wrap-up; the next caller waits it out."""
    number = SEAT_TEST_NUMBERS["wrapq"]
    ctx.wrapped_up("wrapq", "1001", WRAPUP_S)   # a call of another queue starts wrapq's wrap-up too
    ctx.call(number, 1, talk_ms=1500)
    wait_for("1001 in wrap-up", lambda: ctx.seat_state("1001") == "wrapup", timeout=10, interval=0.1)
    second = ctx.start(number, 2, talk_ms=16000, slot=1)
    # offered nothing while in wrap-up: still wrapping up with the caller waiting, then talking
    wait_for("the second caller waiting", lambda: ctx.waiting("wrapq") == 1, timeout=10, interval=0.1)
    assert ctx.seat_state("1001") == "wrapup"
    assert finish(second) == [0]
    return [Expect(ctx.caller(1), "answered", number, "wrapq", ANSWERED_IN_15S, seats=ONLY_1001, wait=(0, 3),
                   talk=(0.5, 1.5)),
            Expect(ctx.caller(2), "answered", number, "wrapq", ANSWERED_IN_15S, seats=ONLY_1001,
                   wait=(WRAPUP_S - 4, 14), talk=(1.5, 12))]   # the wait: wrap-up, then the queue's announcement


def _ringing_seat(stack: Stack, ctx: Ctx) -> str:
    """autopq's one seat (1003, a phone nobody picks up), registered and logged in for the shape."""
    seat, secret, port, media = NOANSWER_SEAT
    ctx.procs.append(stack.start_phone(seat, secret, port, media, "noanswer_uas.xml"))

    def release() -> None:
        http_json("POST", f"{stack.api}/api/seats/{seat}/unpause")
        http_json("POST", f"{stack.api}/api/seats/{seat}/logout")
    ctx.on_exit(release)
    ctx.login(seat)
    wait_for(f"{seat} idle", lambda: ctx.seat_state(seat) == "idle")
    return seat


def paused_while_ringing(stack: Stack, ctx: Ctx) -> list[Expect]:
    """autopq's one seat is paused while it rings: the queue never rings it again and the caller
    gives up after 12 s."""
    seat = _ringing_seat(stack, ctx)
    caller = ctx.start(SEAT_TEST_NUMBERS["autopq"], 1, talk_ms=12000, scenario="caller_hangs_up.xml")
    wait_for(f"{seat} ringing", lambda: ctx.seat_state(seat) == "ringing", timeout=20, interval=0.1)
    code, body = http_json("POST", f"{stack.api}/api/seats/{seat}/pause", {"reason": "break"})
    assert code == 200, body
    assert finish(caller) == [0]
    view = stack.seat(seat)
    assert view["state"] == "paused" and view["reason"] == "break", view
    return [Expect(ctx.caller(1), "abandoned_in_queue", SEAT_TEST_NUMBERS["autopq"], "autopq", LONG_ABANDON,
                   wait=(10, 12.5), fields={"answered_at": None})]


def abandoned_while_ringing(stack: Stack, ctx: Ctx) -> list[Expect]:
    """The caller hangs up 3 s after the platform answered, while autopq's seat still rings."""
    seat = _ringing_seat(stack, ctx)
    caller = ctx.start(SEAT_TEST_NUMBERS["autopq"], 1, talk_ms=3000, scenario="caller_hangs_up.xml")
    wait_for(f"{seat} ringing", lambda: ctx.seat_state(seat) == "ringing", timeout=20, interval=0.1)
    assert finish(caller) == [0]
    wait_for(f"{seat} idle again", lambda: ctx.seat_state(seat) == "idle", timeout=10, interval=0.1)
    assert stack.seat(seat)["unanswered"] == 0   # a caller leaving while it rings is no missed ring
    return [Expect(ctx.caller(1), "abandoned_in_queue", SEAT_TEST_NUMBERS["autopq"], "autopq", SHORT_ABANDON,
                   wait=(2, 3.5), fields={"answered_at": None})]


def external_seat(accepts: bool) -> Shape:
    scenario = "remote_seat_accepts.xml" if accepts else "remote_seat_voicemail.xml"
    number = SEAT_TEST_NUMBERS["remoteq"]

    def drive(stack: Stack, ctx: Ctx) -> list[Expect]:
        ctx.procs.append(stack.start_pstn(scenario))
        ctx.on_exit(lambda: ctx.logout_now(REMOTE_SEAT))
        ctx.login(REMOTE_SEAT)
        caller = ctx.start(number, 1, talk_ms=60000)
        if accepts:
            wait_for("the remote seat talking", lambda: ctx.seat_state(REMOTE_SEAT) == "talking", timeout=40)
            ctx.hang_up(1, caller)
            return [Expect(ctx.caller(1), "answered", number, "remoteq", ANSWERED_IN_15S,
                           seats=frozenset({REMOTE_SEAT}), wait=(0, 12), talk=(0, 5))]
        wait_for("the declined attempt", lambda: "HOTLINE_REMOTE_DECLINED" in stack.runtime.cel_log.read_text(
            encoding="utf-8", errors="replace").split(ctx.caller(1), 1)[-1], timeout=40)
        assert ctx.seat_state(REMOTE_SEAT) != "talking"
        # Asterisk counts whole seconds of time(): "0:07" is at least 6 s really waited
        wait_for("a 6 s wait", lambda: ctx.queue_waits("remoteq") and ctx.queue_waits("remoteq")[0] >= 7,
                 timeout=30, interval=0.2)
        ctx.hang_up(1, caller)
        return [Expect(ctx.caller(1), "abandoned_in_queue", number, "remoteq", LONG_ABANDON,
                       wait=(6, 40), fields={"answered_at": None})]
    how = ("answers and presses 1: answered by the seat" if accepts else
           "a voicemail box answers and presses nothing: hung up, the caller waits on and gives up")
    counts = ("offered, answered (by the external seat), within 15 s" if accepts else
              "offered, long abandon; no seat credited, the voicemail's answer is no answer")
    return Shape(f"external-seat-{'accepts' if accepts else 'declines'}", "seats",
                 f"A seat on an outside number is rung through the trunk; its phone {how}.", counts, drive)


SHAPES = [
    Shape("repeat-caller-priority", "queue rules",
          "A caller who called within the hour joins a one-seat queue after a first-time caller and is "
          "answered first (priority 5).",
          "three calls: the first call and both queue calls offered and answered within 15 s, each in its own "
          "queue; the priority changes the order, not the counts", repeat_caller_priority),
    Shape("max-wait-fallback", "queue rules",
          "No seat in q3timeout: after its 5 s max wait the caller moves to q3backup and seat 1002 answers.",
          "one offer, in the fallback queue (the last queue); wait from the first join: answered within 15 s",
          max_wait_fallback, reconciled=("requeued",)),
    Shape("county-overflow", "queue rules",
          "A county queue with no seat of its own: after 5 s the city seats ring and one answers.",
          "offered and answered in the county queue (haimen), credited to the city seat; wait includes the 5 s",
          county_overflow),
    Shape("seat-in-wrap-up", "seats",
          "wrapq's one seat answers a call and wraps up 6 s; the next caller is not offered to it until "
          "the wrap-up ends.",
          "two offered and answered within 15 s; AHT = talk + the queue's 6 s wrap-up", wrapup_not_offered),
    Shape("seat-paused-while-ringing", "seats",
          "A seat is paused while its phone rings; the queue does not ring it again and the caller gives "
          "up after 12 s.",
          "offered, long abandon; no seat credited", paused_while_ringing),
    Shape("abandoned-while-seat-rings", "seats",
          "The caller hangs up after 3 s while the only seat's phone rings.",
          "offered, short abandon (< 5 s); no seat credited, and no missed ring for the seat", abandoned_while_ringing,
          reconciled=("short-abandon-excluded",)),
    external_seat(True),
    external_seat(False),
]
