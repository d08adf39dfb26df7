"""A seat's rest and pause per queue (shared_lastcall, per-queue pauses), as app_queue has them:
the pure rules (queue_manager.rest), the seat service's views, and the check against Asterisk's
QueueStatus (hotline.seats.truth) agreeing with them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotline.exceptions import SeatStateConflict
from hotline.seats.services import SeatService
from hotline.seats.snapshot import SeatResolver
from hotline.seats.truth import asterisk_states, disagreements
from queue_manager.rest import LastCall, QueueStanding, rest_until, standing, standings
from queue_manager.seats import SeatState

from test_seat_service import EVENTS, SITE, T, FakeAmi, pick, replay  # noqa: F401
from test_seat_service import ami, clock, site, state_rows, svc  # noqa: F401  (fixtures)

WRAPUP = {"hotline": 0, "wrapq": 30, "county": 30}


# -- the pure rules ------------------------------------------------------------------------

def test_a_call_in_any_queue_rests_the_seat_in_each_by_the_longer_wrapup() -> None:
    """app_queue: no queue rings the member before lastcall + the last call's queue's wrapuptime
    (can_ring_entry); a queue does not count it before lastcall + its own (is_member_available)."""
    hotline_call = LastCall(T + 100.4, "hotline")
    assert rest_until(hotline_call, "hotline", WRAPUP, T + 101) is None           # wrap-up 0
    assert rest_until(hotline_call, "wrapq", WRAPUP, T + 101) == T + 131          # wrapq's own 30 (+1)
    wrapq_call = LastCall(T + 100.4, "wrapq")
    assert rest_until(wrapq_call, "hotline", WRAPUP, T + 101) == T + 131          # the call's queue's
    assert rest_until(wrapq_call, "hotline", WRAPUP, T + 131) is None             # over at the second
    # the queue not known (QueueStatus's LastCall alone): the seat's longest wrap-up
    assert rest_until(LastCall(T + 100, None), "hotline", WRAPUP, T + 101, unknown_s=30) == T + 131


@pytest.mark.parametrize(("paused", "last", "state", "until"), [
    ({}, None, SeatState.idle, None),
    ({}, LastCall(T, "hotline"), SeatState.idle, None),                  # hotline can offer it a call
    ({"hotline": "break"}, LastCall(T, "hotline"), SeatState.wrapup, T + 31),   # wrapq rests it
    ({"hotline": "break", "wrapq": "break"}, None, SeatState.paused, None),
    ({"wrapq": "meal"}, None, SeatState.idle, None),
    ({}, LastCall(T, "wrapq"), SeatState.wrapup, T + 31),
])
def test_the_seat_state_from_its_queues(paused: dict[str, str], last: LastCall | None, state: SeatState,
                                        until: float | None) -> None:
    """paused: in every queue; wrap-up: every queue it is not paused in rests it; else idle."""
    got = standing(standings({"hotline", "wrapq"}, paused, last, WRAPUP, T + 1))
    assert (got.state, got.wrapup_until) == (state, until)


def test_not_in_any_queue_is_logged_out() -> None:
    assert standing([]).state == SeatState.logged_out
    assert standing([QueueStanding("q", True, "meal", None)]).reason == "meal"


# -- the seat service ------------------------------------------------------------------------

def states(view: dict[str, Any]) -> dict[str, tuple[bool, float | None]]:
    return {q["queue"]: (q["paused"], q["wrapup_until"]) for q in view["queue_states"]}


async def test_a_hotline_call_rests_the_seat_in_wrapq(svc: SeatService, clock: Any) -> None:  # noqa: F811
    """1001 (hotline, wrap-up 0, and wrapq, 30) ends a hotline call: Asterisk offers it hotline's
    calls at once but wrapq's none for 31 s: the view says so per queue, wrapq counts it unavailable."""
    replay(svc, EVENTS[:3])
    svc.on_ami_event(EVENTS[10])                                   # AgentConnect, hotline
    clock.t = T + 100.5
    svc.on_ami_event({**EVENTS[14], "Timestamp": f"{T + 100.2:.6f}"})   # AgentComplete, hotline
    view = svc.view("1001")
    assert view["state"] == "idle" and view["wrapup_until"] is None
    assert states(view) == {"hotline": (False, None), "wrapq": (False, T + 131)}
    assert svc.queue_view("wrapq")["available"] == 0
    assert svc.queue_view("hotline")["available"] == 2
    timer = svc._wrapup_timers["1001"]
    assert timer.when() - asyncio.get_running_loop().time() == pytest.approx(30.5, abs=0.05)
    timer.cancel()
    clock.t = T + 131
    svc._wrapup_done("1001")
    assert states(svc.view("1001"))["wrapq"] == (False, None)
    assert svc.queue_view("wrapq")["available"] == 1
    assert svc.hub.queues["wrapq"]["available"] == 1          # the wallboard was told


async def test_a_hotline_call_while_paused_in_hotline_is_wrapup(svc: SeatService, clock: Any) -> None:  # noqa: F811
    """Paused in hotline only, resting in wrapq: no queue can offer it a call: wrap-up, with its end."""
    replay(svc, EVENTS[:3])
    svc.on_ami_event(EVENTS[10])
    await svc.pause("1001", "break", queue="hotline")
    clock.t = T + 100.5
    svc.on_ami_event({**EVENTS[14], "Timestamp": f"{T + 100.2:.6f}"})
    assert pick(svc.view("1001"), ["state", "wrapup_until", "call_id"]) == {
        "state": "wrapup", "wrapup_until": T + 131, "call_id": None}


