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
        runs = self._runs(lo, hi, interval) if hi > lo else None
        out: dict[GroupKey, Tally] = {}
        with self._store.session() as session:
            if runs is None:
                self._add_raw(out, rollup.raw(session, start, end), by, interval)
                return out
            self._add_raw(out, rollup.raw(session, start, rollup.slot_start(lo)), by, interval)
            self._add_raw(out, rollup.raw(session, rollup.slot_start(hi), end), by, interval)
            for a, b, offset_h in runs:
                rows = rollup.read(session, by, a, b, bucket=interval, offset_h=offset_h, wrapup_ms=self._wrapup_ms)
                labels: dict[int, str] = {}
                for row in rows:
                    bucket, key, counts = row[0], row[1], row[2:]
                    label = None
                    if interval:
                        label = labels.get(bucket) or labels.setdefault(
                            bucket, self._label(int(bucket), interval, a, offset_h))
                    _add(out, (rollup.decode(key), label), Tally(*(int(c) for c in counts)))
        return out

    def total(self, start: datetime, end: datetime) -> Tally:
        return self.groups(start, end).get((None, None), Tally())

    def _runs(self, lo: int, hi: int, interval: str | None) -> list[tuple[int, int, int]] | None:
        """[lo, hi) cut where the zone's offset (whole hours) changes: ``(first, end, offset_h)``;
        None when an hour straddles two of the intervals (the records are then read instead)."""
        if interval is None:
            return [(lo, hi, 0)]
        runs: list[tuple[int, int, int]] = []
        for slot in range(lo, hi):
            at = rollup.slot_start(slot)
            first = metrics.interval_start(at, interval, self._tz).isoformat()
            last = metrics.interval_start(rollup.slot_start(slot + 1) - _LAST, interval, self._tz).isoformat()
            offset = at.astimezone(self._tz).utcoffset() or timedelta(0)
            if first != last or offset % rollup.HOUR:
                return None
            offset_h = offset // rollup.HOUR
            if runs and runs[-1][2] == offset_h:
                runs[-1] = (runs[-1][0], slot + 1, offset_h)
            else:
                runs.append((slot, slot + 1, offset_h))
        return runs

    def _label(self, bucket: int, interval: str, first: int, offset_h: int) -> str:
        """The interval start of a bucket read by :func:`rollup.read` over a run starting at ``first``."""
        slot = bucket if interval == "hour" else max(first, bucket * 24 - offset_h)
        return metrics.interval_start(rollup.slot_start(slot), interval, self._tz).isoformat()

    def _add_raw(self, out: dict[GroupKey, Tally], records: Iterable[Any], by: str, interval: str | None) -> None:
        key_of = metrics.GROUPS.get(by)
        for r in records:
            t = metrics.tally_of(r, wrapup_ms=self._wrapup_ms.get(r.queue or "", 0), own_talk=by == "seat")
            when = metrics.interval_start(r.arrived_at, interval, self._tz).isoformat() if interval else None
            _add(out, (key_of(r) if key_of else None, when), t)


def _add(out: dict[GroupKey, Tally], group: GroupKey, t: Tally) -> None:
    have = out.get(group)
    if have is None:
        out[group] = t
    else:
        have.add(t)
