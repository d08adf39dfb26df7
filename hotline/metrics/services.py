"""KPIs over the call records in the store (formulas: :mod:`queue_manager.metrics`)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

from hotline.calls.model import CallRecord
from hotline.config.site import SiteConfig
from hotline.exceptions import InvalidRequest
from hotline.store import Store
from queue_manager import metrics

PAGE = 500
MAX_SPAN = timedelta(days=92)


class MetricsService:
    def __init__(self, store: Store, site: SiteConfig | None, *, clock: Callable[[], datetime] | None = None,
                 cache_seconds: float = 15.0) -> None:
        self._store = store
        self._site = site
        self._tz = ZoneInfo(site.site.timezone if site else "Asia/Shanghai")
        self._wrapup = {q.name: float(q.wrapup) for q in site.queues} if site else {}
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._cache: tuple[float, str] | None = None
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()

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
        out = {"start": start.isoformat(), "end": end.isoformat(), "by": by, "interval": interval,
               "service_level_seconds": metrics.SERVICE_LEVEL_S, "short_abandon_seconds": metrics.SHORT_ABANDON_S,
               "rows": [{"group": k[0], "interval_start": k[1], **v.as_dict()} for k, v in groups.items()]}
        if by in ("seat", "all") and interval is None:
            # staffed time and occupancy from the seat state log, per seat and over all seats
            occ = metrics.occupancy(metrics.seat_times(self._store.seat_states(start, end), start, end))
            out["occupancy"] = occ
            for row in out["rows"]:
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

    def prometheus(self, live: dict[str, Any]) -> str:
        """Prometheus text exposition: today's KPIs per queue and dialled number, the rolling
        24 h answer rate and its alarm, and the live gauges of the controller."""
        with self._lock:
            now_m = time.monotonic()
            if self._cache and now_m - self._cache[0] < self._cache_seconds:
                body = self._cache[1]
            else:
                body = self._kpi_text()
                self._cache = (now_m, body)
        return body + _live_text(live)

    def _kpi_text(self) -> str:
        now = self._clock()
        day = now.astimezone(self._tz).replace(hour=0, minute=0, second=0, microsecond=0)
        recs = self.records(day, now + timedelta(seconds=1))
        lines: list[str] = []
        fields = [("offered", "calls offered to a queue today"), ("answered", "calls answered today"),
                  ("abandoned", "calls abandoned in queue today"),
                  ("answer_rate", "answered / (offered - short abandons), today"),
                  ("answer_rate_15s", "answered within 15 s / (offered - short abandons), today"),
                  ("abandon_rate", "(abandoned - short abandons) / (offered - short abandons), today"),
                  ("asa_seconds", "average speed of answer today"), ("aht_seconds", "average handle time today")]
        by_label = {"queue": metrics.grouped(recs, "queue", **self._options()),
                    "dialled_number": metrics.grouped(recs, "dialled_number", **self._options())}
        for name, help_text in fields:
            lines += [f"# HELP hotline_{name} {help_text}", f"# TYPE hotline_{name} gauge"]
            for label, groups in by_label.items():
                for (key, _), k in groups.items():
                    value = getattr(k, name)
                    if value is not None:
                        lines.append(f'hotline_{name}{{{label}="{_esc(key or "none")}"}} {value}')
        r = metrics.rolling_alarm(self.records(now - timedelta(hours=24), now + timedelta(seconds=1)), now,
                                  **self._options())
        lines += ["# HELP hotline_answer_rate_24h answer rate over the last 24 h (GB/T 33358: at least 0.95)",
                  "# TYPE hotline_answer_rate_24h gauge"]
        if r["answer_rate"] is not None:
            lines.append(f"hotline_answer_rate_24h {r['answer_rate']}")
        lines += ["# HELP hotline_answer_rate_24h_alarm 1 when the 24 h answer rate is under 0.95",
                  "# TYPE hotline_answer_rate_24h_alarm gauge", f"hotline_answer_rate_24h_alarm {int(bool(r['alarm']))}"]
        return "\n".join(lines) + "\n"


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _live_text(live: dict[str, Any]) -> str:
    lines = []
    gauges = [("hotline_component_up", "1 when the component is healthy", [
        (f'{{component="{_esc(name)}"}}', int(bool(v.get("ok")))) for name, v in sorted(live.items())
        if isinstance(v, dict)])]
    calls = live.get("calls", {})
    journal = live.get("journal", {})
    ami = live.get("ami", {})
    gauges += [("hotline_calls_live", "conversations in progress", [("", calls.get("live", 0))]),
               ("hotline_journal_pending", "records waiting for the database", [("", journal.get("pending", 0))]),
               ("hotline_ami_events_total", "AMI events received", [("", ami.get("events", 0))])]
    gauges += _disk_gauges(live.get("disk"))
    for name, help_text, samples in gauges:
        kind = "counter" if name.endswith("_total") else "gauge"
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        lines += [f"{name}{labels} {value}" for labels, value in samples]
    return "\n".join(lines) + "\n"


_ALARM_LEVEL = {None: 0, "low": 1, "critical": 2}


def _disk_gauges(disk: Any) -> list[tuple[str, str, list[tuple[str, Any]]]]:
    """Free space per volume (role and path), the disk alarm and the janitor's deletions."""
    if not isinstance(disk, dict):
        return []
    volumes = [v for v in disk.get("volumes", []) if v.get("free_bytes") is not None]

    def labels(v: dict[str, Any]) -> str:
        return f'{{role="{_esc(str(v["role"]))}",path="{_esc(str(v["path"]))}"}}'
    out = [("hotline_disk_free_bytes", "bytes free for the hotline's files, by volume",
            [(labels(v), v["free_bytes"]) for v in volumes]),
           ("hotline_disk_free_ratio", "share of the volume free (0-1)",
            [(labels(v), round(v["free_percent"] / 100, 6)) for v in volumes if v.get("free_percent") is not None]),
           ("hotline_disk_alarm", "0 ok, 1 low (warn_free_*), 2 critical (min_free_*)",
            [("", _ALARM_LEVEL.get(disk.get("alarm"), 2))])]
    janitor = disk.get("janitor")
    if isinstance(janitor, dict):
        out.append(("hotline_janitor_deleted_total", "files the janitor deleted under the retention rules",
                    [(f'{{kind="{_esc(k)}"}}', n) for k, n in sorted(janitor.get("deleted", {}).items())]))
    return out
