"""KPIs over the call records in the store (formulas: :mod:`queue_manager.metrics`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

from hotline.records.call import CallRecord
from hotline.config.site import SiteConfig
from hotline.exceptions import InvalidRequest
from hotline.store import Store
from queue_manager import metrics

from .kpi_query import KpiQuery

PAGE = 500
MAX_SPAN = timedelta(days=92)
_INSTANT = timedelta(microseconds=1)   # [start, now] is [start, now + 1 µs)


class MetricsService:
    """KPIs in SQL at any history size (:class:`hotline.metrics.kpi_query.KpiQuery`: the rollup and
    the raw edges); :meth:`records` with :mod:`queue_manager.metrics` stays the reference."""

    def __init__(self, store: Store, site: SiteConfig, *, clock: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._site = site
        self._tz = ZoneInfo(site.site.timezone)
        self._wrapup = {q.name: float(q.wrapup) for q in site.queues}
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._query = KpiQuery(store, self._tz, self._wrapup)

    def options(self) -> dict[str, Any]:
        """The reference formulas' options for this site (the wrap-up of each record's queue)."""
        return {"wrapup_s": lambda r: self._wrapup.get(r.queue or "", 0.0)}

    def records(self, start: datetime, end: datetime) -> list[CallRecord]:
        """Every record that arrived in [start, end) (the reference's input; slow on a big range)."""
        out: list[CallRecord] = []
        offset = 0
        while True:
            page, total = self._store.list_calls(start=start, end=end, limit=PAGE, offset=offset)
            out.extend(page)
            offset += len(page)
            if not page or offset >= total:
                return out

    def report(self, start: datetime, end: datetime, by: str = "all", interval: str | None = None) -> dict[str, Any]:
        for name, value in (("start", start), ("end", end)):
            if value.tzinfo is None:
                raise InvalidRequest(name, "must include a UTC offset", value.isoformat())
        if end <= start:
            raise InvalidRequest("end", f"must be after start ({start.isoformat()})", end.isoformat())
        if end - start > MAX_SPAN:
            raise InvalidRequest("end", f"the range may span at most {MAX_SPAN.days} days", end.isoformat())
        if by not in (*metrics.GROUPS, "all"):
            raise InvalidRequest("by", f"must be one of {sorted([*metrics.GROUPS, 'all'])}", by)
        if interval is not None and interval not in metrics.INTERVALS:
            raise InvalidRequest("interval", f"must be one of {sorted(metrics.INTERVALS)}", interval)
        groups = self._query.groups(start, end, by, interval)
        rows: list[dict[str, Any]] = [{"group": k[0], "interval_start": k[1], **v.kpis().as_dict()}
                                      for k, v in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1])))]
        out: dict[str, Any] = {
            "start": start.isoformat(), "end": end.isoformat(), "by": by, "interval": interval,
            "service_level_seconds": metrics.SERVICE_LEVEL_S, "short_abandon_seconds": metrics.SHORT_ABANDON_S,
            "rows": rows}
        if by in ("seat", "all") and interval is None:
            # staffed time and occupancy from the seat state log, per seat and over all seats
            occ = metrics.occupancy(metrics.seat_times(self._store.seat_states(start, end), start, end))
            out["occupancy"] = occ
            for row in rows:
                row.update(occ.get(row["group"] or "all", {"staffed_seconds": None, "handle_seconds": None,
                                                           "occupancy": None}))
        return out

    def today(self) -> dict[str, Any]:
        """Today's KPIs over every queue (site local day) and the rolling 24 h alarm: the wallboard.

        Both on ``arrived_at``: today is [local midnight, now + 1 s), the rolling window
        [now - 24 h, now]."""
        now = self._clock()
        day = now.astimezone(self._tz).replace(hour=0, minute=0, second=0, microsecond=0)
        today = self._query.total(max(day, now - timedelta(hours=24)), now + timedelta(seconds=1))
        return {"day": day.date().isoformat(), **today.kpis().as_dict(), "rolling_24h": self.rolling(now)}

    def rolling(self, now: datetime | None = None) -> dict[str, Any]:
        now = now or self._clock()
        start = now - timedelta(hours=24)
        return metrics.alarm_of(self._query.total(start, now + _INSTANT).kpis(), start, now)
