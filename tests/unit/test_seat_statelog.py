"""The seat state log: SeatStateLog writes state changes in batches from its own thread into a
real store, keeps them in memory while the store is down and writes them when it is back;
Store.seat_states returns a window's changes plus each seat's last change before it.

Waits are on conditions with a timeout (the writer is a thread), never fixed sleeps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hotline.exceptions import StoreError
from hotline.seats.statelog import SeatStateLog
from hotline.store import Store

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
E0 = T0.timestamp()
TIMEOUT = 10.0

Row = tuple[str, str, str | None, datetime, str | None]


def wait_until(check: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


class FlakyStore(Store):
    """A real SQLite store that records the batches it is given and refuses them while ``down``."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.down = threading.Event()
        self.batches: list[int] = []
        self.refused = 0

    def add_seat_states(self, rows: Sequence[Row]) -> None:
        if self.down.is_set():
            self.refused += 1
            raise StoreError("database is down (test)")
        self.batches.append(len(rows))
        super().add_seat_states(rows)


@pytest.fixture
def flaky(tmp_path: Path) -> Iterator[FlakyStore]:
    s = FlakyStore(f"sqlite:///{tmp_path / 'hotline.db'}")
    s.upgrade()
    yield s
    s.close()


def everything(store: Store) -> list[tuple[str, str, datetime]]:
    return store.seat_states(T0 - timedelta(days=1), T0 + timedelta(days=1))


def test_rows_are_written_in_batches(flaky: FlakyStore) -> None:
    log = SeatStateLog(flaky, interval=0.01)
    # logged before the writer starts: one batch
    log("1001", "idle", None, E0, None)
    log("1001", "ringing", None, E0 + 5, "1795444600.1")
    log("1002", "paused", "break", E0 + 6, None)
    log("1001", "talking", None, E0 + 8, "1795444600.1")
    assert log.pending() == 4
    log.start()
    try:
        wait_until(lambda: log.pending() == 0, "the first batch")
        assert flaky.batches == [4] and log.stats == {"written": 4, "dropped": 0, "errors": 0}
        log("1001", "wrapup", None, E0 + 68, "1795444600.1")
        wait_until(lambda: log.stats["written"] == 5, "the second batch")
    finally:
        log.stop()
    assert flaky.batches == [4, 1]
    assert everything(flaky) == [
        ("1001", "idle", T0), ("1001", "ringing", T0 + timedelta(seconds=5)),
        ("1002", "paused", T0 + timedelta(seconds=6)), ("1001", "talking", T0 + timedelta(seconds=8)),
        ("1001", "wrapup", T0 + timedelta(seconds=68)),
    ]


def test_stop_writes_what_is_pending(flaky: FlakyStore) -> None:
    log = SeatStateLog(flaky, interval=0.01)
    log.start()
    for n in range(50):
        log("1001", "idle" if n % 2 else "paused", None if n % 2 else "break", E0 + n, None)
    log.stop()
    assert log.pending() == 0 and log.stats["written"] == 50 and sum(flaky.batches) == 50
    assert len(everything(flaky)) == 50


def test_bounded_memory_drops_the_newest(flaky: FlakyStore) -> None:
    log = SeatStateLog(flaky, max_pending=3, interval=0.01)
    for n in range(5):
        log("1001", "idle", None, E0 + n, None)
    assert (log.pending(), log.stats["dropped"]) == (3, 2)
    log.start()
    log.stop()
    assert [at for _, _, at in everything(flaky)] == [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)]


