"""Queue callback keeping the caller's place, checked against a caller ahead and a caller behind; a
seat calling an abandoned caller back."""

from __future__ import annotations

from ..callers import finish
from ..rig import Stack, http_json, wait_for
from .ctx import Ctx, Records
from .model import ANSWERED_LATE, LONG_ABANDON, NOT_OFFERED, OFFERED_ONLY, Expect, Shape

ONLY_1001 = frozenset({"1001"})
PLACEHOLDER = "Local/hotline@hotline-cb-hold"


def _order(ctx: Ctx) -> list[str]:
    """Who waits in the hotline queue, in Asterisk's order: caller numbers, or "placeholder"."""
    mine = {ctx.caller_channel(n): ctx.caller(n) for n in (1, 3)}
    out = []
    for line in ctx.stack.cli("queue show hotline").splitlines():
        entry = line.strip().split(". ", 1)
        if len(entry) == 2 and entry[0].isdigit():
            channel = entry[1].split()[0]
            out.append("placeholder" if channel.startswith(PLACEHOLDER) else mine.get(channel, channel))
    return out


def callback_keeps_the_place(stack: Stack, ctx: Ctx) -> list[Expect]:
    """No seat: caller 1 waits; caller 2 presses 1 and hangs up (a placeholder keeps the place);
    caller 3 waits behind. A seat logs in and serves 1, calls 2 back, then serves 3."""
    ctx.logout("1001", "1002")
    ahead = ctx.start("12345", 1, talk_ms=120000, slot=0)
    wait_for("caller 1 waiting", lambda: ctx.waiting("hotline") == 1, timeout=30, interval=0.2)
    # the key 11.5 s after joining, once the position announcement is over: pressed during it (2.5 s
    # after joining at position 2) it is ignored and the caller waits on (reported, issue 15)
    asks = ctx.start("12345", 2, talk_ms=12000, slot=1, scenario="caller_callback.xml")
    assert finish(asks) == [0], f"caller 2's scenario failed (caller-{ctx.caller(2)}.err)"
    wait_for("the placeholder in the queue", lambda: PLACEHOLDER in stack.cli("queue show hotline"))
    behind = ctx.start("12345", 3, talk_ms=120000, slot=2)
    wait_for("three waiting", lambda: ctx.waiting("hotline") == 3, timeout=30, interval=0.2)
    assert _order(ctx) == [ctx.caller(1), "placeholder", ctx.caller(3)]
    wait_for("everyone waiting 16 s", lambda: min(ctx.queue_waits("hotline") or [0]) >= 17, timeout=40,
             interval=0.3)
    ctx.login("1001")
    wait_for("1001 talking with caller 1", lambda: ctx.seat_state("1001") == "talking" and ctx.waiting("hotline") == 2,
             timeout=30, interval=0.2)
    ctx.hang_up(1, ahead)

    def citizen_leg() -> str | None:   # the call placed out to caller 2 (an AppDial channel), answered
        lines = [f.split("!") for f in stack.cli("core show channels concise").splitlines()]
        out = [f[0] for f in lines if len(f) > 12 and f[0].startswith("PJSIP/trunk-carrier-")
               and f[5] == "AppDial" and f[12]]
        return out[0] if out else None
    leg = wait_for("caller 2 called back and connected", citizen_leg, timeout=30, interval=0.2)
    stack.cli(f"channel request hangup {leg}")
    wait_for("1001 talking with caller 3", lambda: ctx.waiting("hotline") == 0 and ctx.seat_state("1001") == "talking",
             timeout=30, interval=0.2)
    ctx.hang_up(3, behind)

    def in_order(records: Records) -> None:
        first, back, last = (records[(ctx.caller(1), "12345")], records[(ctx.caller(2), ctx.caller(2))],
                             records[(ctx.caller(3), "12345")])
        asked = records[(ctx.caller(2), "12345")]
        assert back["extra"]["callback_of"] == asked["call_id"] and asked["extra"]["callback"]["reason"] == "key"
        assert first["answered_at"] < back["answered_at"] < last["answered_at"]
    ctx.check(in_order)
    return [
        Expect(ctx.caller(1), "answered", "12345", "hotline", ANSWERED_LATE, seats=ONLY_1001, wait=(16, 90),
               talk=(0, 5)),
        Expect(ctx.caller(2), "callback_requested", "12345", "hotline", OFFERED_ONLY, wait=(10, 13),
               fields={"answered_at": None}),
        Expect(ctx.caller(2), "answered", ctx.caller(2), "hotline", NOT_OFFERED, seats=ONLY_1001, entered=False,
               talk=(0, 5), fields={"queued_at": None}, extra={"direction": "callback", "callback_result": "answer"}),
        Expect(ctx.caller(3), "answered", "12345", "hotline", ANSWERED_LATE, seats=ONLY_1001, wait=(16, 90),
               talk=(0, 5)),
    ]


