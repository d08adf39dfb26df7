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

PAGE = 500
MAX_SPAN = timedelta(days=92)


class MetricsService:
    def __init__(self, store: Store, site: SiteConfig, *, clock: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._site = site
        self._tz = ZoneInfo(site.site.timezone)
        self._wrapup = {q.name: float(q.wrapup) for q in site.queues}
        self._clock = clock or (lambda: datetime.now(timezone.utc))

    def _options(self) -> dict[str, Any]:
        return {"wrapup_s": lambda r: self._wrapup.get(r.queue or "", 0.0)}

    def records(self, start: datetime, end: datetime) -> list[CallRecord]:
        out: list[CallRecord] = []
        offset = 0
        while True:
            page, total = self._store.list_calls(start=start, end=end, limit=PAGE, offset=offset)
            out.extend(page)
            offset += len(page)
            if not page or offset >= total:
                return out

    def report(self, start: datetime, end: datetime, by: str = "all", interval: str | None = None) -> dict[str, Any]:
        if end - start > MAX_SPAN:
            raise InvalidRequest("end", f"the range may span at most {MAX_SPAN.days} days", end.isoformat())
        if by not in (*metrics.GROUPS, "all"):
            raise InvalidRequest("by", f"must be one of {sorted([*metrics.GROUPS, 'all'])}", by)
        if interval is not None and interval not in metrics.INTERVALS:
            raise InvalidRequest("interval", f"must be one of {sorted(metrics.INTERVALS)}", interval)
        recs = self.records(start, end)
        groups = metrics.grouped(recs, by, interval=interval, tz=self._tz, **self._options())
        rows: list[dict[str, Any]] = [{"group": k[0], "interval_start": k[1], **v.as_dict()}
                                      for k, v in groups.items()]
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

        One read: the local day began within the last 24 hours, so its records are a part of the
        rolling window's (both on ``arrived_at``)."""
        now = self._clock()
        day = now.astimezone(self._tz).replace(hour=0, minute=0, second=0, microsecond=0)
        window = self.records(now - timedelta(hours=24), now + timedelta(seconds=1))
        today = [r for r in window if r.arrived_at >= day]
        return {"day": day.date().isoformat(), **metrics.kpis(today, **self._options()).as_dict(),
                "rolling_24h": metrics.rolling_alarm(window, now, **self._options())}

    def rolling(self) -> dict[str, Any]:
        now = self._clock()
        recs = self.records(now - timedelta(hours=24), now + timedelta(seconds=1))
        return metrics.rolling_alarm(recs, now, **self._options())