def test_rows_wait_while_the_store_is_down(flaky: FlakyStore) -> None:
    flaky.down.set()
    log = SeatStateLog(flaky, interval=0.01)
    log.start()
    try:
        log("1001", "idle", None, E0, None)
        log("1001", "paused", "meal", E0 + 60, None)
        wait_until(lambda: log.stats["errors"] >= 2, "two refused writes")
        assert log.pending() == 2 and log.stats["written"] == 0
        log("1002", "idle", None, E0 + 61, None)     # more changes during the outage
        wait_until(lambda: flaky.refused >= 3, "a retry with the third row")
        assert log.pending() == 3
        flaky.down.clear()
        wait_until(lambda: log.pending() == 0, "the rows written after the outage", timeout=30)
    finally:
        log.stop()
    assert log.stats["written"] == 3 and log.stats["dropped"] == 0
    assert everything(flaky) == [("1001", "idle", T0), ("1001", "paused", T0 + timedelta(seconds=60)),
                                 ("1002", "idle", T0 + timedelta(seconds=61))]


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# Window [at(60), at(120)). Rows are added in this order (ids ascending).
STORED: list[Row] = [
    ("1001", "idle", None, at(0), None),
    ("1003", "logged_out", None, at(5), None),         # 1003's only row, long before the window
    ("1001", "paused", "break", at(30), None),         # 1001's state when the window opens
    ("1001", "idle", None, at(70), None),
    ("1004", "idle", None, at(90), None),               # 1004 logs in inside the window
    ("1001", "talking", None, at(100), "c1"),
    ("1001", "wrapup", None, at(120), "c1"),            # at the end: outside [start, end)
    ("1005", "idle", None, at(130), None),              # only after the window
]


@pytest.mark.parametrize(("start", "end", "before", "inside"), [
    (at(60), at(120), [("1001", "paused", at(30)), ("1003", "logged_out", at(5))],
     [("1001", "idle", at(70)), ("1004", "idle", at(90)), ("1001", "talking", at(100))]),
    # a change exactly at the start is inside (the seat's earlier row still opens the window, for 0 s)
    (at(70), at(100), [("1001", "paused", at(30)), ("1003", "logged_out", at(5))],
     [("1001", "idle", at(70)), ("1004", "idle", at(90))]),
    (at(-60), at(0), [], []),
    (at(200), at(300), [("1001", "wrapup", at(120)), ("1003", "logged_out", at(5)), ("1004", "idle", at(90)),
                        ("1005", "idle", at(130))], []),
], ids=["window", "change-at-start", "before-everything", "after-everything"])
def test_seat_states_window(store: Store, start: datetime, end: datetime, before: list[tuple[str, str, datetime]],
                            inside: list[tuple[str, str, datetime]]) -> None:
    """Every change in [start, end) in time order, after the last change before ``start`` of
    each seat (one per seat: the state the seat was in when the window opened)."""
    store.add_seat_states(STORED)
    rows = store.seat_states(start, end)
    assert sorted(rows[:len(before)]) == before
    assert rows[len(before):] == inside


def test_seat_times_in_sql_equal_the_pure_formula(store: Store) -> None:
    """Occupancy's state times added up by the database (hotline.store.seat_log.times) equal
    queue_manager.metrics.seat_times over the same window's changes, on a random log and windows."""
    import random

    from queue_manager.metrics import seat_times
    rng = random.Random(15)
    states = ("idle", "ringing", "talking", "wrapup", "paused", "logged_out")
    rows: list[Row] = [(f"10{rng.randrange(10):02d}", rng.choice(states), None,
                        T0 + timedelta(microseconds=rng.randrange(6 * 3600 * 10**6)), None) for _ in range(600)]
    rows.sort(key=lambda r: r[3])
    store.add_seat_states(rows)
    windows = [(T0 - timedelta(hours=1), T0), (T0, T0 + timedelta(hours=6)), (at(60), at(120))]
    for _ in range(5):
        a = T0 + timedelta(microseconds=rng.randrange(7 * 3600 * 10**6)) - timedelta(hours=1)
        windows.append((a, a + timedelta(microseconds=rng.randrange(3 * 3600 * 10**6))))
    for start, end in windows:
        want = seat_times(store.seat_states(start, end), start, end)
        got = store.seat_times(start, end)
        assert got.keys() == want.keys(), (start, end)
        for seat, totals in want.items():
            assert got[seat] == pytest.approx({k: v for k, v in totals.items() if v}, abs=1e-6), (start, end, seat)
