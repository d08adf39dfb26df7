"""Callback tasks in the store (table ``callback_tasks``, migration 0004), on :class:`hotline.store.Store`.

Every change goes through :func:`hotline.callbacks.model.advance` inside one transaction that
holds the row (``SELECT .. FOR UPDATE`` on PostgreSQL; SQLite serialises writers), so two
events about the same task never both apply.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from hotline.callbacks.errors import CallbackExists, NoSuchCallback
from hotline.callbacks.model import CallbackTask, Kind, Status, Step, TaskState, advance
from hotline.exceptions import InvalidRequest
from hotline.records.call import CallRecord, Outcome
from hotline.spine.numbers import person_key
from hotline.store.models import CallbackTaskRow, CallRow
from hotline.store.rows import call_record
from hotline.store.store import MAX_PAGE, Store

ABANDONED = (Outcome.abandoned_in_queue.value, Outcome.abandoned_before_queue.value)


def _task(row: CallbackTaskRow) -> CallbackTask:
    return CallbackTask(id=row.id, kind=Kind(row.kind), call_id=row.call_id, number=row.number, queue=row.queue,
                        status=Status(row.status), attempts=row.attempts, max_attempts=row.max_attempts,
                        seat=row.seat, created_at=row.created_at, updated_at=row.updated_at,
                        last_result=row.last_result, callback_call_id=row.callback_call_id)


class CallbackStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    # --- tasks ---------------------------------------------------------------------------
    def create(self, *, kind: Kind, call_id: str, number: str, queue: str | None, max_attempts: int,
               exist_ok: bool = False) -> tuple[CallbackTask, bool]:
        """Insert a ``requested`` task; (task, created). An existing task for ``call_id`` is
        returned (``exist_ok``) or refused with ``callback-exists``."""
        now = datetime.now(UTC)
        insert = self._store.insert(CallbackTaskRow).values(
            kind=kind.value, call_id=call_id, number=number, queue=queue, status=Status.requested.value,
            attempts=0, max_attempts=max_attempts, created_at=now, updated_at=now)
        with self._store.session() as session:
            inserted = session.execute(insert.on_conflict_do_nothing(index_elements=[CallbackTaskRow.call_id])
                                       .returning(CallbackTaskRow.id)).scalar_one_or_none()
            row = session.scalars(select(CallbackTaskRow).where(CallbackTaskRow.call_id == call_id)).one()
            task = _task(row)
        if inserted is None and not exist_ok:
            raise CallbackExists(call_id, task.id, task.status.value)
        return task, inserted is not None

    def get(self, task_id: int) -> CallbackTask:
        with self._store.session() as session:
            row = session.get(CallbackTaskRow, task_id)
            if row is None:
                raise NoSuchCallback(task_id)
            return _task(row)

    def for_call(self, call_id: str) -> CallbackTask | None:
        with self._store.session() as session:
            row = session.scalars(select(CallbackTaskRow).where(CallbackTaskRow.call_id == call_id)).first()
            return None if row is None else _task(row)

    def for_calls(self, call_ids: Iterable[str]) -> dict[str, CallbackTask]:
        ids = list(call_ids)
        if not ids:
            return {}
        with self._store.session() as session:
            rows = session.scalars(select(CallbackTaskRow).where(CallbackTaskRow.call_id.in_(ids)))
            return {row.call_id: _task(row) for row in rows}

    def list(self, *, status: Status | None = None, limit: int = 100) -> list[CallbackTask]:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest("limit", f"must be between 1 and {MAX_PAGE}", limit)
        q = select(CallbackTaskRow)
        if status is not None:
            q = q.where(CallbackTaskRow.status == status.value)
        q = q.order_by(CallbackTaskRow.created_at.desc(), CallbackTaskRow.id.desc()).limit(limit)
        with self._store.session() as session:
            return [_task(row) for row in session.scalars(q)]

    def apply(self, task_id: int, step: Step, **changes: Any) -> CallbackTask:
        """Take ``step`` (raises ``InvalidTransition`` when it does not apply) and set ``changes``
        (seat, last_result, callback_call_id) in the same transaction."""
        with self._store.session() as session:
            row = session.scalars(select(CallbackTaskRow).where(CallbackTaskRow.id == task_id)
                                  .with_for_update()).first()
            if row is None:
                raise NoSuchCallback(task_id)
            state = advance(TaskState(Status(row.status), row.attempts, row.max_attempts), step)
            row.status, row.attempts = state.status.value, state.attempts
            for name, value in changes.items():
                if name not in ("seat", "last_result", "callback_call_id"):
                    raise TypeError(f"not a changeable field: {name}")
                setattr(row, name, value)
            row.updated_at = datetime.now(UTC)
            session.flush()
            return _task(row)

    # --- abandoned calls -------------------------------------------------------------------
    def abandoned(self, *, since: datetime | None, queue: str | None, limit: int) -> builtins.list[CallRecord]:
        """Abandoned calls, newest first."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest("limit", f"must be between 1 and {MAX_PAGE}", limit)
        if since is not None and since.tzinfo is None:
            raise InvalidRequest("since", "must include a UTC offset", since.isoformat())
        q = select(CallRow).where(CallRow.outcome.in_(ABANDONED))
        if since is not None:
            q = q.where(CallRow.arrived_at >= since)
        if queue is not None:
            q = q.where(CallRow.queue == queue)
        q = q.order_by(CallRow.arrived_at.desc(), CallRow.call_id.desc()).limit(limit)
        with self._store.session() as session:
            return [call_record(row) for row in session.scalars(q)]

    def answered_since(self, numbers: Iterable[str], since: datetime) -> dict[str, builtins.list[datetime]]:
        """For each caller number, when its calls arriving at or after ``since`` were answered
        (inbound answered calls, and callbacks that connected): the calls of the same person
        (:func:`hotline.spine.numbers.person_key`), in whatever form its number came."""
        by_key: dict[str, set[str]] = {}
        for number in set(numbers):
            by_key.setdefault(person_key(number), set()).add(number)
        if not by_key:
            return {}
        q = (select(CallRow.caller_key, CallRow.arrived_at)
             .where(CallRow.caller_key.in_(sorted(by_key)), CallRow.arrived_at >= since,
                    CallRow.outcome == Outcome.answered.value))
        out: dict[str, builtins.list[datetime]] = {}
        with self._store.session() as session:
            for key, at in session.execute(q):
                for number in by_key.get(key or "", ()):
                    out.setdefault(number, []).append(at)
        return out

    def count(self, status: Status | None = None) -> int:
        q = select(func.count()).select_from(CallbackTaskRow)
        if status is not None:
            q = q.where(CallbackTaskRow.status == status.value)
        with self._store.session() as session:
            return session.scalar(q) or 0
