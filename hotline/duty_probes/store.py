"""Duty-phone probes in the store (table ``duty_probes``, migration 0016), on :class:`hotline.store.Store`.

A probe is created once per (unit, day, window, slot): creating it again changes nothing (``ON
CONFLICT DO NOTHING``), so the service may plan as often as it likes and drawn times never move.
Every change of a probe runs a pure step of :mod:`hotline.duty_probes.model` inside one
transaction that holds the row (``SELECT .. FOR UPDATE`` on PostgreSQL; SQLite serialises writers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import func, select

from hotline.duty_probes.errors import NoSuchProbe
from hotline.duty_probes.model import OPEN, Probe, Status
from hotline.duty_probes.schedule import Planned
from hotline.store.models import DutyProbeRow
from hotline.store.store import Store


def _probe(row: DutyProbeRow) -> Probe:
    return Probe(id=row.id, unit_id=row.unit_id, window=row.window, day=row.day, slot=row.slot, number=row.number,
                 status=Status(row.status), attempts=row.attempts, max_attempts=row.max_attempts, due_at=row.due_at,
                 next_at=row.next_at, created_at=row.created_at, updated_at=row.updated_at,
                 skip_reason=row.skip_reason, last_result=row.last_result, dialled_at=row.dialled_at,
                 ended_at=row.ended_at, postponed=row.postponed, tries=tuple(row.tries or ()))


def _write(row: DutyProbeRow, probe: Probe) -> None:
    row.status, row.attempts, row.number, row.skip_reason = probe.status.value, probe.attempts, probe.number, \
        probe.skip_reason
    row.next_at, row.dialled_at, row.ended_at = probe.next_at, probe.dialled_at, probe.ended_at
    row.updated_at, row.last_result, row.postponed = probe.updated_at, probe.last_result, probe.postponed
    row.tries = [dict(t) for t in probe.tries]


class DutyProbeStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    def create(self, planned: Planned, *, number: str | None, skip_reason: str | None, max_attempts: int,
               now: dt.datetime) -> Probe | None:
        """The probe of ``planned`` (``skipped`` with a reason, else ``pending``); None when that
        slot existed already (nothing changed)."""
        status = Status.skipped if skip_reason else Status.pending
        insert = self._store.insert(DutyProbeRow).values(
            unit_id=planned.unit_id, window=planned.window, day=planned.day, slot=planned.slot, number=number,
            status=status.value, skip_reason=skip_reason, attempts=0, max_attempts=max_attempts,
            due_at=planned.due_at, next_at=None, created_at=now, updated_at=now, postponed=0, tries=[])
        with self._store.session() as session:
            new_id = session.execute(insert.on_conflict_do_nothing(
                index_elements=[DutyProbeRow.unit_id, DutyProbeRow.day, DutyProbeRow.window, DutyProbeRow.slot])
                .returning(DutyProbeRow.id)).scalar_one_or_none()
            if new_id is None:
                return None
            row = session.get(DutyProbeRow, new_id)
            assert row is not None
            return _probe(row)

    def planned_slots(self, day: dt.date, window: str) -> set[str]:
        """The units that have probes of ``window`` on ``day`` already."""
        with self._store.session() as session:
            return set(session.scalars(select(DutyProbeRow.unit_id).distinct()
                                       .where(DutyProbeRow.day == day, DutyProbeRow.window == window)))

    def get(self, probe_id: int) -> Probe:
        with self._store.session() as session:
            row = session.get(DutyProbeRow, probe_id)
            if row is None:
                raise NoSuchProbe(probe_id)
            return _probe(row)

    def open_probes(self) -> list[Probe]:
        with self._store.session() as session:
            query = select(DutyProbeRow).where(DutyProbeRow.status.in_([s.value for s in OPEN]))
            return [_probe(r) for r in session.scalars(query.order_by(DutyProbeRow.id))]

    def between(self, start: dt.datetime, end: dt.datetime, unit_id: str | None = None) -> list[Probe]:
        """The probes due in [start, end), of one unit or all, by time."""
        query = select(DutyProbeRow).where(DutyProbeRow.due_at >= start, DutyProbeRow.due_at < end)
        if unit_id is not None:
            query = query.where(DutyProbeRow.unit_id == unit_id)
        with self._store.session() as session:
            return [_probe(r) for r in session.scalars(query.order_by(DutyProbeRow.due_at, DutyProbeRow.id))]

    def unreachable_counts(self, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
        """Unit id -> 不通 events of the probes due in [start, end)."""
        query = (select(DutyProbeRow.unit_id, func.count()).where(
            DutyProbeRow.due_at >= start, DutyProbeRow.due_at < end,
            DutyProbeRow.status == Status.unreachable.value).group_by(DutyProbeRow.unit_id))
        with self._store.session() as session:
            return {unit: int(n) for unit, n in session.execute(query)}

    def apply(self, probe_id: int, step: Callable[[Probe], Probe]) -> Probe:
        """``step`` applied to the probe as it stands, in one transaction holding its row; a step
        that raises changes nothing."""
        with self._store.session() as session:
            row = session.scalars(select(DutyProbeRow).where(DutyProbeRow.id == probe_id)
                                  .with_for_update()).one_or_none()
            if row is None:
                raise NoSuchProbe(probe_id)
            probe = step(_probe(row))
            _write(row, probe)
            return probe
