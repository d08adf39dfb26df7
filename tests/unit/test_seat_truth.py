"""hotline.seats.truth: Asterisk's picture of a seat from QueueStatus, our views against it, the
stuck-seat check and the lag of our view behind Asterisk's events."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.config import parse_site
from hotline.seats.snapshot import SeatResolver
from hotline.seats.truth import (AsteriskSeat, Expectation, asterisk_states, disagreements, expected_states,
                                 stuck_seats, state_lags)

T = 1795444600.0
SITE = parse_site({
    "site": {"name": "t", "hotline_number": "12345", "default_queue": "hotline"},
    "trunks": [{"name": "carrier", "host": "192.0.2.10"}],
    "queues": [{"name": "hotline"}, {"name": "wrapq", "wrapup": 6}],
    "seats": [{"id": f"100{i}", "name": f"s{i}", "secret": f"secret-100{i}", "queues": ["hotline", "wrapq"]}
              for i in range(1, 7)],
}, "test")


def member(seat: str, queue: str = "hotline", **fields: str) -> dict[str, str]:
    return {"Event": "QueueMember", "Queue": queue, "Name": seat, "Location": f"PJSIP/{seat}",
            "StateInterface": f"PJSIP/{seat}", "Status": "1", "Paused": "0", "PausedReason": "", "InCall": "0",
            "LastCall": "0", **fields}


def theirs(messages: list[dict[str, str]], now: float = T) -> dict[str, AsteriskSeat]:
    return asterisk_states(messages, SeatResolver(SITE), [s.id for s in SITE.seats], [q.name for q in SITE.queues],
                           {q.name: q.wrapup for q in SITE.queues}, now)


STATUS = [
    member("1001"), member("1001", "wrapq"),
    member("1002", Paused="1", PausedReason="break"), member("1002", "wrapq", Paused="1", PausedReason="break"),
    member("1003", Status="2", InCall="1"), member("1003", "wrapq", Status="2", InCall="1"),
    member("1004", Status="6"), member("1004", "wrapq", Status="6"),
    # the call ended in second T-3; wrapq's wrapuptime is 7 in queues.conf: in wrap-up until T+4
    member("1005", LastCall=str(int(T) - 3)), member("1005", "wrapq", LastCall=str(int(T) - 3)),
]


def test_asterisk_states_in_our_words() -> None:
    states = {s: a.state for s, a in theirs(STATUS).items()}
    assert states == {"1001": "idle", "1002": "paused", "1003": "talking", "1004": "ringing", "1005": "wrapup",
                      "1006": "logged_out"}
    assert theirs(STATUS)["1005"].wrapup_until == int(T) + 4


def test_wrapup_ends_on_asterisk_whole_second() -> None:
    # time(NULL) - LastCall < 7: still in wrap-up at T+3.99, offered calls again at T+4
    assert theirs(STATUS, T + 3.99)["1005"].state == "wrapup"
    assert theirs(STATUS, T + 4.0)["1005"].state == "idle"


def view(seat: str, state: str, **more: Any) -> dict[str, Any]:
    return {"seat_id": seat, "state": state, "since": T - 1, "queues": ["hotline", "wrapq"], "call_id": None, **more}


def test_disagreements_name_both_sides() -> None:
    ours = [view("1001", "idle"), view("1002", "paused"), view("1003", "talking", call_id="c1"),
            view("1004", "idle"), view("1005", "wrapup"), view("1006", "logged_out", queues=[])]
    assert [d.as_dict() for d in disagreements(ours, theirs(STATUS))] == [
        {"seat_id": "1004", "ours": "idle", "asterisk": "ringing", "detail": "device ringing"}]


def test_a_missing_queue_is_a_disagreement() -> None:
    d = disagreements([view("1001", "idle", queues=["hotline"])], theirs(STATUS))
    assert [(x.seat_id, x.detail) for x in d] == [("1001", "queues ours ['hotline'] asterisk ['hotline', 'wrapq']")]


def test_no_stuck_seat_when_all_agree() -> None:
    idle = [member(s, q) for s in ("1001", "1002") for q in ("hotline", "wrapq")]
    ours = [view("1001", "idle"), view("1002", "idle"), *(view(s, "logged_out", queues=[]) for s in
                                                         ("1003", "1004", "1005", "1006"))]
    assert stuck_seats(ours, theirs(idle), T, wrapup_max_s=6) == []


def test_stuck_seats_after_the_calls_ended() -> None:
    idle = [member(s, q) for s in ("1001", "1002", "1003", "1004", "1005") for q in ("hotline", "wrapq")]
    idle += [member("1006", q, Status="2", InCall="1") for q in ("hotline", "wrapq")]
    ours = [view("1001", "talking", call_id="c1"), view("1002", "ringing"),
            view("1003", "wrapup", since=T - 30), view("1004", "idle", call_id="c4"),
            view("1005", "paused"), view("1006", "idle")]
    got = {d.seat_id: (d.ours, d.asterisk, d.detail) for d in stuck_seats(ours, theirs(idle), T, wrapup_max_s=6)}
    assert got == {
        "1001": ("talking", "idle", "talking with no call"),
        "1002": ("ringing", "idle", "ringing with no call"),
        "1003": ("wrapup", "idle", "wrap-up for 30 s (longest wrap-up 6 s)"),
        "1004": ("idle", "idle", "idle holding call c4"),
        "1005": ("paused", "idle", "disagree: device not_inuse"),
        "1006": ("idle", "talking", "Asterisk has the member talking with no call"),
    }


def test_a_wrapup_just_over_on_one_side_is_not_stuck() -> None:
    idle = [member("1001", q) for q in ("hotline", "wrapq")]
    assert stuck_seats([view("1001", "wrapup", since=T - 6.5, call_id="c1")], theirs(idle), T, wrapup_max_s=6) == []


@pytest.mark.parametrize(("headers", "states"), [
    ({"Event": "AgentCalled", "Queue": "hotline"}, {"ringing"}),
    ({"Event": "AgentConnect", "Queue": "hotline"}, {"talking", "paused"}),
    ({"Event": "AgentComplete", "Queue": "wrapq"}, {"wrapup", "paused"}),
    ({"Event": "AgentComplete", "Queue": "hotline"}, {"idle", "wrapup", "paused"}),   # it may rest in its other queues
    ({"Event": "AgentRingNoAnswer", "Queue": "hotline"}, {"idle", "paused"}),
    ({"Event": "QueueMemberPause", "Paused": "1"}, {"paused"}),
    ({"Event": "QueueMemberPause", "Paused": "0"}, {"idle", "ringing", "talking", "wrapup"}),
    ({"Event": "QueueCallerJoin"}, None),
])
def test_expected_states(headers: dict[str, str], states: set[str] | None) -> None:
    got = expected_states(headers, {"hotline": 0, "wrapq": 6})
    assert (set(got) if got is not None else None) == states


def exp(at: float, state: str, seat: str = "1001", event: str = "E") -> Expectation:
    return Expectation(at, seat, frozenset({state}), event)


def test_lags_measured_from_asterisk_time_to_our_view() -> None:
    shown = {"1001": [(T - 5, "idle"), (T + 0.05, "ringing"), (T + 1.3, "talking"), (T + 9.0, "wrapup")]}
    rep = state_lags([exp(T, "ringing"), exp(T + 1.0, "talking"), exp(T + 8.5, "wrapup")], shown)
    assert rep.lags == pytest.approx([0.05, 0.3, 0.5]) and rep.missed == []
    assert [round(lag, 2) for lag, _ in rep.worst] == [0.5, 0.3, 0.05]


def test_a_state_already_shown_is_no_lag() -> None:
    rep = state_lags([exp(T, "idle")], {"1001": [(T - 5, "idle")]})
    assert rep.lags == [0.0] and rep.missed == []


def test_a_state_never_shown_is_missed() -> None:
    # Asterisk: ringing then talking; our view went from idle straight to talking
    shown = {"1001": [(T - 5, "idle"), (T + 1.2, "talking")]}
    rep = state_lags([exp(T, "ringing"), exp(T + 1.0, "talking")], shown)
    assert [e.states for e in rep.missed] == [frozenset({"ringing"})] and rep.lags == pytest.approx([0.2])
    # and one shown only beyond the horizon
    late = state_lags([exp(T, "ringing")], {"1001": [(T + 20, "ringing")]}, horizon_s=10)
    assert len(late.missed) == 1
