"""Seat time per state and occupancy from the seat state log (queue_manager.metrics.seat_times,
occupancy). Every expected number is worked out by hand below the window [10:00, 11:00)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from queue_manager.metrics import occupancy, seat_times

START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
END = START + timedelta(hours=1)


def at(hhmm: str) -> datetime:
    h, m = hhmm.split(":")
    return datetime(2026, 11, 23, int(h), int(m), tzinfo=UTC)


CHANGES = [
    # 1001: logged in before the window, paused in the middle, a call whose wrap-up crosses the end
    ("1001", "idle", at("09:30")),
    ("1001", "paused", at("10:10")),
    ("1001", "idle", at("10:20")),
    ("1001", "ringing", at("10:40")),
    ("1001", "talking", at("10:41")),
    ("1001", "wrapup", at("10:55")),
    ("1001", "idle", at("11:05")),          # after the window: ends the wrap-up, counts nothing
    # 1002: logs in at 10:30, still talking when the window closes
    ("1002", "logged_out", at("09:00")),
    ("1002", "idle", at("10:30")),
    ("1002", "talking", at("10:45")),
    # 1003: never staffed in the window
    ("1003", "logged_out", at("08:00")),
    # 1004: paused all hour (an earlier idle row is superseded before the window opens)
    ("1004", "idle", at("09:00")),
    ("1004", "paused", at("09:30")),
]

# 1001: idle 10:00-10:10 + 10:20-10:40 = 600 + 1200; paused 600; ringing 60; talking 840; wrap-up 300
# 1002: logged_out 1800; idle 900; talking 900
TIMES = {
    "1001": {"idle": 1800.0, "paused": 600.0, "ringing": 60.0, "talking": 840.0, "wrapup": 300.0},
    "1002": {"logged_out": 1800.0, "idle": 900.0, "talking": 900.0},
    "1003": {"logged_out": 3600.0},
    "1004": {"paused": 3600.0},
}


def test_seat_times() -> None:
    times = seat_times(CHANGES, START, END)
    assert times == TIMES
    assert {seat: sum(t.values()) for seat, t in times.items()} == {s: 3600.0 for s in TIMES}


def test_seat_times_ignores_input_order() -> None:
    assert seat_times(list(reversed(CHANGES)), START, END) == TIMES


@pytest.mark.parametrize(("changes", "expected"), [
    ([], {}),
    # a change exactly at the start opens the window; one exactly at the end counts nothing
    ([("1", "idle", START), ("1", "talking", END)], {"1": {"idle": 3600.0}}),
    # only a change after the window: the seat is listed with no time
    ([("1", "idle", at("11:30"))], {"1": {}}),
    # seconds, with fractions
    ([("1", "idle", START), ("1", "talking", START + timedelta(seconds=12.5))],
     {"1": {"idle": 12.5, "talking": 3587.5}}),
], ids=["nothing", "at-the-edges", "after-only", "fractions"])
def test_seat_times_edges(changes: list[tuple[str, str, datetime]], expected: dict[str, dict[str, float]]) -> None:
    assert seat_times(changes, START, END) == expected


def test_occupancy() -> None:
    # staffed = idle + ringing + talking + wrapup; handle = talking + wrapup
    # 1001: staffed 1800 + 60 + 840 + 300 = 3000, handle 1140 -> 0.38
    # 1002: staffed 1800, handle 900 -> 0.5
    # all: staffed 4800, handle 2040 -> 0.425
    assert occupancy(TIMES) == {
        "1001": {"staffed_seconds": 3000.0, "handle_seconds": 1140.0, "occupancy": 0.38},
        "1002": {"staffed_seconds": 1800.0, "handle_seconds": 900.0, "occupancy": 0.5},
        "1003": {"staffed_seconds": 0.0, "handle_seconds": 0.0, "occupancy": None},
        "1004": {"staffed_seconds": 0.0, "handle_seconds": 0.0, "occupancy": None},
        "all": {"staffed_seconds": 4800.0, "handle_seconds": 2040.0, "occupancy": 0.425},
    }


@pytest.mark.parametrize(("times", "expected_all"), [
    ({}, {"staffed_seconds": 0.0, "handle_seconds": 0.0, "occupancy": None}),
    # 1200 / 3600 rounded to 4 places
    ({"1": {"idle": 2400.0, "talking": 1200.0}}, {"staffed_seconds": 3600.0, "handle_seconds": 1200.0,
                                                  "occupancy": 0.3333}),
    # talking the whole time: 100 %
    ({"1": {"talking": 600.0, "paused": 3000.0}}, {"staffed_seconds": 600.0, "handle_seconds": 600.0,
                                                    "occupancy": 1.0}),
], ids=["no-seats", "a-third", "all-talk"])
def test_occupancy_totals(times: dict[str, dict[str, float]], expected_all: dict[str, float | None]) -> None:
    assert occupancy(times)["all"] == expected_all