async def test_pause_in_one_queue(svc: SeatService, ami: FakeAmi, clock: Any) -> None:  # noqa: F811
    """Paused in wrapq alone: Asterisk still offers hotline's calls: idle, wrapq paused; paused
    in both: paused; unpaused in one: idle again."""
    replay(svc, EVENTS[:3])
    view = await svc.pause("1001", "meal", queue="wrapq")
    assert ami.named("QueuePause")[-1] == {"Action": "QueuePause", "Interface": "PJSIP/1001", "Paused": "true",
                                           "Queue": "wrapq", "Reason": "meal"}
    assert view["state"] == "idle"
    assert states(view) == {"hotline": (False, None), "wrapq": (True, None)}
    assert [q["reason"] for q in view["queue_states"]] == [None, "meal"]
    assert svc.queue_view("wrapq")["available"] == 0 and svc.queue_view("hotline")["available"] == 2
    # the other queue paused from the phone (an event): paused in all
    svc.on_ami_event({"Event": "QueueMemberPause", "Queue": "hotline", "Interface": "PJSIP/1001",
                      "MemberName": "1001", "Paused": "1", "PausedReason": "meal"})
    assert pick(svc.view("1001"), ["state", "reason"]) == {"state": "paused", "reason": "meal"}
    view = await svc.unpause("1001", queue="hotline")
    assert ami.named("QueuePause")[-1] == {"Action": "QueuePause", "Interface": "PJSIP/1001", "Paused": "false",
                                           "Queue": "hotline"}
    assert view["state"] == "idle" and states(view)["wrapq"] == (True, None)
    # the whole seat unpaused: every queue
    view = await svc.unpause("1001")
    assert states(view) == {"hotline": (False, None), "wrapq": (False, None)}


async def test_pause_and_unpause_name_a_queue_the_seat_is_in(svc: SeatService, ami: FakeAmi) -> None:  # noqa: F811
    replay(svc, EVENTS[:3])
    sent = len(ami.actions)
    with pytest.raises(SeatStateConflict) as err:
        await svc.pause("1001", "meal", queue="county")
    assert err.value.error_id == "seat-not-in-queue" and "county" in err.value.message
    with pytest.raises(SeatStateConflict) as err:
        await svc.unpause("1001", queue="wrapq")
    assert err.value.error_id == "seat-not-paused" and "wrapq" in err.value.message
    assert len(ami.actions) == sent


# -- the check against Asterisk ----------------------------------------------------------------

def member(seat: str, queue: str, last: float, paused: bool = False, reason: str = "") -> dict[str, str]:
    return {"Event": "QueueMember", "Queue": queue, "Name": seat, "Location": f"PJSIP/{seat}",
            "StateInterface": f"PJSIP/{seat}", "LastCall": str(int(last)), "InCall": "0", "Status": "1",
            "Paused": "1" if paused else "0", "PausedReason": reason}


async def test_our_view_agrees_with_queue_status(svc: SeatService, clock: Any, site: Any) -> None:  # noqa: F811
    """After a hotline call and a pause in wrapq, judged as the bench judges: no disagreement."""
    replay(svc, EVENTS[:3])
    svc.on_ami_event(EVENTS[10])
    clock.t = T + 100.5
    svc.on_ami_event({**EVENTS[14], "Timestamp": f"{T + 100.2:.6f}"})
    status = [member("1001", "hotline", T + 100), member("1001", "wrapq", T + 100),
              member("1002", "hotline", 0)]
    theirs = asterisk_states(status, SeatResolver(site), ["1001", "1002"], ["hotline", "wrapq", "county"],
                             {q.name: q.wrapup for q in site.queues}, T + 101, last_queue={"1001": "hotline"})
    assert theirs["1001"].state == "idle" and theirs["1001"].rests == {"wrapq": T + 131}
    assert disagreements(svc.views(), theirs) == []
    await svc.pause("1001", "meal", queue="wrapq")
    status[1] = member("1001", "wrapq", T + 100, paused=True, reason="meal")
    theirs = asterisk_states(status, SeatResolver(site), ["1001", "1002"], ["hotline", "wrapq", "county"],
                             {q.name: q.wrapup for q in site.queues}, T + 101, last_queue={"1001": "hotline"})
    assert theirs["1001"].paused_in == frozenset({"wrapq"})
    assert disagreements(svc.views(), theirs) == []
    # a view that shows the whole seat paused, or no rest in wrapq, disagrees
    wrong = [{**v, "state": "paused"} if v["seat_id"] == "1001" else v for v in svc.views()]
    assert [d.seat_id for d in disagreements(wrong, theirs)] == ["1001"]
    clock.t = T + 101
    restless = [{**v, "queue_states": [{**q, "wrapup_until": None} for q in v["queue_states"]]}
                for v in svc.views()]
    assert [(d.seat_id, d.detail.split(":")[0]) for d in disagreements(restless, theirs)] == [("1001", "queue wrapq")]


async def test_paused_in_every_queue_during_a_call_keeps_the_call(svc: SeatService) -> None:  # noqa: F811
    """Paused while talking: paused (it holds for the next call), the call and its caller still shown."""
    replay(svc, EVENTS[:12])                      # 1001 talking to A
    view = await svc.pause("1001", "break")
    assert pick(view, ["state", "call_id", "caller"]) == {"state": "paused", "call_id": "1795444600.1",
                                                         "caller": "138****5678"}
    view = await svc.pause("1001", "meal", queue="wrapq")   # one queue's reason changed: still paused
    assert view["state"] == "paused" and states(view)["wrapq"] == (True, None)
