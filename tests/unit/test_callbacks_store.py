"""callback_tasks on both backends (SQLite and a real PostgreSQL): create once, transitions in a
transaction, lists and lookups."""

from __future__ import annotations

import pytest

from hotline.callbacks.errors import CallbackExists, NoSuchCallback
from hotline.callbacks.model import InvalidTransition, Kind, Status, Step
from hotline.store import Store
from hotline.callbacks.store import CallbackStore


def test_tasks_round_trip_and_move(store: Store) -> None:
    tasks = CallbackStore(store)
    task, created = tasks.create(kind=Kind.abandoned, call_id="1700000000.1", number="13800138000",
                                 queue="hotline", max_attempts=2)
    assert created and (task.status, task.attempts, task.seat) == (Status.requested, 0, None)
    with pytest.raises(CallbackExists) as exc:
        tasks.create(kind=Kind.abandoned, call_id="1700000000.1", number="13800138000", queue=None, max_attempts=2)
    assert exc.value.details["callback_id"] == task.id
    same, created = tasks.create(kind=Kind.queue_callback, call_id="1700000000.1", number="1", queue=None,
                                 max_attempts=9, exist_ok=True)
    assert not created and same == task
    moved = tasks.apply(task.id, Step.dial, seat="1001")
    assert (moved.status, moved.seat) == (Status.dialling, "1001")
    moved = tasks.apply(task.id, Step.try_failed, last_result="busy", callback_call_id="1700000001.1")
    assert (moved.status, moved.attempts, moved.last_result) == (Status.requested, 1, "busy")
    tasks.apply(task.id, Step.dial)
    done = tasks.apply(task.id, Step.try_failed, last_result="noanswer")
    assert (done.status, done.attempts) == (Status.failed, 2)
    with pytest.raises(InvalidTransition):
        tasks.apply(task.id, Step.dial)
    assert tasks.get(task.id) == done
    assert tasks.for_call("1700000000.1") == done and tasks.for_call("1700000000.9") is None
    assert [t.id for t in tasks.list(status=Status.failed)] == [task.id]
    assert tasks.list(status=Status.requested) == []
    assert tasks.count() == 1
    with pytest.raises(NoSuchCallback):
        tasks.get(task.id + 1)
    other, _ = tasks.create(kind=Kind.abandoned, call_id="1700000000.2", number="13800138001", queue=None,
                            max_attempts=1)
    with pytest.raises(TypeError):
        tasks.apply(other.id, Step.cancel, status="connected")
    assert tasks.get(other.id).status is Status.requested   # rolled back with the refused change
