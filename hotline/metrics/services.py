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

from .errors import UNKNOWN, BadGroup, BadInterval, WindowInverted, WindowTooLong
from .kpi_query import KpiQuery, rollup_plan

PAGE = 500
MAX_SPAN = timedelta(days=92)
MAX_ROWS = 20_000   # rows of one report (a month per hour by seat is 80 000+: narrow it, or export the calls)
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

    def check(self, start: datetime, end: datetime, by: str, interval: str | None, only: dict[str, str]) -> None:
        """The report's parameters, each bad one a stable error id (:mod:`hotline.metrics.errors`)."""
        for name, value in (("start", start), ("end", end)):
            if value.tzinfo is None:
                raise InvalidRequest(name, "must include a UTC offset", value.isoformat())
        if end <= start:
            raise WindowInverted("end", f"must be after start ({start.isoformat()})", end.isoformat())
        if end - start > MAX_SPAN:
            raise WindowTooLong("end", f"the range may span at most {MAX_SPAN.days} days", end.isoformat())
        if by not in (*metrics.GROUPS, "all"):
            raise BadGroup("by", f"must be one of {sorted([*metrics.GROUPS, 'all'])}", by)
        if interval is not None and interval not in metrics.INTERVALS:
            raise BadInterval("interval", f"must be one of {sorted(metrics.INTERVALS)}", interval)
        configured = {"queue": set(self._wrapup), "seat": {s.id for s in self._site.seats}, "dialled_number": set()}
        for dim, member in only.items():
            if member not in configured[dim] and not self._store.kpi_member_known(dim, member):
                raise UNKNOWN[dim](dim, "is not in the site config and no call ever counted under it", member)
        rollup_plan(by, only)   # a combination the rollup does not keep: refused before any read

    def report(self, start: datetime, end: datetime, by: str = "all", interval: str | None = None,
               **only: str | None) -> dict[str, Any]:
        """The KPIs of the records that arrived in [start, end) per group and interval; ``only``:
        ``queue``, ``seat`` and/or ``dialled_number`` keep that member's records (AHT counting the
        seat's own talk when by seat or of one seat). At most :data:`MAX_ROWS` rows."""
        members = {k: v for k, v in only.items() if v is not None}
        self.check(start, end, by, interval, members)
        groups = self._query.groups(start, end, by, interval, members, limit=MAX_ROWS)
        rows: list[dict[str, Any]] = [{"group": k[0], "interval_start": k[1], **v.kpis().as_dict()}
                                      for k, v in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1])))]
        out: dict[str, Any] = {
            "start": start.isoformat(), "end": end.isoformat(), "by": by, "interval": interval, **members,
            "service_level_seconds": metrics.SERVICE_LEVEL_S, "short_abandon_seconds": metrics.SHORT_ABANDON_S,
            "empty": not rows, "rows": rows}
        if by in ("seat", "all") and interval is None and not members:
            # staffed time and occupancy from the seat state log, per seat and over all seats
            occ = metrics.occupancy(self._store.seat_times(start, end))   # = metrics.seat_times of seat_states
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
