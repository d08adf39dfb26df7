"""Duty leases (hotline.store.leases, hotline.background.Duty): several controllers on one store run
each site-wide round on one of them at a time, and a dead holder's duty passes on. Each case on
SQLite and on a real PostgreSQL server (the ``store`` fixture)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from sqlalchemy import text

from apikit import EMPTY_SITE, api_services
from hotline.background import Duty, every
from hotline.exceptions import StoreError
from hotline.store import Store
from hotline.store.leases import DutyLeases

T0 = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)
TTL = dt.timedelta(seconds=30)
HEAD = "0026"   # the newest migration
log = logging.getLogger("test_duty_leases")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


# (seconds after T0, who asks, expected answer, holder afterwards, holding since (s after T0))
STEPS = [
    (0, "node-a", True, "node-a", 0),     # nobody holds it: a takes it
    (1, "node-b", False, "node-a", 0),    # held by a
    (20, "node-a", True, "node-a", 0),    # a renews (until 50), since kept
    (45, "node-b", False, "node-a", 0),   # still a's (renewed)
    (51, "node-b", True, "node-b", 51),   # a stopped renewing at 20: expired at 50, b takes over
    (52, "node-a", False, "node-b", 51),  # a is back: b holds it now
]


def test_a_duty_is_held_by_one_controller_and_passes_on_when_its_holder_stops(store: Store) -> None:
    clock = Clock()
    nodes = {n: DutyLeases(store, n, clock) for n in ("node-a", "node-b")}
    for at, who, answer, holder, since in STEPS:
        clock.now = T0 + dt.timedelta(seconds=at)
        assert nodes[who].hold("revisits", TTL) is answer, (at, who)
        [row] = nodes["node-a"].holders()
        assert (row["holder"], row["since"]) == (holder, (T0 + dt.timedelta(seconds=since)).isoformat()), at


def test_duties_are_independent(store: Store) -> None:
    a, b = DutyLeases(store, "node-a", Clock()), DutyLeases(store, "node-b", Clock())
    assert a.hold("revisits", TTL) and b.hold("duty_probes", TTL)
    assert not a.hold("duty_probes", TTL) and not b.hold("revisits", TTL)
    assert [(r["duty"], r["holder"]) for r in a.holders()] == [("duty_probes", "node-b"), ("revisits", "node-a")]


def _ask(node: DutyLeases, barrier: threading.Barrier, answers: list[tuple[str, bool]]) -> None:
    barrier.wait()
    answers.append((node.holder, node.hold("order_sweep", TTL)))


def test_controllers_racing_for_a_free_duty_get_one_holder(store: Store) -> None:
    """Eight threads of four controllers ask at once, again and again as the lease expires."""
    clock = Clock()
    nodes = [DutyLeases(store, f"node-{k}", clock) for k in range(4)]
    for round_ in range(5):
        clock.now = T0 + dt.timedelta(minutes=round_)   # each round: the previous lease has expired
        answers: list[tuple[str, bool]] = []
        barrier = threading.Barrier(8)
        threads = [threading.Thread(target=_ask, args=(nodes[k % 4], barrier, answers)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        winners = {holder for holder, won in answers if won}
        assert len(answers) == 8 and len(winners) == 1, answers
        assert nodes[0].holders()[0]["holder"] == winners.pop()


async def test_two_controllers_running_a_round_one_runs_it_and_the_other_takes_over_when_it_dies(
        store: Store) -> None:
    """Two controllers' loops (hotline.background.every) on one store, with a short lease: the round
    runs on one; cancelling that loop (its controller died) passes the round to the other."""
    rounds = {"node-a": 0, "node-b": 0}

    def loop(node: str) -> asyncio.Task[None]:
        async def step() -> None:
            rounds[node] += 1
        duty = Duty("revisits", DutyLeases(store, node).hold, 0.5, log)
        return asyncio.create_task(every(0.02, step, log, f"{node} round", duty))

    a, b = loop("node-a"), loop("node-b")
    try:
        while max(rounds.values()) < 10:
            await asyncio.sleep(0.02)
        first = max(rounds, key=lambda n: rounds[n])
        other = "node-b" if first == "node-a" else "node-a"
        assert rounds[other] == 0, rounds        # never both
        (a if first == "node-a" else b).cancel()  # the holder dies
        for _ in range(500):
            if rounds[other] >= 5:
                break
            await asyncio.sleep(0.02)
        assert rounds[other] >= 5, rounds         # the other took the round over after the lease lapsed
    finally:
        for task in (a, b):
            task.cancel()
        await asyncio.gather(a, b, return_exceptions=True)


@pytest.mark.parametrize(("answers", "ran"), [
    ([True, True, True], 3),
    ([False, False, False], 0),
    ([True, False, True], 2),
    ([StoreError("database unavailable: x"), True, StoreError("database unavailable: y")], 1),
])
async def test_a_round_runs_only_while_its_duty_is_held(answers: list[Any], ran: int) -> None:
    """Each round asks first; a database that does not answer skips the round (the lease lapses)."""
    asked: list[str] = []
    steps: list[int] = []

    def hold(name: str, ttl: dt.timedelta) -> bool:
        asked.append(name)
        answer = answers[len(asked) - 1] if len(asked) <= len(answers) else False
        if isinstance(answer, Exception):
            raise answer
        return bool(answer)

    async def step() -> None:
        steps.append(len(asked))

    duty = Duty("hotspots", hold, 30, log)
    task = asyncio.create_task(every(0.001, step, log, "round", duty))
    for _ in range(1000):
        if len(asked) > len(answers):
            break
        await asyncio.sleep(0.002)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert len(asked) > len(answers) and duty.holding is False
    assert steps == [k + 1 for k, a in enumerate(answers) if a is True] and len(steps) == ran


@pytest.mark.postgres
def test_controllers_starting_at_once_on_a_fresh_database_migrate_it_once(pg_url: str) -> None:
    """Three controllers (processes: alembic's context is one per process) run Store.upgrade at the
    same moment on an empty PostgreSQL database: the advisory lock of the migrations' environment
    lets one migrate; the others find it at head."""
    start_at = time.time() + 2.0   # every process is up and waiting by then
    code = ("import sys, time; from hotline.store import Store; s = Store(sys.argv[1]); "
            "time.sleep(max(0.0, float(sys.argv[2]) - time.time())); s.upgrade(); s.close()")
    procs = [subprocess.Popen([sys.executable, "-c", code, pg_url, str(start_at)], stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    results = [(p.returncode, err) for p in procs for _, err in [p.communicate(timeout=120)]]
    assert [rc for rc, _ in results] == [0, 0, 0], results
    store = Store(pg_url)
    try:
        with store.session() as session:
            versions = session.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert versions == [HEAD]
        assert DutyLeases(store, "node-b").hold("revisits", TTL)   # the newest table is there
    finally:
        store.close()


@pytest.mark.parametrize("node", [None, "node-a"])
def test_the_composition_root_gives_the_site_rounds_their_duties_only_with_a_node(
        sqlite_store: Store, node: str | None) -> None:
    site = EMPTY_SITE.model_copy(update={"site": EMPTY_SITE.site.model_copy(update={"node": node})})
    services = api_services(sqlite_store, site=site)
    duties = [services.revisits.duty, services.duty_probes.duty, services.hotspots.duty, services.work_orders.duty]
    if node is None:
        assert duties == [None] * 4   # one controller: every round runs here, no lease taken
        assert services.revisits.status()["runs_here"] and services.hotspots.status()["runs_here"]
        return
    assert [d.name for d in duties if d is not None] == ["revisits", "duty_probes", "hotspots", "order_sweep"]
    assert services.revisits.status()["runs_here"] is None   # not asked yet
