"""Shapes of call control after a seat answered (issue #4): blind and attended transfers to a
department, to 110 and to another seat, three-way calls with a department and with 110, each party leaving first.

Every one is one conversation, one record: the seat that answered keeps it (answered within
15 s); the legs are on the record (``extra.legs``), never records of their own. The record's talk
runs from the answer to the caller's hang-up, whoever the caller talked to (README "The call
record"), so AHT counts it that way too."""

from __future__ import annotations

from typing import Any, Callable

from ..livecall import ANSWERING, SILENT, Call, bridged_with, rtp_flows
from ..rig import (CONTROL_CONVENIENCE, CONTROL_EMERGENCY, PARALLEL_ANSWERED, SUPERVISOR_PHONE, Stack, http_json,
                   wait_for)
from .ctx import CITY_SEATS, Ctx
from .model import ABSENT, ANSWERED_IN_15S, Expect, Shape

DEPARTMENT = {"target": ANSWERING, "type": "department_phone"}   # three-way and blind: its registered phone
EMERGENCY = {"target": CONTROL_EMERGENCY, "type": "emergency"}


def answered_call(stack: Stack, ctx: Ctx) -> Call:
    call = Call(stack, ctx.caller(1))
    ctx.on_exit(call.close)
    return call


def expect(ctx: Ctx, leg: dict[str, Any], extra: dict[str, Any] | None = None) -> list[Expect]:
    return [Expect(ctx.caller(1), "answered", "12345", "hotline", ANSWERED_IN_15S, seats=CITY_SEATS,
                   wait=(0, 5), talk=(0.5, 60), extra=extra or {}, legs=(leg,))]


def blind(to: dict[str, str]) -> Callable[[Stack, Ctx], list[Expect]]:
    def drive(stack: Stack, ctx: Ctx) -> list[Expect]:
        call = answered_call(stack, ctx)
        if to is EMERGENCY:
            code, body = call.post("emergency", {"service": CONTROL_EMERGENCY})
        else:
            code, body = call.post("transfer", {"target": to["target"]})
        assert code == 202 and body["kind"] == "blind", body
        wait_for("the caller bridged with the target, the seat released",
                 lambda: call.seat_channel not in stack.channels() and bridged_with(stack, call.channel))
        call.hang_up()
        return expect(ctx, {"kind": "blind", "target": to["target"], "answered": True, "left_first": "caller"},
                      {"emergency": CONTROL_EMERGENCY} if to is EMERGENCY else None)
    return drive


def attended(target: str) -> Callable[[Stack, Ctx], list[Expect]]:
    """The seat consults ``target`` (dialled through the trunk), then hangs up: the transfer completes."""
    def drive(stack: Stack, ctx: Ctx) -> list[Expect]:
        call = answered_call(stack, ctx)
        code, body = call.post("transfer", {"target": target, "kind": "attended"})
        assert code == 202, body
        consulted = wait_for("the seat consulting the target", lambda: next(
            (c for c, b in stack.channels().items() if c.startswith("PJSIP/trunk-carrier-") and c != call.channel
             and b), None))
        stack.cli(f"channel request hangup {call.seat_channel}")
        wait_for("the caller with the target", lambda: stack.channels().get(call.channel)
                 and stack.channels().get(call.channel) == stack.channels().get(consulted))
        call.hang_up()
        return expect(ctx, {"kind": "attended", "target": target, "answered": True, "left_first": "caller"})
    return drive


