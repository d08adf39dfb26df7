"""The hotspot warning in the store: what is counted (orders and calls in a window) and the alerts
(table ``hotspot_alerts``, migration 0024), on :class:`hotline.store.Store`.

Counted: an order by its lifecycle's ``subject`` and ``area`` (``work_order_lifecycle``, set when
the order is started) at its filing time (``work_orders.created_at``; an order never started has
neither and is not counted); a call by its ``dialled_number`` at its arrival (``call_records``).
Both times are indexed; the baseline is one grouped query over the baseline days' windows.

Alerts (:meth:`HotspotStore.apply`, one transaction per round): a finding with no active alert
raises one; an active alert still hot gets its latest count; an active alert not hot any more is
cleared. The unique ``active_key`` makes a second raise of the same hotspot fail rather than
duplicate it (the round's next run sees the alert that won).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, delete, func, or_, select

from hotline.config.hotspots import HotspotDimension as D
from hotline.hotspots.detect import Finding, Item, Window
from hotline.hotspots.errors import NoSuchHotspot
from hotline.store.models import CallRow, HotspotAlertRow, OrderLifecycleRow, WorkOrderRow
from hotline.store.store import Store

ORDER_DIMENSIONS = (D.subject, D.area, D.subject_area)


def active_key(dimension: str, key: str) -> str:
    return f"{dimension}:{key}"


@dataclass
class Changes:
    raised: list[int] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.raised or self.cleared or self.updated)


class HotspotStore:
    def __init__(self, store: Store, tz: ZoneInfo | None = None) -> None:
        """``tz``: the site's zone (times are given back in it; UTC without)."""
        self._store = store
        self._tz = tz or ZoneInfo("UTC")

    # --- what is counted -----------------------------------------------------------------------
    def items(self, dimension: D, window: Window) -> list[Item]:
        """Every order (or call) of ``window`` with its key under ``dimension``."""
        with self._store.session() as session:
            if dimension is D.dialled_number:
                rows = session.execute(select(CallRow.arrived_at, CallRow.dialled_number, CallRow.call_id)
                                       .where(_within(CallRow.arrived_at, [window])))
                return [Item(at, number, ref) for at, number, ref in rows if number]
            query = (select(WorkOrderRow.created_at, OrderLifecycleRow.subject, OrderLifecycleRow.area, WorkOrderRow.id)
                     .join(OrderLifecycleRow, OrderLifecycleRow.work_order_id == WorkOrderRow.id)
                     .where(_within(WorkOrderRow.created_at, [window])))
            out = []
            for at, subject, area, ref in session.execute(query):
                key = _order_key(dimension, subject, area)
                if key is not None:
                    out.append(Item(at, key, ref))
            return out

    def baseline(self, dimension: D, windows: Sequence[Window]) -> dict[str, int]:
        """key -> how many orders (or calls) fell in ``windows`` altogether."""
        if not windows:
            return {}
        totals: Counter[str] = Counter()
        with self._store.session() as session:
            if dimension is D.dialled_number:
                query = (select(CallRow.dialled_number, CallRow.dialled_number, _count())
                         .where(_within(CallRow.arrived_at, windows)).group_by(CallRow.dialled_number))
            else:
                query = (select(OrderLifecycleRow.subject, OrderLifecycleRow.area, _count())
                         .join(WorkOrderRow, OrderLifecycleRow.work_order_id == WorkOrderRow.id)
                         .where(_within(WorkOrderRow.created_at, windows))
                         .group_by(OrderLifecycleRow.subject, OrderLifecycleRow.area))
            for first, second, n in session.execute(query):
                key = first if dimension is D.dialled_number else _order_key(dimension, first, second)
                if key:
                    totals[key] += int(n)
        return dict(totals)

    # --- alerts --------------------------------------------------------------------------------
    def apply(self, findings: Sequence[Finding], dimensions: Sequence[D], now: dt.datetime) -> Changes:
        """Raise, update and clear alerts against this round's ``findings`` (one transaction).
        Active alerts of a dimension no longer counted are cleared too."""
        changes = Changes()
        hot = {active_key(f.dimension, f.key): f for f in findings}
        with self._store.session() as session:
            active = {r.active_key: r for r in session.scalars(
                select(HotspotAlertRow).where(HotspotAlertRow.active_key.is_not(None)))}
            for akey, row in active.items():
                finding = hot.get(akey or "")
                if finding is None:
                    row.active_key, row.cleared_at = None, now
                    changes.cleared.append(row.id)
                elif finding.count != row.last_count:
                    row.last_count, row.peak_count = finding.count, max(row.peak_count, finding.count)
                    row.last_seen_at = now
                    changes.updated.append(row.id)
                else:
                    row.last_seen_at = now
            for akey, f in hot.items():
                if akey in active:
                    continue
                row = HotspotAlertRow(
                    dimension=f.dimension, key=f.key, active_key=akey, raised_at=now, cleared_at=None,
                    window_start=f.window.start, window_end=f.window.end, count=f.count,
                    baseline_total=f.baseline_total, baseline_days=f.baseline_days, baseline_mean=f.baseline_mean,
                    ratio=f.ratio, threshold=f.threshold, first_ref=f.first_ref, last_ref=f.last_ref,
                    last_count=f.count, peak_count=f.count, last_seen_at=now)
                session.add(row)
                session.flush()
                changes.raised.append(row.id)
        return changes

    def alerts(self, *, active: bool, limit: int = 100) -> list[dict[str, Any]]:
        """Active alerts (newest first), or the recent cleared ones."""
        state = HotspotAlertRow.active_key.is_not(None) if active else HotspotAlertRow.active_key.is_(None)
        with self._store.session() as session:
            rows = session.scalars(select(HotspotAlertRow).where(state)
                                   .order_by(HotspotAlertRow.raised_at.desc(), HotspotAlertRow.id.desc())
                                   .limit(limit))
            return [row_dict(r, self._tz) for r in rows]

    def ack(self, alert_id: int, by: str, now: dt.datetime) -> dict[str, Any]:
        """Acknowledge an alert; again: unchanged (the first acknowledgement stays)."""
        with self._store.session() as session:
            row = session.get(HotspotAlertRow, alert_id, with_for_update=True)
            if row is None:
                raise NoSuchHotspot(alert_id)
            if row.acked_at is None:
                row.acked_at, row.acked_by = now, by
            return row_dict(row, self._tz)

    def purge(self, now: dt.datetime, retention_days: int, max_kept: int) -> int:
        """Delete cleared alerts older than ``retention_days`` and beyond the newest ``max_kept``."""
        cleared = HotspotAlertRow.active_key.is_(None)
        with self._store.session() as session:
            old = session.execute(delete(HotspotAlertRow).where(
                cleared, HotspotAlertRow.cleared_at < now - dt.timedelta(days=retention_days)))
            keep = select(HotspotAlertRow.id).where(cleared).order_by(HotspotAlertRow.id.desc()).limit(max_kept)
            extra = session.execute(delete(HotspotAlertRow).where(
                cleared, HotspotAlertRow.id.not_in(keep.scalar_subquery())))
            return int(getattr(old, "rowcount", 0) or 0) + int(getattr(extra, "rowcount", 0) or 0)


