"""Call KPIs from the rollup and the raw records at the edges (issue 15): the same tallies the pure
reference (:func:`queue_manager.metrics.grouped`) adds up, read in SQL at any history size.

A range [start, end) is cut into the whole UTC hours inside it, read from ``call_kpi_hours``
(:mod:`hotline.store.kpi_rollup`), and its ragged edges (less than an hour each), whose records are
read and tallied one by one. An hour maps to one local interval when the interval holding its
first instant also holds its last (always for ``day`` and ``hour`` in a zone whose offset is whole
hours, DST or not); when one hour does not (``15min``, or a zone such as Asia/Kolkata), the whole
range is tallied from the records, exactly and more slowly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo
from typing import Any

from hotline.store import Store
from hotline.store import kpi_rollup as rollup
from queue_manager import metrics
from queue_manager.metrics import Tally

GroupKey = tuple[str | None, str | None]   # (member, interval start)
_LAST = timedelta(microseconds=1)


class KpiQuery:
    def __init__(self, store: Store, tz: tzinfo, wrapup_s: dict[str, float]) -> None:
        self._store = store
        self._tz = tz
        self._wrapup_ms = {q: metrics.ms(w) for q, w in wrapup_s.items()}

    def groups(self, start: datetime, end: datetime, by: str = "all", interval: str | None = None
               ) -> dict[GroupKey, Tally]:
        """Tallies per group and interval of the records that arrived in [start, end)."""
        lo = -(-(start - rollup.EPOCH) // rollup.HOUR)   # first whole hour inside
        hi = rollup.slot_of(end)
        labels = self._labels(lo, hi, interval) if hi > lo else None
        out: dict[GroupKey, Tally] = {}
        with self._store.session() as session:
            if labels is None:
                self._add_raw(out, rollup.raw(session, start, end), by, interval)
                return out
            self._add_raw(out, rollup.raw(session, start, rollup.slot_start(lo)), by, interval)
            self._add_raw(out, rollup.raw(session, rollup.slot_start(hi), end), by, interval)
            for row in rollup.read(session, by, lo, hi, by_slot=interval is not None):
                slot, key, queue, *counts = row
                t = Tally(*(int(c) for c in counts))   # PostgreSQL sums bigints as numeric
                t.handle_ms += t.answered * self._wrapup_ms.get(rollup.decode(queue) or "", 0)
                group = (rollup.decode(key), labels.get(slot) if interval else None)
                have = out.get(group)
                if have is None:
                    out[group] = t
                else:
                    have.add(t)
        return out

    def total(self, start: datetime, end: datetime) -> Tally:
        return self.groups(start, end).get((None, None), Tally())

    def _labels(self, lo: int, hi: int, interval: str | None) -> dict[int, str | None] | None:
        """Each hour's interval start, or None when an hour straddles two intervals."""
        if interval is None:
            return {}
        out: dict[int, str | None] = {}
        for slot in range(lo, hi):
            first = metrics.interval_start(rollup.slot_start(slot), interval, self._tz).isoformat()
            if first != metrics.interval_start(rollup.slot_start(slot + 1) - _LAST, interval, self._tz).isoformat():
                return None
            out[slot] = first
        return out

    def _add_raw(self, out: dict[GroupKey, Tally], records: Iterable[Any], by: str, interval: str | None) -> None:
        key_of = metrics.GROUPS.get(by)
        for r in records:
            t = metrics.tally_of(r, wrapup_ms=self._wrapup_ms.get(r.queue or "", 0))
            when = metrics.interval_start(r.arrived_at, interval, self._tz).isoformat() if interval else None
            group = (key_of(r) if key_of else None, when)
            have = out.get(group)
            if have is None:
                out[group] = t
            else:
                have.add(t)
