"""The seat state machine (queue_manager.seats), table-driven."""

from __future__ import annotations

import pytest

from queue_manager import seats as s
from queue_manager.seats import Policy, Seat, SeatState, SeatStateError

POLICY = Policy(pause_reasons=frozenset({"小休", "培训", "整理"}), auto_pause_after=3)


def at(state: SeatState, **kw) -> Seat:
    return Seat("1001", state=state, since=100.0, **kw)


@pytest.mark.parametrize("start, command, expected", [
    (SeatState.logged_out, lambda x: s.login(x, 200), SeatState.idle),
    (SeatState.idle, lambda x: s.logout(x, 200), SeatState.logged_out),
    (SeatState.paused, lambda x: s.logout(x, 200), SeatState.logged_out),
    (SeatState.wrapup, lambda x: s.logout(x, 200), SeatState.logged_out),
    (SeatState.idle, lambda x: s.pause(x, "小休", POLICY, 200), SeatState.paused),
    (SeatState.wrapup, lambda x: s.pause(x, "整理", POLICY, 200), SeatState.paused),
    (SeatState.talking, lambda x: s.pause(x, "培训", POLICY, 200), SeatState.paused),
    (SeatState.paused, lambda x: s.unpause(x, 200), SeatState.idle),
    (SeatState.idle, lambda x: s.ring(x, "c1", 200), SeatState.ringing),
    (SeatState.ringing, lambda x: s.answer(x, "c1", 200), SeatState.talking),
    (SeatState.talking, lambda x: s.hangup(x, 200, wrapup_s=30), SeatState.wrapup),
    (SeatState.talking, lambda x: s.hangup(x, 200, wrapup_s=0), SeatState.idle),
    (SeatState.wrapup, lambda x: s.wrapup_done(x, 200), SeatState.idle),
])
def test_transitions(start: SeatState, command, expected: SeatState) -> None:
    after = command(at(start))
    assert after.state is expected
    assert after.since == 200


@pytest.mark.parametrize("start, command, error_id", [
    (SeatState.idle, lambda x: s.login(x, 200), "seat-already-logged-in"),
    (SeatState.logged_out, lambda x: s.logout(x, 200), "seat-not-logged-in"),
    (SeatState.talking, lambda x: s.logout(x, 200), "seat-busy"),
    (SeatState.ringing, lambda x: s.logout(x, 200), "seat-busy"),
    (SeatState.logged_out, lambda x: s.pause(x, "小休", POLICY, 200), "seat-not-logged-in"),
    (SeatState.idle, lambda x: s.pause(x, "午睡", POLICY, 200), "unknown-pause-reason"),
    (SeatState.idle, lambda x: s.unpause(x, 200), "seat-not-paused"),
])
def test_refused_commands_keep_the_state(start: SeatState, command, error_id: str) -> None:
    seat = at(start)
    with pytest.raises(SeatStateError) as info:
        command(seat)
    assert info.value.error_id == error_id
    assert seat.state is start  # frozen: nothing changed


def test_pause_reason_changes_without_resetting_time() -> None:
    seat = s.pause(at(SeatState.paused, reason="小休"), "培训", POLICY, 300)
    assert seat.reason == "培训" and seat.since == 100.0


def test_auto_pause_after_three_unanswered_rings() -> None:
    seat = at(SeatState.idle)
    for n in (1, 2):
        seat, paused = s.no_answer(s.ring(seat, f"c{n}", 200 + n), POLICY, 210 + n)
        assert not paused and seat.state is SeatState.idle and seat.unanswered == n
    seat, paused = s.no_answer(s.ring(seat, "c3", 230), POLICY, 240)
    assert paused and seat.state is SeatState.paused and seat.reason == s.AUTO_PAUSE_REASON
    assert s.unpause(seat, 250).unanswered == 0


def test_answer_resets_the_unanswered_count() -> None:
    seat, _ = s.no_answer(s.ring(at(SeatState.idle), "c1", 200), POLICY, 210)
    assert s.answer(s.ring(seat, "c2", 220), "c2", 221).unanswered == 0


def test_auto_pause_disabled() -> None:
    seat = at(SeatState.idle)
    for n in range(10):
        seat, paused = s.no_answer(seat, Policy(frozenset(), auto_pause_after=0), 200 + n)
        assert not paused


def test_hangup_while_paused_stays_paused() -> None:
    seat = s.hangup(at(SeatState.paused, reason="培训", call_id="c1"), 300, wrapup_s=30)
    assert seat.state is SeatState.paused and seat.call_id is None
