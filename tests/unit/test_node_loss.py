"""A node lost for good loses no record (hotline.calls.node_loss, hotline.store.open_calls): each
controller keeps its calls in progress in the shared store, and another closes them once the node
has stopped beating for ``lost_after``; never twice, never over a record the node wrote. Each case
on SQLite and on a real PostgreSQL server (the ``store`` fixture)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping

from sqlalchemy import func, select

from hotline.exceptions import StoreError
from hotline.calls.node_loss import CUT_BY_NODE_LOSS, NodeLoss, events_from_json, events_json
from hotline.records.call import CallRecord, Outcome
from hotline.store import Store
from hotline.store.open_call_models import OpenCallRow
from hotline.store.open_calls import OpenCalls

from test_restart_cut import ANSWERED_ID, ANSWERED_UP, DIRECTORY, QUEUED_ID, QUEUED_UP, events, lines, tracker

LOST_AFTER = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def node(store: Store, name: str, clock: Clock, sink: list[CallRecord]) -> NodeLoss:
    return NodeLoss(tracker(sink), OpenCalls(store, name, clock), DIRECTORY, LOST_AFTER)


def feed(loss: NodeLoss, raw: list[bytes]) -> None:
    for e in events(raw):
        loss._tracker.add(e)


def round_(loss: NodeLoss) -> list[str]:
    return list(loss.write(*loss.snapshot()).recorded)


def open_rows(store: Store) -> dict[str, str]:
    with store.session() as s:
        return dict(s.execute(select(OpenCallRow.call_id, OpenCallRow.node)).all())


def test_events_round_trip_through_json() -> None:
    evs = events(lines("answered_merged_call"))
    assert events_from_json(events_json(evs)) == evs


def test_a_lost_nodes_calls_are_closed_by_another_node_once(store: Store) -> None:
    clock = Clock()
    a, b = node(store, "node-a", clock, []), node(store, "node-b", clock, [])
    feed(a, ANSWERED_UP + QUEUED_UP)
    assert round_(a) == [] and round_(b) == []
    assert open_rows(store) == {ANSWERED_ID: "node-a", QUEUED_ID: "node-a"}
    seen_a = clock.now
    clock.now += dt.timedelta(seconds=LOST_AFTER - 1)   # node-a silent, not yet lost
    assert round_(b) == [] and len(open_rows(store)) == 2
    clock.now += dt.timedelta(seconds=2)                 # lost: node-b closes its calls
    assert sorted(round_(b)) == [ANSWERED_ID, QUEUED_ID]
    assert open_rows(store) == {} and b.closed == 2
    answered, queued = store.get_call(ANSWERED_ID), store.get_call(QUEUED_ID)
    assert answered.outcome is Outcome.answered and answered.seat == "1001"
    assert answered.ended_at == seen_a and answered.extra["cut_by"] == CUT_BY_NODE_LOSS
    assert queued.outcome is Outcome.abandoned_in_queue and queued.extra["cut_by"] == CUT_BY_NODE_LOSS
    assert round_(b) == []   # nothing left: never twice
    c = node(store, "node-c", clock, [])   # a third node finds nothing either
    assert round_(c) == []
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(OpenCallRow)) == 0


def test_a_record_the_node_wrote_is_never_replaced_by_a_guess(store: Store) -> None:
    clock = Clock()
    a, b = node(store, "node-a", clock, []), node(store, "node-b", clock, [])
    feed(a, ANSWERED_UP)
    round_(a)
    whole: list[CallRecord] = []   # the call ended; its record landed, and the node died before its next round
    t = tracker(whole)
    for e in events(lines("answered_merged_call")):
        t.add(e)
    store.upsert_call(whole[0])
    clock.now += dt.timedelta(seconds=LOST_AFTER + 1)
    assert round_(b) == [] and open_rows(store) == {}
    assert store.get_call(ANSWERED_ID) == whole[0]


def test_a_node_that_comes_back_writes_its_own_record_over_the_guess(store: Store) -> None:
    clock = Clock()
    a, b = node(store, "node-a", clock, []), node(store, "node-b", clock, [])
    feed(a, ANSWERED_UP)
    round_(a)
    clock.now += dt.timedelta(seconds=LOST_AFTER + 1)
    assert round_(b) == [ANSWERED_ID]
    whole: list[CallRecord] = []
    t = tracker(whole)
    for e in events(lines("answered_merged_call")):
        t.add(e)
    store.upsert_call(whole[0])   # node-a back: its reconciler writes the call from its CEL log
    got = store.get_call(ANSWERED_ID)
    assert got == whole[0] and "cut_by" not in got.extra
    assert store.list_calls()[1] == 1


def test_ended_calls_leave_the_store_and_a_live_node_is_never_taken_over(store: Store) -> None:
    clock = Clock()
    sink: list[CallRecord] = []
    a, b = node(store, "node-a", clock, sink), node(store, "node-b", clock, [])
    feed(a, ANSWERED_UP + QUEUED_UP)
    round_(a)
    feed(a, lines("answered_merged_call")[8:])   # the answered call ends: recorded by node-a itself
    assert [r.call_id for r in sink] == [ANSWERED_ID]
    for _ in range(5):   # node-a goes on beating: its queued caller is never node-b's business
        clock.now += dt.timedelta(seconds=LOST_AFTER - 5)
        round_(a)
        assert round_(b) == []
        assert open_rows(store) == {QUEUED_ID: "node-a"}


def test_a_node_writes_only_calls_whose_events_changed(store: Store) -> None:
    clock = Clock()
    a = node(store, "node-a", clock, [])
    feed(a, ANSWERED_UP[:4])
    changed, _ = a.snapshot()
    assert list(changed) == [ANSWERED_ID]
    a.write(*a.snapshot())
    assert a.snapshot()[0] == {}                 # nothing new
    feed(a, ANSWERED_UP[4:])
    changed, open_ids = a.snapshot()
    assert list(changed) == [ANSWERED_ID] and len(changed[ANSWERED_ID]) == len(events(ANSWERED_UP))
    a.write(changed, open_ids)
    with store.session() as s:
        stored = s.scalar(select(OpenCallRow.events))
    assert stored is not None and events_from_json(stored) == events(ANSWERED_UP)


def test_a_row_that_cannot_be_read_stays_and_the_others_are_closed(store: Store) -> None:
    clock = Clock()
    a, b = node(store, "node-a", clock, []), node(store, "node-b", clock, [])
    feed(a, ANSWERED_UP)
    round_(a)
    OpenCalls(store, "node-x", clock).publish({"1795444000.9": "not json"}, {"1795444000.9"})
    clock.now += dt.timedelta(seconds=LOST_AFTER + 1)
    assert round_(b) == [ANSWERED_ID]
    assert open_rows(store) == {"1795444000.9": "node-x"}   # kept for an operator, tried each round
    assert round_(b) == []


async def test_the_round_goes_on_while_the_store_is_down_and_writes_everything_when_it_is_back(
        store: Store) -> None:
    clock = Clock()
    a = NodeLoss(tracker([]), OpenCalls(store, "node-a", clock), DIRECTORY, LOST_AFTER, every_s=0.01)
    feed(a, ANSWERED_UP)
    real = a._open.publish
    calls = {"n": 0}

    def failing(changed: Mapping[str, str], open_ids: set[str]) -> None:
        calls["n"] += 1
        if calls["n"] <= 3:
            raise StoreError("database unavailable: test")
        real(changed, open_ids)

    a._open.publish = failing   # type: ignore[method-assign]
    task = asyncio.create_task(a.run())
    try:
        for _ in range(500):
            if calls["n"] > 3 and a.status()["failing"] is False:
                break
            await asyncio.sleep(0.01)
        assert open_rows(store) == {ANSWERED_ID: "node-a"} and a.status()["failing"] is False
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
