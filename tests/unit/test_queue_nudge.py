"""A freed seat wakes its next caller (hotline/seats/nudge.py): app_queue's events in, the
``PlayDTMF`` (received) actions out, with a recording AMI. The same on a real Asterisk:
tests/integration/test_queue_wake.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotline.seats.nudge import MIN_GAP_S, WAKE_KEY, QueueNudge

CALLER_A, CALLER_B, CALLER_C = "PJSIP/trunk-00000001", "PJSIP/trunk-00000002", "PJSIP/trunk-00000003"


class Ami:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[dict[str, str]] = []
        self.fail = fail

    async def send(self, action: dict[str, str], *, as_list: bool | None = None) -> dict[str, str]:
        assert as_list is False   # "DTMF successfully queued" is one response, not a list
        self.sent.append(action)
        if self.fail:
            raise ConnectionError("AMI down")
        return {"Response": "Success"}

    def woken(self) -> list[str]:
        return [a["Channel"] for a in self.sent]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def join(queue: str, channel: str, position: int) -> dict[str, str]:
    return {"Event": "QueueCallerJoin", "Queue": queue, "Channel": channel, "Position": str(position), "Count": "1"}


def member(event: str, queue: str = "hotline", status: str = "1", paused: str = "0") -> dict[str, str]:
    return {"Event": event, "Queue": queue, "MemberName": "1001", "Interface": "PJSIP/1001", "Status": status,
            "Paused": paused}


async def settle(nudge: QueueNudge) -> None:
    for _ in range(3):
        await asyncio.sleep(0)


@pytest.fixture
def rig() -> tuple[QueueNudge, Ami, Clock]:
    ami, clock = Ami(), Clock()
    return QueueNudge(ami.send, {"hotline": 0, "rest": 3}, clock=clock, wall=lambda: 1000.4), ami, clock


@pytest.mark.parametrize(("event", "wakes"), [
    (member("QueueMemberStatus"), True),                       # the seat's device became not in use
    (member("QueueMemberStatus", status="2"), False),          # in use
    (member("QueueMemberStatus", status="6"), False),          # ringing
    (member("QueueMemberStatus", status="5"), False),          # unavailable (phone gone)
    (member("QueueMemberStatus", paused="1"), False),          # free but paused
    (member("QueueMemberPause"), True),                        # unpaused while free
    (member("QueueMemberPause", paused="1"), False),           # paused
    (member("QueueMemberAdded"), True),                        # logged in while free
    (member("QueueMemberAdded", status="5"), False),           # logged in, phone not registered
    (member("QueueMemberStatus", queue="other"), False),       # a queue nobody waits in
    ({"Event": "QueueMemberStatus", "Queue": "hotline"}, False),   # no status: nothing known
])
async def test_which_member_events_free_a_seat(rig: tuple[QueueNudge, Ami, Clock], event: dict[str, str],
                                               wakes: bool) -> None:
    nudge, ami, _ = rig
    nudge.on_ami_event(join("hotline", CALLER_A, 1))
    nudge.on_ami_event(event)
    await settle(nudge)
    assert ami.sent == ([{"Action": "PlayDTMF", "Channel": CALLER_A, "Digit": WAKE_KEY, "Receive": "yes"}]
                        if wakes else [])


async def test_the_first_caller_not_ringing_is_woken_in_app_queues_order(rig: tuple[QueueNudge, Ami, Clock]) -> None:
    nudge, ami, clock = rig
    nudge.on_ami_event(join("hotline", CALLER_A, 1))
    nudge.on_ami_event(join("hotline", CALLER_B, 2))
    nudge.on_ami_event(join("hotline", CALLER_C, 1))    # a priority caller goes first (app_queue's position)
    assert nudge.callers["hotline"] == [CALLER_C, CALLER_A, CALLER_B]
    nudge.on_ami_event({"Event": "AgentCalled", "Queue": "hotline", "Channel": CALLER_C, "MemberName": "1002"})
    nudge.on_ami_event(member("QueueMemberStatus"))
    await settle(nudge)
    assert ami.woken() == [CALLER_A]                    # C is ringing a seat already
    nudge.on_ami_event(member("QueueMemberStatus"))     # a second seat at once: the next caller
    await settle(nudge)
    assert ami.woken() == [CALLER_A, CALLER_B]
    nudge.on_ami_event(member("QueueMemberStatus"))     # nobody left to wake this instant
    await settle(nudge)
    assert ami.woken() == [CALLER_A, CALLER_B] and nudge.stats["no_caller"] == 1
    clock.now += 2 * MIN_GAP_S
    nudge.on_ami_event({"Event": "AgentRingNoAnswer", "Queue": "hotline", "Channel": CALLER_C})
    nudge.on_ami_event(member("QueueMemberStatus"))
    await settle(nudge)
    assert ami.woken() == [CALLER_A, CALLER_B, CALLER_C]   # C no longer ringing, first again


async def test_callers_who_leave_are_forgotten(rig: tuple[QueueNudge, Ami, Clock]) -> None:
    nudge, ami, _ = rig
    nudge.on_ami_event(join("hotline", CALLER_A, 1))
    nudge.on_ami_event(join("hotline", CALLER_B, 2))
    nudge.on_ami_event({"Event": "AgentCalled", "Queue": "hotline", "Channel": CALLER_A})
    nudge.on_ami_event({"Event": "QueueCallerLeave", "Queue": "hotline", "Channel": CALLER_A, "Position": "1"})
    nudge.on_ami_event({"Event": "QueueCallerAbandon", "Queue": "hotline", "Channel": CALLER_B, "Position": "1"})
    assert nudge.callers == {} and nudge.ringing == set()
    nudge.on_ami_event(member("QueueMemberStatus"))
    await settle(nudge)
    assert ami.sent == [] and nudge.status()["waiting"] == 0


@pytest.mark.parametrize("event", [
    {"Event": "QueueCallerJoin", "Queue": "hotline", "Channel": CALLER_A, "Position": "x"},   # junk position
    {"Event": "QueueCallerJoin", "Queue": "hotline", "Channel": CALLER_A},                    # none
    {"Event": "QueueCallerJoin", "Queue": "hotline", "Channel": CALLER_A, "Position": "99"},  # past the end
    {"Event": "QueueCallerJoin", "Queue": "hotline", "Channel": CALLER_A, "Position": "-3"},
])
async def test_a_join_with_a_bad_position_still_counts_the_caller(rig: tuple[QueueNudge, Ami, Clock],
                                                                  event: dict[str, str]) -> None:
    nudge, _, _ = rig
    nudge.on_ami_event(join("hotline", CALLER_B, 1))
    nudge.on_ami_event(event)
    nudge.on_ami_event(event)   # twice: once in the line
    assert sorted(nudge.callers["hotline"]) == [CALLER_A, CALLER_B]


async def test_junk_events_change_nothing(rig: tuple[QueueNudge, Ami, Clock]) -> None:
    nudge, ami, _ = rig
    for event in ({}, {"Event": "QueueCallerJoin"}, {"Event": "QueueCallerLeave", "Queue": "nope", "Channel": "x"},
                  {"Event": "AgentComplete"}, {"Event": "Hangup", "Channel": CALLER_A}):
        nudge.on_ami_event(event)
    await settle(nudge)
    assert nudge.callers == {} and ami.sent == []


async def test_the_end_of_a_wrap_up_wakes_the_next_caller(rig: tuple[QueueNudge, Ami, Clock]) -> None:
    """app_queue frees the seat ``wrapuptime`` whole seconds after the second the call ended: the
    wall clock reads 1000.4, so 3 s of wrap-up end at 1003.0 (2.6 s from now) plus the margin."""
    nudge, ami, _ = rig
    loop = asyncio.get_running_loop()
    scheduled: list[tuple[float, Any]] = []
    real = loop.call_later

    def spy(delay: float, callback: Any, *args: Any) -> Any:
        if getattr(callback, "__self__", None) is not nudge:   # asyncio's own (sleep)
            return real(delay, callback, *args)
        scheduled.append((delay, args))
        return real(0, callback, *args)

    loop.call_later = spy   # type: ignore[method-assign]
    try:
        nudge.on_ami_event(join("rest", CALLER_A, 1))
        nudge.on_ami_event({"Event": "AgentComplete", "Queue": "rest", "Channel": CALLER_B, "MemberName": "1001"})
        nudge.on_ami_event({"Event": "AgentComplete", "Queue": "hotline", "Channel": CALLER_C})   # no wrap-up
        await asyncio.sleep(0.01)
    finally:
        del loop.call_later
    assert [(round(d, 2), a) for d, a in scheduled] == [(2.65, ("rest",))]
    assert ami.woken() == [CALLER_A]


async def test_a_caller_whose_wake_fails_is_forgotten_and_the_next_is_woken() -> None:
    """Its leave was missed (AMI away), or it is gone: never again first in line (24x7: a stale
    caller at the head would take every later wake)."""
    ami, clock = Ami(fail=True), Clock()
    nudge = QueueNudge(ami.send, {}, clock=clock)
    nudge.on_ami_event(join("hotline", CALLER_A, 1))
    nudge.on_ami_event(join("hotline", CALLER_B, 2))
    nudge.on_ami_event(member("QueueMemberStatus"))
    await settle(nudge)
    assert nudge.stats == {"woken": 0, "failed": 1, "no_caller": 0}
    assert nudge.callers == {"hotline": [CALLER_B]}
    ami.fail = False
    nudge.on_ami_event(member("QueueMemberStatus"))
    await settle(nudge)
    assert nudge.stats["woken"] == 1 and ami.woken() == [CALLER_A, CALLER_B]


async def test_ringing_callers_whose_end_was_missed_do_not_pile_up(rig: tuple[QueueNudge, Ami, Clock]) -> None:
    nudge, _, _ = rig
    nudge.on_ami_event(join("hotline", CALLER_A, 1))
    for k in range(500):   # offers whose end never came (AMI away): bounded
        nudge.on_ami_event({"Event": "AgentCalled", "Queue": "hotline", "Channel": f"PJSIP/gone-{k}"})
    assert len(nudge.ringing) <= 2 * 1 + 100 + 1


async def test_nothing_is_woken_after_the_stop(rig: tuple[QueueNudge, Ami, Clock]) -> None:
    nudge, ami, _ = rig
    nudge.on_ami_event(join("hotline", CALLER_A, 1))
    nudge.stop()
    assert nudge.wake("hotline") is None   # e.g. a wrap-up's end scheduled before the stop
    await settle(nudge)
    assert ami.sent == []


async def test_a_ring_nobody_answered_keeps_the_queues_retry_wait(rig: tuple[QueueNudge, Ami, Clock]) -> None:
    """Ringing (6) -> not in use (1) is a ring that ended unanswered: app_queue's ``retry`` stands (a
    seat that did not answer is not rung again at once); in use (2) -> not in use is a freed seat."""
    nudge, ami, _ = rig
    nudge.on_ami_event(join("hotline", CALLER_A, 1))
    nudge.on_ami_event(member("QueueMemberStatus", status="6"))
    nudge.on_ami_event(member("QueueMemberStatus", status="1"))
    nudge.on_ami_event(member("QueueMemberStatus", queue="wrapq", status="1"))   # another queue: its own history
    await settle(nudge)
    assert ami.sent == []
    nudge.on_ami_event(member("QueueMemberStatus", status="2"))
    nudge.on_ami_event(member("QueueMemberStatus", status="1"))
    await settle(nudge)
    assert ami.woken() == [CALLER_A]


async def test_after_a_reconnect_the_callers_waiting_now_are_the_line(rig: tuple[QueueNudge, Ami, Clock]) -> None:
    """Callers who joined while AMI was away come from QueueStatus (the seat service's entries);
    those who left meanwhile are forgotten; nobody counts as ringing any more."""
    from hotline.seats.snapshot import QueueEntry, QueueLive

    nudge, ami, _ = rig
    nudge.on_ami_event(join("hotline", CALLER_A, 1))
    nudge.on_ami_event({"Event": "AgentCalled", "Queue": "hotline", "Channel": CALLER_A})
    hotline = QueueLive("hotline", None, {
        "u3": QueueEntry("u3", "u3", "139", 1.0, 2, channel=CALLER_C),
        "u2": QueueEntry("u2", "u2", "138", 0.5, 1, channel=CALLER_B),
        "u9": QueueEntry("u9", "u9", None, 0.2, 3)})   # no channel said: not wakeable
    nudge.reseed([hotline, QueueLive("rest", None, {})])
    assert nudge.callers == {"hotline": [CALLER_B, CALLER_C]} and nudge.ringing == set()
    nudge.on_ami_event(member("QueueMemberStatus"))
    await settle(nudge)
    assert ami.woken() == [CALLER_B]