def row_dict(r: HotspotAlertRow, tz: ZoneInfo) -> dict[str, Any]:
    """An alert as the API answers it, its times in ``tz`` (the site's zone)."""
    def t(at: dt.datetime | None) -> str | None:
        return at.astimezone(tz).isoformat() if at is not None else None

    return {"id": r.id, "dimension": r.dimension, "key": r.key, "active": r.active_key is not None,
            "raised_at": t(r.raised_at), "cleared_at": t(r.cleared_at),
            "window_start": t(r.window_start), "window_end": t(r.window_end),
            "count": r.count, "baseline_total": r.baseline_total, "baseline_days": r.baseline_days,
            "baseline_mean": r.baseline_mean, "ratio": r.ratio, "threshold": r.threshold,
            "first_ref": r.first_ref, "last_ref": r.last_ref, "last_count": r.last_count,
            "peak_count": r.peak_count, "last_seen_at": t(r.last_seen_at),
            "acked_at": t(r.acked_at), "acked_by": r.acked_by}


def _within(column: Any, windows: Sequence[Window]) -> ColumnElement[bool]:
    return or_(*(and_(column >= w.start, column < w.end) for w in windows))


def _count() -> Any:
    return func.count()


def _order_key(dimension: D, subject: str | None, area: str | None) -> str | None:
    if dimension is D.subject:
        return subject
    if dimension is D.area:
        return area
    return f"{subject}/{area}" if subject and area else None