def to_seat(kind: str) -> Callable[[Stack, Ctx], list[Expect]]:
    """The seat that answered transfers the caller to the other city seat (blind, or attended: it
    consults the seat, then hangs up); the caller talks with it and hangs up."""
    def drive(stack: Stack, ctx: Ctx) -> list[Expect]:
        call = answered_call(stack, ctx)
        first = call.seat_channel.removeprefix("PJSIP/").rsplit("-", 1)[0]
        other = next(s for s in sorted(CITY_SEATS) if s != first)
        code, body = call.post("transfer", {"target": other, "kind": kind})
        assert code == 202 and body["kind"] == kind and body["target"]["type"] == "seat", body
        if kind == "attended":
            consulted = wait_for(f"the seat consulting {other}", lambda: next(
                (c for c, b in stack.channels().items() if c.startswith(f"PJSIP/{other}-") and b), None))
            stack.cli(f"channel request hangup {call.seat_channel}")
            wait_for(f"the caller with {other}", lambda: bridged_with(stack, call.channel) == consulted)
        else:
            wait_for(f"the caller with {other}, the first seat released", lambda: call.seat_channel not in
                     stack.channels() and (bridged_with(stack, call.channel) or "").startswith(f"PJSIP/{other}-"))
        call.hang_up()
        return [Expect(ctx.caller(1), "answered", "12345", "hotline", ANSWERED_IN_15S, seats=frozenset({first}),
                       wait=(0, 5), talk=(0.5, 60), legs=({"kind": kind, "target": other, "target_type": "seat",
                                                           "number": None, "answered": True,
                                                           "left_first": "caller"},))]
    return drive


def supervisor_listens(stack: Stack, ctx: Ctx) -> list[Expect]:
    """A supervisor listens in on the seat's call from its phone (ChanSpy, a conversation of its own
    that Asterisk starts on the supervisor's phone); the caller hangs up, the listen ends with it."""
    stack.register(*SUPERVISOR_PHONE)
    wait_for("the supervisor's phone reachable",
             lambda: "Avail " in stack.cli(f"pjsip show contacts like {SUPERVISOR_PHONE[0]}"), timeout=30)
    call = answered_call(stack, ctx)
    seat = call.seat_channel.removeprefix("PJSIP/").rsplit("-", 1)[0]
    code, body = http_json("POST", f"{stack.api}/api/seats/{seat}/spy", {"mode": "listen"}, user="boss")
    assert code == 202, body
    spy = wait_for("the supervisor listening", lambda: next(
        (c for c in stack.channels() if c.startswith(f"PJSIP/{SUPERVISOR_PHONE[0]}-")), None), timeout=20)
    wait_for("ChanSpy on the seat", lambda: "ChanSpy(" in stack.cli("core show channels"), timeout=20)
    call.hang_up()
    wait_for("the listen over with the call", lambda: spy not in stack.channels(), timeout=20)
    return [Expect(ctx.caller(1), "answered", "12345", "hotline", ANSWERED_IN_15S, seats=frozenset({seat}),
                   wait=(0, 5), talk=(0.5, 60), legs=None, extra={"legs": ABSENT})]


def three_way(to: dict[str, str], leaves: str) -> Callable[[Stack, Ctx], list[Expect]]:
    """Caller, seat and ``to`` in the conference; then ``leaves`` (seat, target or caller) leaves first."""
    def drive(stack: Stack, ctx: Ctx) -> list[Expect]:
        call = answered_call(stack, ctx)
        if to is EMERGENCY:
            code, body = call.post("emergency", {"service": CONTROL_EMERGENCY, "mode": "three_way"})
        else:
            code, body = call.post("conference", {"target": to["target"]})
        assert code == 202, body
        wait_for("three in the conference", lambda: len(call.members()) == 3 and call.seat_channel in call.members())
        third = next(c for c in call.members() if c not in (call.channel, call.seat_channel))
        if leaves == "seat":
            assert call.delete("conference/seat")[0] == 202
            wait_for("the seat gone", lambda: call.members() == {call.channel, third})
            rtp_flows(stack, [call.channel, third])   # the two talk on: the seat's exit is an event of its own
        elif leaves == "target":
            assert call.delete("conference/department")[0] == 202
            wait_for("the third party gone", lambda: call.members() == {call.channel, call.seat_channel})
            rtp_flows(stack, [call.channel, call.seat_channel])
        call.hang_up()
        return expect(ctx, {"kind": "three_way", "target": to["target"], "target_type": to["type"], "answered": True,
                            "left_first": leaves},
                      {"emergency": CONTROL_EMERGENCY} if to is EMERGENCY else None)
    return drive


def referral(stack: Stack, ctx: Ctx) -> list[Expect]:
    """The seat refers the caller to a convenience partner (a blind transfer through the trunk)."""
    call = answered_call(stack, ctx)
    code, body = call.post("transfer", {"target": CONTROL_CONVENIENCE})
    assert code == 202, body
    wait_for("the caller with the partner", lambda: call.seat_channel not in stack.channels()
             and bridged_with(stack, call.channel) is not None)
    call.hang_up()
    return expect(ctx, {"kind": "blind", "target": CONTROL_CONVENIENCE, "target_type": "convenience",
                        "answered": True}, {"referral": CONTROL_CONVENIENCE})


