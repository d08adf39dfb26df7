"""A KPI report of one queue, seat or dialled number (``queue=``, ``seat=``, ``dialled_number=``):
the SQL path (the rollup's rows of that member and the raw edges) equals the pure reference over
exactly that member's records, on SQLite and PostgreSQL; of one seat, AHT counts the seat's own talk."""

from __future__ import annotations

import random
from typing import Any
from zoneinfo import ZoneInfo

from hotline.metrics.services import MetricsService
from hotline.records.call import CallRecord
from hotline.store import Store
from queue_manager import metrics

from test_kpi_rollup import _ranges, _site, history  # noqa: F401  (history: the random history fixture)

ONLY: list[dict[str, str]] = [
    {"queue": "hotline"}, {"queue": "renshe"}, {"seat": "1002"}, {"dialled_number": "12333"},
    {"queue": "hotline", "seat": "1001"}, {"queue": "renshe", "dialled_number": "12345"}]
GROUPS = {"all": ("all", "queue", "seat", "dialled_number"), "member": ("all", "queue")}


def _keeps(r: CallRecord, only: dict[str, str]) -> bool:
    return all(getattr(r, k) == v for k, v in only.items())


def _want(service: MetricsService, records: list[CallRecord], only: dict[str, str], by: str,
          interval: str | None, tz: Any) -> list[dict[str, Any]]:
    kept = [r for r in records if _keeps(r, only)]
    groups = metrics.grouped(kept, by, interval=interval, tz=tz, own_talk=by == "seat" or "seat" in only,
                             **service.options())
    return [{"group": k[0], "interval_start": k[1], **v.as_dict()} for k, v in groups.items()]


def test_one_members_report_equals_the_reference(store: Store, history: list[CallRecord]) -> None:  # noqa: F811
    compared = 0
    for tz in ("Asia/Shanghai", "Asia/Kolkata"):
        service = MetricsService(store, _site(tz))
        for start, end in _ranges(random.Random(tz))[:4]:
            records = service.records(start, end)
            for only in ONLY:
                member = "seat" in only or "dialled_number" in only
                for by in GROUPS["member" if member else "all"]:
                    for interval in (None, "hour", "day"):
                        out = service.report(start, end, by=by, interval=interval, **only)
                        want = _want(service, records, only, by, interval, ZoneInfo(tz))
                        assert out["rows"] == want, (tz, start, end, only, by, interval)
                        assert out["empty"] is (not want)
                        compared += len(want)
    assert compared > 500


def test_unknown_member_probe_uses_the_rollup(store: Store, history: list[CallRecord]) -> None:  # noqa: F811
    assert store.kpi_member_known("seat", "1003") and store.kpi_member_known("dialled_number", "")
    assert not store.kpi_member_known("seat", "1004") and not store.kpi_member_known("queue", "1001")
