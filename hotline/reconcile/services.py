"""The reconciliation report of a day: reads the store and Asterisk's logs, builds :mod:`.report`."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hotline.config.site import SiteConfig
from hotline.store import Store

from . import parse, report

PAGE = 500
MARGIN = timedelta(hours=6)   # records this far either side of the day: calls crossing midnight


class ReconcileService:
    """``queue_log`` and ``cdr_log``: Asterisk's files (None without a local Asterisk: the report
    then says so in ``sources`` and every call of ours is unmatched)."""

    def __init__(self, store: Store, site: SiteConfig, *, queue_log: Path | None = None,
                 cdr_log: Path | None = None) -> None:
        self._store = store
        self._tz = ZoneInfo(site.site.timezone)
        self._queue_log = queue_log
        self._cdr_log = cdr_log

    def _records(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        offset = 0
        while True:
            page, total = self._store.list_calls(start=start, end=end, limit=PAGE, offset=offset)
            out.extend(r.to_dict() for r in page)
            offset += len(page)
            if not page or offset >= total:
                return out

    def report(self, day: date) -> dict[str, Any]:
        """From a worker thread (reads files and the store)."""
        start = datetime.combine(day, time(0), self._tz)
        end = datetime.combine(day + timedelta(days=1), time(0), self._tz)
        records = self._records(start - MARGIN, end + MARGIN)
        parsed, files = parse.read(self._queue_log, self._cdr_log)
        sources = {"records": len(records), "files": files,
                   "queue_log": self._queue_log is not None and self._queue_log.exists(),
                   "cdr_log": self._cdr_log is not None and self._cdr_log.exists(),
                   "timezone": str(self._tz)}
        return report.build(day.isoformat(), records, parsed, self._tz, sources)
