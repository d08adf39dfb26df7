"""Call KPIs from the rollup and the raw records at the edges (issue 15): the same tallies the pure
reference (:func:`queue_manager.metrics.grouped`) adds up, read in SQL at any history size.

A range [start, end) reported per day or as one total is first cut into the whole local days inside
it, read from ``call_kpi_days`` (:mod:`hotline.store.kpi_days`, when its days are the site zone's:
one row per member and day, exact in any zone); what is left at either end (under a day each) is
cut into the whole UTC hours inside it, read from ``call_kpi_hours``
(:mod:`hotline.store.kpi_rollup`), and its ragged edges (less than an hour each), whose records are
read and tallied one by one. An hour maps to one local interval when the interval holding its
first instant also holds its last (always for ``day`` and ``hour`` in a zone whose offset is whole
hours, DST or not); when one hour does not (``15min``, or a zone such as Asia/Kolkata), the whole
range is tallied from the records, exactly and more slowly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from hotline.store import Store
from hotline.metrics.errors import FilterUnsupported, ReportTooLarge
from hotline.store import kpi_days as days
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

    def groups(self, start: datetime, end: datetime, by: str = "all", interval: str | None = None,
               only: dict[str, str] | None = None, limit: int | None = None) -> dict[GroupKey, Tally]:
        """Tallies per group and interval of the records that arrived in [start, end); ``only``: the
        records of one queue, seat or dialled number (or a queue and one of the others); ``limit``:
        at most that many groups (:class:`ReportTooLarge` past it)."""
        only = only or {}
        plan = rollup_plan(by, only)
        out: dict[GroupKey, Tally] = {}
        with self._store.session() as session:
            d0, d1 = self._whole_days(session, start, end, interval)
            edges: tuple[tuple[datetime, datetime], ...] = ((start, end),)
            if d1 > d0:   # whole local days from the day rollup, the edges (under a day each) as below
                self._add_days(session, out, plan, d0, d1, interval, limit)
                edges = ((start, days.day_start(d0, self._tz)), (days.day_start(d1, self._tz), end))
            for a_t, b_t in edges:
                if b_t > a_t:
                    self._add_hours(session, out, a_t, b_t, by, interval, only, plan, limit)
        return _checked(out, limit)

    def _whole_days(self, session: Any, start: datetime, end: datetime, interval: str | None) -> tuple[int, int]:
        """The local days [d0, d1) wholly inside [start, end) that the day rollup answers: none
        unless the report is per day or not per interval and the rollup's days are the site's."""
        if interval not in (None, "day") or days.zone(session) != getattr(self._tz, "key", ""):
            return 0, 0
        d0 = days.day_of(start, self._tz)
        d0 += days.day_start(d0, self._tz) < start
        return d0, days.day_of(end, self._tz)

    def _add_days(self, session: Any, out: dict[GroupKey, Tally], plan: Plan, d0: int, d1: int,
                  interval: str | None, limit: int | None) -> None:
        rows = days.read(session, plan.dim, d0, d1, bucket=interval == "day", wrapup_ms=self._wrapup_ms,
                         key=plan.key, queue=plan.queue, group=plan.group, limit=limit)
        _checked({i: None for i in range(len(rows))}, limit)
        labels: dict[int, str] = {}
        for row in rows:
            day, key, counts = row[0], row[1], row[2:]
            label = None if day is None else labels.get(day) or labels.setdefault(day, metrics.interval_start(
                days.day_start(int(day), self._tz), "day", self._tz).isoformat())
            _add(out, (None if key is None else rollup.decode(key), label), Tally(*(int(c) for c in counts)))

    def _add_hours(self, session: Any, out: dict[GroupKey, Tally], start: datetime, end: datetime, by: str,
                   interval: str | None, only: dict[str, str], plan: Plan, limit: int | None) -> None:
        """[start, end) from the hourly rollup and the raw records at its ragged edges."""
        lo = -(-(start - rollup.EPOCH) // rollup.HOUR)   # first whole hour inside
        hi = rollup.slot_of(end)
        runs = self._runs(lo, hi, interval) if hi > lo else None
        if runs is None:
            self._add_raw(out, rollup.raw(session, start, end, only), by, interval, plan.dim == "seat")
            return
        for a_t, b_t in ((start, rollup.slot_start(lo)), (rollup.slot_start(hi), end)):
            self._add_raw(out, rollup.raw(session, a_t, b_t, only), by, interval, plan.dim == "seat")
        for a, b, offset_h in runs:
            rows = rollup.read(session, plan.dim, a, b, bucket=interval, offset_h=offset_h,
                               wrapup_ms=self._wrapup_ms, key=plan.key, queue=plan.queue, group=plan.group,
                               limit=limit)
            _checked({i: None for i in range(len(rows))}, limit)
            labels: dict[int, str] = {}
            for row in rows:
                bucket, key, counts = row[0], row[1], row[2:]
                label = None
                if interval:
                    label = labels.get(bucket) or labels.setdefault(
                        bucket, self._label(int(bucket), interval, a, offset_h))
                _add(out, (None if key is None else rollup.decode(key), label), Tally(*(int(c) for c in counts)))

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

    def _add_raw(self, out: dict[GroupKey, Tally], records: Iterable[Any], by: str, interval: str | None,
                 own_talk: bool) -> None:
        key_of = metrics.GROUPS.get(by)
        for r in records:
            t = metrics.tally_of(r, wrapup_ms=self._wrapup_ms.get(r.queue or "", 0), own_talk=own_talk)
            when = metrics.interval_start(r.arrived_at, interval, self._tz).isoformat() if interval else None
            _add(out, (key_of(r) if key_of else None, when), t)


@dataclass(frozen=True)
class Plan:
    """Which rollup rows answer a report: ``dim``'s rows (of member ``key``, of ``queue``), grouped by
    their ``key``, their ``queue`` or not at all (None)."""

    dim: str
    key: str | None = None
    queue: str | None = None
    group: str | None = "key"


def rollup_plan(by: str, only: dict[str, str]) -> Plan:
    """The rollup keeps each record under every dimension with its queue: a report by ``by`` of the
    records of one seat or number (and/or one queue) reads that dimension's rows of the member.
    Seat and dialled number are not kept together: :class:`FilterUnsupported` for both, or for one
    of them grouped by the other."""
    member = [d for d in ("seat", "dialled_number") if d in only]
    if len(member) == 2 or (member and by in ("seat", "dialled_number") and by != member[0]):
        field = member[-1] if len(member) == 2 else member[0]
        raise FilterUnsupported(field, f"cannot be combined with {'seat' if len(member) == 2 else 'by=' + by}",
                                only[field])
    if member:
        dim = member[0]
        group = {"all": None, "queue": "queue"}.get(by, "key")
        return Plan(dim, key=only[dim], queue=only.get("queue"), group=group)
    if "queue" in only:
        return Plan(by if by in ("seat", "dialled_number") else "queue", queue=only["queue"],
                    group=None if by == "all" else "key")
    return Plan(by)


def _checked(out: dict[Any, Any], limit: int | None) -> dict[Any, Any]:
    if limit is not None and len(out) > limit:
        raise ReportTooLarge(limit)
    return out


def _add(out: dict[GroupKey, Tally], group: GroupKey, t: Tally) -> None:
    have = out.get(group)
    if have is None:
        out[group] = t
    else:
        have.add(t)
