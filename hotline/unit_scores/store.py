"""What people enter for the unit score, in the store (tables ``unit_score_manual``,
``unit_score_exemptions``, ``unit_attendance``, migration 0017), on :class:`hotline.store.Store`.

Append-only: a manual input or an attendance entered again adds a row, and the latest per key
counts (the earlier ones stay, with who entered them and when). An exemption is one row per
(unit, month, rule, order): entering it again is ``exemption-exists`` and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hotline.exceptions import NoSuchWorkOrder
from hotline.store.models import UnitAttendanceRow, UnitScoreExemptionRow, UnitScoreManualRow, WorkOrderRow
from hotline.store.store import Store
from hotline.unit_scores.errors import ExemptionExists
from hotline.unit_scores.rules import Absence, Exemption, Manual

KNOWLEDGE_BASE = "knowledge_base"
ATTENDANCE = ("present", "absent", "excused")


class UnitScoreStore:
    def __init__(self, store: Store, tz: ZoneInfo) -> None:
        """``tz``: the site's zone (times are given back in it)."""
        self._store = store
        self._tz = tz

    def _local(self, at: dt.datetime) -> str:
        return at.astimezone(self._tz).isoformat()

    # --- manual inputs -------------------------------------------------------------------------
    def set_manual(self, unit: str, month: str, kind: str, points: float, note: str, by: str,
                   now: dt.datetime) -> Manual:
        with self._store.session() as session:
            session.add(UnitScoreManualRow(unit=unit, month=month, kind=kind, points=points, note=note, by=by, at=now))
        return Manual(points=points, note=note, by=by, at=self._local(now))

    def manual(self, month: str, kind: str = KNOWLEDGE_BASE) -> dict[str, Manual]:
        """The latest input of each unit for ``month``."""
        with self._store.session() as session:
            rows = session.scalars(select(UnitScoreManualRow).where(UnitScoreManualRow.month == month,
                                                                    UnitScoreManualRow.kind == kind)
                                   .order_by(UnitScoreManualRow.id))
            return {r.unit: Manual(points=r.points, note=r.note, by=r.by, at=self._local(r.at)) for r in rows}

    # --- exemptions ----------------------------------------------------------------------------
    def add_exemption(self, unit: str, month: str, rule: str, order_id: str, reason: str, by: str,
                      now: dt.datetime) -> Exemption:
        insert = self._store.insert(UnitScoreExemptionRow).values(
            unit=unit, month=month, rule=rule, work_order_id=order_id, reason=reason, by=by, at=now)
        with self._store.session() as session:
            if session.get(WorkOrderRow, order_id) is None:
                raise NoSuchWorkOrder(order_id)
            added = session.execute(insert.on_conflict_do_nothing(
                index_elements=["unit", "month", "rule", "work_order_id"])
                .returning(UnitScoreExemptionRow.id)).scalar_one_or_none()
            if added is None:
                raise ExemptionExists(unit, month, rule, order_id)
        return Exemption(rule=rule, order_id=order_id, reason=reason, by=by, at=self._local(now))

    def exemptions(self, month: str) -> dict[str, list[Exemption]]:
        out: dict[str, list[Exemption]] = defaultdict(list)
        with self._store.session() as session:
            rows = session.scalars(select(UnitScoreExemptionRow).where(UnitScoreExemptionRow.month == month)
                                   .order_by(UnitScoreExemptionRow.id))
            for r in rows:
                out[r.unit].append(Exemption(rule=r.rule, order_id=r.work_order_id, reason=r.reason, by=r.by,
                                             at=self._local(r.at)))
        return dict(out)

    # --- 轮值 attendance -------------------------------------------------------------------------
    def set_attendance(self, unit: str, day: dt.date, status: str, note: str, by: str, now: dt.datetime) -> None:
        with self._store.session() as session:
            session.add(UnitAttendanceRow(unit=unit, day=day.isoformat(), month=day.strftime("%Y-%m"),
                                          status=status, note=note, by=by, at=now))

    def attendance(self, month: str) -> dict[str, dict[str, tuple[str, str, str]]]:
        """unit -> day -> (status, note, by) of ``month``, the latest entry of each day."""
        out: dict[str, dict[str, tuple[str, str, str]]] = defaultdict(dict)
        with self._store.session() as session:
            rows = session.scalars(select(UnitAttendanceRow).where(UnitAttendanceRow.month == month)
                                   .order_by(UnitAttendanceRow.id))
            for r in rows:
                out[r.unit][r.day] = (r.status, r.note, r.by)
        return dict(out)

    def absences(self, month: str) -> dict[str, list[Absence]]:
        """The days each unit missed its 轮值 without reason (``absent`` as last entered)."""
        return {unit: [Absence(day=d, note=n, by=b) for d, (s, n, b) in sorted(days.items()) if s == "absent"]
                for unit, days in self.attendance(month).items()}
