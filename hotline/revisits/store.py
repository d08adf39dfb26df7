"""回访 tasks and the refusal list in the store (tables ``revisit_tasks``, ``revisit_refusals``,
migration 0015), on :class:`hotline.store.Store`.

A task is created once per (order, ``verify`` event): creating it again changes nothing (``ON
CONFLICT DO NOTHING``), so the service's tick may look for verified orders as often as it likes.
Every change of a task runs a pure step of :mod:`hotline.revisits.model` inside one transaction
that holds the row (``SELECT .. FOR UPDATE`` on PostgreSQL; SQLite serialises writers).
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.exceptions import InvalidRequest
from hotline.revisits.errors import NoSuchRevisit
from hotline.revisits.model import OPEN, Status, Task
from hotline.store.models import (CallRow, OrderEventRow, OrderLifecycleRow, RevisitRefusalRow, RevisitTaskRow,
                                  WorkOrderCallRow, WorkOrderRow)
from hotline.store.store import MAX_PAGE, Store


@dataclass(frozen=True)
class Candidate:
    """A verified order with no 回访 task for its latest verification yet."""

    work_order_id: str
    verify_event_id: int
    caller_number: str | None     # the order's first call's caller number, as recorded
    confidential: bool
    no_revisit: bool = False      # 不需回访: the caller asked not to be called back about it


def _task(row: RevisitTaskRow) -> Task:
    return Task(id=row.id, work_order_id=row.work_order_id, verify_event_id=row.verify_event_id, number=row.number,
                status=Status(row.status), attempts=row.attempts, max_attempts=row.max_attempts, next_at=row.next_at,
                created_at=row.created_at, updated_at=row.updated_at, skip_reason=row.skip_reason,
                last_result=row.last_result, rating=row.rating, keys=row.keys, seat=row.seat,
                dialled_at=row.dialled_at, tries=tuple(row.tries or ()))


def _write(row: RevisitTaskRow, task: Task) -> None:
    row.status, row.attempts = task.status.value, task.attempts
    row.next_at, row.dialled_at = task.next_at, task.dialled_at
    row.updated_at, row.last_result, row.rating, row.keys = task.updated_at, task.last_result, task.rating, task.keys
    row.seat, row.tries = task.seat, [dict(t) for t in task.tries]
    row.number, row.skip_reason = task.number, task.skip_reason


class RevisitStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    # --- finding work ------------------------------------------------------------------------
    def candidates(self) -> list[Candidate]:
        """Verified orders whose latest ``verify`` event has no task yet."""
        with self._store.session() as session:
            verified = select(OrderLifecycleRow.work_order_id).where(OrderLifecycleRow.state == "verified")
            latest = dict(session.execute(
                select(OrderEventRow.work_order_id, func.max(OrderEventRow.id))
                .where(OrderEventRow.action == "verify", OrderEventRow.work_order_id.in_(verified))
                .group_by(OrderEventRow.work_order_id)).all())
            if not latest:
                return []
            done = set(session.execute(select(RevisitTaskRow.work_order_id, RevisitTaskRow.verify_event_id)
                                       .where(RevisitTaskRow.work_order_id.in_(list(latest)))).all())
            todo = sorted(o for o, e in latest.items() if (o, e) not in done)
            if not todo:
                return []
            flags = {o: (bool(c), bool(n)) for o, c, n in session.execute(
                select(WorkOrderRow.id, WorkOrderRow.caller_confidential, WorkOrderRow.no_revisit)
                .where(WorkOrderRow.id.in_(todo)))}
            numbers: dict[str, str] = {}
            calls = (select(WorkOrderCallRow.work_order_id, CallRow.caller_number)
                     .join(CallRow, CallRow.call_id == WorkOrderCallRow.call_id)
                     .where(WorkOrderCallRow.work_order_id.in_(todo)).order_by(CallRow.arrived_at))
            for order_id, number in session.execute(calls):
                numbers.setdefault(order_id, number)
            return [Candidate(o, latest[o], numbers.get(o), *flags.get(o, (False, False))) for o in todo]

    def order_states(self, order_ids: Iterable[str]) -> dict[str, tuple[str, bool]]:
        """Each order's lifecycle state and its ``no_revisit`` flag."""
        ids = sorted(set(order_ids))
        if not ids:
            return {}
        with self._store.session() as session:
            rows = session.execute(select(OrderLifecycleRow.work_order_id, OrderLifecycleRow.state,
                                          WorkOrderRow.no_revisit)
                                   .join(WorkOrderRow, WorkOrderRow.id == OrderLifecycleRow.work_order_id)
                                   .where(OrderLifecycleRow.work_order_id.in_(ids))).all()
            return {o: (state, bool(no)) for o, state, no in rows}

    # --- tasks ---------------------------------------------------------------------------------
    def create(self, candidate: Candidate, *, number: str | None, skip_reason: str | None, max_attempts: int,
               now: dt.datetime) -> Task | None:
        """The task of ``candidate`` (``skipped`` with a reason, else ``pending``); None when it
        existed already (nothing changed)."""
        status = Status.skipped if skip_reason else Status.pending
        insert = self._store.insert(RevisitTaskRow).values(
            work_order_id=candidate.work_order_id, verify_event_id=candidate.verify_event_id, number=number,
            status=status.value, skip_reason=skip_reason, attempts=0, max_attempts=max_attempts, next_at=None,
            created_at=now, updated_at=now, keys="", tries=[])
        with self._store.session() as session:
            new_id = session.execute(insert.on_conflict_do_nothing(
                index_elements=[RevisitTaskRow.work_order_id, RevisitTaskRow.verify_event_id])
                .returning(RevisitTaskRow.id)).scalar_one_or_none()
            if new_id is None:
                return None
            row = session.get(RevisitTaskRow, new_id)
            assert row is not None
            return _task(row)

    def get(self, task_id: int) -> Task:
        with self._store.session() as session:
            row = session.get(RevisitTaskRow, task_id)
            if row is None:
                raise NoSuchRevisit(task_id)
            return _task(row)

    def open_tasks(self) -> builtins.list[Task]:
        with self._store.session() as session:
            query = select(RevisitTaskRow).where(RevisitTaskRow.status.in_([s.value for s in OPEN]))
            return [_task(r) for r in session.scalars(query.order_by(RevisitTaskRow.id))]

    def list(self, *, status: Status | None = None, work_order_id: str | None = None,
             limit: int = 100) -> builtins.list[Task]:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest("limit", f"must be between 1 and {MAX_PAGE}", limit)
        query = select(RevisitTaskRow)
        if status is not None:
            query = query.where(RevisitTaskRow.status == status.value)
        if work_order_id is not None:
            query = query.where(RevisitTaskRow.work_order_id == work_order_id)
        with self._store.session() as session:
            return [_task(r) for r in session.scalars(query.order_by(RevisitTaskRow.id.desc()).limit(limit))]

    def apply(self, task_id: int, step: Callable[[Task], Task],
              then: Callable[[Session, Task], None] | None = None) -> Task:
        """``step`` applied to the task as it stands, in one transaction holding its row, and
        ``then`` (e.g. the order's ``evaluate``) in the same transaction: a step or a ``then`` that
        raises changes nothing."""
        with self._store.session() as session:
            row = session.scalars(select(RevisitTaskRow).where(RevisitTaskRow.id == task_id)
                                  .with_for_update()).one_or_none()
            if row is None:
                raise NoSuchRevisit(task_id)
            task = step(_task(row))
            _write(row, task)
            if then is not None:
                session.flush()
                then(session, task)
            return task

    # --- the refusal list ----------------------------------------------------------------------
    def refused(self, number: str) -> bool:
        with self._store.session() as session:
            return session.get(RevisitRefusalRow, number) is not None

    def refuse(self, number: str, *, by: str, reason: str, now: dt.datetime) -> bool:
        """Add ``number``; False when it was listed already (kept as it was)."""
        insert = self._store.insert(RevisitRefusalRow).values(number=number, at=now, by=by, reason=reason)
        with self._store.session() as session:
            done = session.execute(insert.on_conflict_do_nothing(index_elements=[RevisitRefusalRow.number])
                                   .returning(RevisitRefusalRow.number)).scalar_one_or_none()
            return done is not None

    def refusals(self, limit: int = 100) -> builtins.list[dict[str, str]]:
        with self._store.session() as session:
            rows = session.scalars(select(RevisitRefusalRow).order_by(RevisitRefusalRow.at.desc()).limit(limit))
            return [{"number": r.number, "at": r.at.isoformat(), "by": r.by, "reason": r.reason} for r in rows]
