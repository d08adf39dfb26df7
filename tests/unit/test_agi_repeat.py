"""Repeat callers (issue #3): the FastAGI process's memory of arrivals, the priority decision,
the inbound route, and seeding from the store. Times are epoch seconds handed in: no sleeping."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agi_scripts.decide import RouteDecision, decide_route
from agi_scripts.repeat import RecentCallers
from agi_scripts.routes import build_router
from agi_scripts.server import FastAgiServer
from hotline.records.call import CallRecord, Outcome
from hotline.config import parse_site
from hotline.exceptions import StoreError
from hotline.store import Store
from hotline.store.recent import recent_callers

from test_agi_server import call, env_block, make_server  # noqa: F401  (make_server: a fixture)

H = 3600.0
SITE = parse_site({
    "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
    "queues": [{"name": "hotline"}],
    "diversion_110": {"numbers": ["85110110"], "priority": 10},
    "repeat_caller": {"within_hours": 2, "priority": 5},
})


# --- the memory -----------------------------------------------------------------------

@pytest.mark.parametrize("arrivals, expected", [
    # (number, seconds) in order -> whether each was a repeat
    ([("138", 0), ("138", 60)], [False, True]),
    ([("138", 0), ("138", 2 * H)], [False, True]),          # exactly at the window's edge: still within
    ([("138", 0), ("138", 2 * H + 1)], [False, False]),     # just past it: forgotten
    ([("138", 0), ("139", 10), ("138", 20)], [False, False, True]),
    ([("anonymous", 0), ("anonymous", 1)], [False, False]),  # withheld numbers never repeat
    ([("", 0), ("", 1)], [False, False]),
    # each arrival restarts the window: 0, 1.5 h, 3 h are each within 2 h of the one before
    ([("138", 0), ("138", 1.5 * H), ("138", 3 * H)], [False, True, True]),
])
def test_memory(arrivals: list[tuple[str, float]], expected: list[bool]) -> None:
    memory = RecentCallers(window_s=2 * H)
    assert [memory.arrive(n, t) for n, t in arrivals] == expected


def test_memory_is_bounded_and_expires() -> None:
    memory = RecentCallers(window_s=2 * H, max_numbers=3)
    for i, number in enumerate(("1", "2", "3", "4")):
        memory.arrive(number, float(i))
    assert len(memory) == 3
    assert memory.arrive("1", 10.0) is False       # evicted as the least recently seen
    assert memory.arrive("4", 11.0) is True
    memory.arrive("5", 3 * H)                      # everything else is older than 2 h by now
    assert len(memory) == 1


def test_memory_off_when_the_window_is_zero() -> None:
    memory = RecentCallers(window_s=0)
    assert [memory.arrive("138", 0), memory.arrive("138", 1)] == [False, False]
    assert memory.seed([("138", 0)], now=1) == 0


def test_seed_keeps_the_window_and_the_newest_arrival() -> None:
    memory = RecentCallers(window_s=2 * H)
    memory.arrive("138", 100 * H)
    remembered = memory.seed([("138", 99 * H), ("139", 99.5 * H), ("140", 97 * H), ("anonymous", 99 * H)],
                             now=100 * H)
    assert remembered == 2                         # 138 (from memory), 139; 140 too old; anonymous never
    assert memory.arrive("139", 101 * H) is True   # 1.5 h after 99.5 h
    assert memory.arrive("138", 101.9 * H) is True  # the in-memory 100 h arrival was kept, not the seed's 99 h


# --- the decision ---------------------------------------------------------------------

@pytest.mark.parametrize("dialled, caller, repeat, expected", [
    ("12345", "13800138000", False, RouteDecision("hotline", 0, "hotline")),
    ("12345", "13800138000", True, RouteDecision("hotline", 5, "hotline", "repeat_caller")),
    ("12345", "anonymous", True, RouteDecision("hotline", 0, "hotline")),
    # 110 diversion: 10 already, above the repeat-caller 5: unchanged, no repeat reason
    ("85110110", "13800138000", True, RouteDecision("hotline", 10, "diverted-110")),
])
def test_decide_route_for_repeat_callers(dialled: str, caller: str, repeat: bool, expected: RouteDecision) -> None:
    assert decide_route(SITE, dialled, caller, repeat=repeat) == expected


@pytest.mark.parametrize("repeat_caller, diverted_priority, expected", [
    ({"within_hours": 2, "priority": 20}, 10, (20, "repeat_caller")),   # above the diversion: raised
    ({"within_hours": 2, "priority": 10}, 10, (10, None)),              # equal: the diversion's own
    ({"within_hours": 0, "priority": 20}, 10, (10, None)),              # off
    ({"within_hours": 2, "priority": 0}, 10, (10, None)),               # off
])
def test_repeat_priority_never_lowers_a_diversion(repeat_caller: dict[str, int], diverted_priority: int,
                                                  expected: tuple[int, str | None]) -> None:
    site = parse_site({"trunks": [{"name": "c", "host": "127.0.0.2"}], "repeat_caller": repeat_caller,
                       "diversion_110": {"numbers": ["85110110"], "priority": diverted_priority}})
    d = decide_route(site, "85110110", "13800138000", repeat=True)
    assert (d.priority, d.priority_reason) == expected


# --- the inbound route ----------------------------------------------------------------

async def test_second_call_within_the_window_gets_the_priority_and_its_reason(
        make_server: Callable[..., Awaitable[FastAgiServer]]) -> None:
    now = [datetime(2026, 11, 23, 1, 0, tzinfo=UTC)]
    server = await make_server(build_router(SITE, clock=lambda: now[0]))
    first = await call(server, env_block("inbound?dialled=12345"))
    now[0] += timedelta(minutes=30)
    second = await call(server, env_block("inbound?dialled=12345"))
    now[0] += timedelta(hours=3)
    third = await call(server, env_block("inbound?dialled=12345"))
    anonymous = [await call(server, env_block("inbound?dialled=12345", agi_callerid="")) for _ in range(2)]
    assert first[:-1] == ['SET VARIABLE HOTLINE_CALLER "13800138000"', 'SET VARIABLE HOTLINE_ROUTE_PRIORITY "0"',
                          'SET VARIABLE HOTLINE_ROUTE_QUEUE "hotline"']
    assert second[:-1] == ['SET VARIABLE HOTLINE_CALLER "13800138000"', 'SET VARIABLE HOTLINE_ROUTE_PRIORITY "5"',
                           'SET VARIABLE HOTLINE_ROUTE_PRIORITY_REASON "repeat_caller"',
                           'SET VARIABLE HOTLINE_ROUTE_QUEUE "hotline"']
    assert first[-1].startswith("SET VARIABLE HOTLINE_ROUTE_SIG ") and second[-1] != first[-1]
    assert third == first   # 3 h after the last call: outside the 2 h window
    assert all('SET VARIABLE HOTLINE_ROUTE_PRIORITY "0"' in c for c in anonymous)


# --- seeding from the store -----------------------------------------------------------

def test_recent_callers_come_from_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hotline.db'}"
    store = Store(url)
    store.upgrade()
    t0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    for i, (caller, hours_ago) in enumerate((("13800000001", 1), ("13800000002", 5), ("anonymous", 1))):
        store.upsert_call(CallRecord(call_id=f"1795444539.{i}", dialled_number="12345", caller_number=caller,
                                     arrived_at=t0 - timedelta(hours=hours_ago), outcome=Outcome.answered))
    store.close()
    assert recent_callers(url, t0 - timedelta(hours=2)) == [("13800000001", (t0 - timedelta(hours=1)).timestamp())]


def test_no_database_yet_is_no_callers_and_a_dead_one_is_a_store_error(tmp_path: Path) -> None:
    assert recent_callers(f"sqlite:///{tmp_path / 'missing.db'}", datetime(2026, 1, 1, tzinfo=UTC)) == []
    assert not (tmp_path / "missing.db").exists()   # read-only: not created
    with pytest.raises(StoreError):
        recent_callers("postgresql+psycopg://hotline:x@127.0.0.1:1/hotline", datetime(2026, 1, 1, tzinfo=UTC))


async def test_seeding_from_a_dead_database_logs_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    from hotline.agi_process import _seed

    memory = RecentCallers(window_s=2 * H)
    await _seed(memory, "postgresql+psycopg://hotline:x@127.0.0.1:1/hotline", memory.window_s)
    assert len(memory) == 0
    assert "going on with memory only" in caplog.text
    assert memory.arrive("138", 0) is False and memory.arrive("138", 1) is True   # memory still works