def three_way_no_answer(stack: Stack, ctx: Ctx) -> list[Expect]:
    """The department's phone rings out its 5 s; the caller stays with the seat."""
    call = answered_call(stack, ctx)
    code, body = call.post("conference", {"target": SILENT})
    assert code == 202, body
    ringing = wait_for("the department's phone ringing", lambda: call.channel_of(SILENT))
    wait_for("the ring time over", lambda: ringing not in stack.channels(), timeout=body["ring_seconds"] + 10)
    rtp_flows(stack, [call.channel, call.seat_channel])
    call.hang_up()
    return expect(ctx, {"kind": "three_way", "target": SILENT, "answered": False, "outcome": "no_answer",
                        "talk_seconds": None, "left_first": None})


ONE_OFFER = "one offer, answered within 15 s by the seat that answered; the leg is on the record"
LEAVER = {"seat": "the seat leaves first", "target": "the seat drops the third party first",
          "caller": "the caller hangs up first"}


def _three_way_shapes() -> list[Shape]:
    out = []
    for name, to in (("department", DEPARTMENT), ("110", EMERGENCY)):
        for leaves in ("seat", "target", "caller"):
            slug = {"seat": "seat", "target": "third-party", "caller": "caller"}[leaves]
            out.append(Shape(f"three-way-{name}-{slug}-leaves-first", "call control",
                             f"A seat adds {'a department phone' if to is DEPARTMENT else '110'} to a three-way "
                             f"call; {LEAVER[leaves]}.",
                             f"{ONE_OFFER} (`left_first: {leaves}`); talk to the caller's hang-up",
                             three_way(to, leaves), needs="control"))
    return out


SHAPES = [
    Shape("blind-transfer-to-department", "call control",
          "A seat transfers the caller blind to a department phone, which talks with the caller.",
          f"{ONE_OFFER}; talk runs to the caller's hang-up (the department's part included)", blind(DEPARTMENT),
          needs="control"),
    Shape("blind-transfer-to-110", "call control", "A seat transfers the caller to 110 in one click.",
          f"{ONE_OFFER}; `extra.emergency: 110`", blind(EMERGENCY), needs="control"),
    Shape("attended-transfer-to-department", "call control",
          "A seat consults a department's number, then hangs up: the caller is with the department.",
          ONE_OFFER, attended(PARALLEL_ANSWERED), needs="control"),
    Shape("attended-transfer-to-110", "call control",
          "A seat consults 110, then hangs up: the caller is with 110.", ONE_OFFER, attended(CONTROL_EMERGENCY),
          needs="control"),
    Shape("blind-transfer-to-seat", "call control",
          "A seat transfers the caller blind to the other seat, which talks with the caller.",
          f"{ONE_OFFER}, naming the target seat (`target_type: seat`); the record's seat is the one that "
          "answered; talk runs to the caller's hang-up", to_seat("blind"), needs="control"),
    Shape("attended-transfer-to-seat", "call control",
          "A seat consults the other seat, then hangs up: the caller is with the other seat.",
          f"{ONE_OFFER}, naming the target seat (`target_type: seat`); the record's seat is the one that "
          "answered", to_seat("attended"), needs="control"),
    *_three_way_shapes(),
    Shape("three-way-department-never-answers", "call control",
          "A seat adds a department phone that rings out; the caller stays with the seat.",
          f"{ONE_OFFER} (`outcome: no_answer`, no talk)", three_way_no_answer, needs="control"),
    Shape("supervisor-listens", "call control",
          "A supervisor listens in on a seat's call from the supervisor's phone; the caller hangs up.",
          "one offer, answered within 15 s by the seat; the listen is no call (no record, no leg), and "
          "Asterisk's side of it is no difference", supervisor_listens),
    Shape("referral-to-convenience-partner", "call control",
          "A seat refers the caller to a convenience partner (便民服务) through the trunk.",
          f"{ONE_OFFER}; `extra.referral`", referral, needs="control"),
]