def seat_calls_back(stack: Stack, ctx: Ctx) -> list[Expect]:
    """No seat: the caller gives up after 7 s. A supervisor files a callback of the abandoned call
    and seat 1001 takes it: its phone rings, then the citizen (the PSTN) answers and they talk."""
    ctx.logout("1001", "1002")
    ctx.call("12345", 1, talk_ms=7000)
    abandoned = stack.record_for(ctx.caller(1))
    code, task = http_json("POST", f"{stack.api}/api/callbacks", {"call_id": abandoned["call_id"]})
    assert code == 201, task
    ctx.login("1001")
    code, taken = http_json("POST", f"{stack.api}/api/callbacks/{task['id']}/take", {"seat": "1001"})
    assert code == 202 and taken["status"] == "dialling", taken
    leg = wait_for("the citizen's leg answered", lambda: next(
        (c for c, bridge in stack.channels().items() if c.startswith("PJSIP/trunk-carrier-") and bridge), None),
        timeout=30)
    stack.cli(f"channel request hangup {leg}")

    def connected(records: Records) -> None:
        back = records[(ctx.caller(1), ctx.caller(1))]
        assert back["extra"]["callback_of"] == abandoned["call_id"]
        done = wait_for("the task connected", lambda: next(
            (t for t in http_json("GET", f"{stack.api}/api/callbacks?full=1")[1]["items"]
             if t["id"] == task["id"] and t["status"] == "connected"), None))
        assert done["callback_call_id"] == back["call_id"], done
    ctx.check(connected)
    return [
        Expect(ctx.caller(1), "abandoned_in_queue", "12345", "hotline", LONG_ABANDON, wait=(5.5, 7.5),
               fields={"answered_at": None}),
        Expect(ctx.caller(1), "answered", ctx.caller(1), None, NOT_OFFERED, seats=ONLY_1001, entered=False,
               talk=(0, 5), fields={"queued_at": None}, extra={"direction": "callback"}),
    ]


SHAPES = [
    Shape("queue-callback-keeps-the-place", "queue rules",
          "No seat free: caller 2 presses 1 between caller 1 (ahead) and caller 3 (behind) and hangs up; a "
          "seat logs in, serves 1, calls 2 back (the PSTN answers), then serves 3.",
          "1 and 3: offered, answered, not within 15 s; 2: offered, neither answered nor abandoned "
          "(`callback_requested`); the callback try is a record of its own, never offered; order 1, 2, 3",
          callback_keeps_the_place, needs="callback", reconciled=("callback-keeps-place",)),
    Shape("seat-calls-back-an-abandoned-caller", "queue rules",
          "No seat: a caller gives up after 7 s; a callback of the abandoned call is filed and a seat takes "
          "it: the seat's phone, then the citizen (the PSTN) answers.",
          "the call: offered, long abandon; the callback is a record of its own (`extra.callback_of`), answered "
          "by the seat, never offered: the abandon stays an abandon",
          seat_calls_back, needs="callback", reconciled=("callback-try",)),
]
