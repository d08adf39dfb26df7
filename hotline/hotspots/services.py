"""The hotspot warning's service: the periodic round, the alerts supervisors read and acknowledge,
and what the wallboard shows.

Each round (:meth:`HotspotService.check`, every ``hotspots.every_seconds`` via
:func:`hotline.background.every`) counts, per configured dimension, the window and the baseline
windows in the store (:mod:`hotline.hotspots.store`), applies the pure rule
(:mod:`hotline.hotspots.detect`), raises/updates/clears the persisted alerts and purges the cleared
ones beyond the retention, so nothing grows without a reader. The state lives in the store only:
a restart neither raises an alert again nor forgets one. The clock is injected (the composition
root gives the order service's, so a test scripts time). After a round that changed anything (and
once at start) the active alerts go to ``publish`` (the live hub: the wallboard's SSE stream).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from hotline.background import Duty, every, runs_here
from hotline.config.hotspots import HotspotDimension as D
from hotline.config.site import SiteConfig
from hotline.exceptions import StoreError
from hotline.hotspots.detect import Finding, Rule, detect, windows
from hotline.hotspots.store import Changes, HotspotStore
from hotline.store import Store

log = logging.getLogger(__name__)

Publish = Callable[[list[dict[str, Any]]], None]


class HotspotService:
    duty: Duty | None = None   # set by the composition root when several controllers share the store

    def __init__(self, site: SiteConfig, store: Store, *, now: Callable[[], dt.datetime] | None = None,
                 publish: Publish | None = None) -> None:
        self._site = site
        self.config = site.hotspots
        self._tz = ZoneInfo(site.site.timezone)
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self._publish = publish
        self.store = HotspotStore(store, self._tz)
        self.rounds = 0

    def now(self) -> dt.datetime:
        return self._now().astimezone(self._tz)

    # --- the round -----------------------------------------------------------------------------
    def findings(self, now: dt.datetime) -> list[Finding]:
        """The hot keys at ``now`` over every configured dimension, at most ``max_active``
        (highest ratio first)."""
        c = self.config
        rule = Rule(factor=c.factor, min_count=c.min_count, baseline_days=c.baseline_days)
        current, baseline = windows(now, c.window_minutes, c.baseline_days, self._tz)
        found: list[Finding] = []
        for dimension in c.dimensions:
            found += detect(dimension.value, self.store.items(dimension, current),
                            self.store.baseline(dimension, baseline), current, rule)
        found.sort(key=lambda f: (f.ratio is not None, -(f.ratio or 0.0), -f.count, f.dimension, f.key))
        if len(found) > c.max_active:
            log.warning("hotspots: %d hot keys, alerting the %d with the highest ratio", len(found), c.max_active)
        return found[:c.max_active]

    def round(self, now: dt.datetime | None = None) -> Changes:
        """One round (blocking; :meth:`check` runs it in a thread)."""
        at = now or self.now()
        try:
            changes = self.store.apply(self.findings(at), list(self.config.dimensions), at)
        except IntegrityError:   # another controller's round raised the same hotspot first: ours is void
            log.info("hotspot round: an alert was raised meanwhile elsewhere; the next round sees it")
            return Changes()
        purged = self.store.purge(at, self.config.retention_days, self.config.max_kept)
        self.rounds += 1
        for alert_id in changes.raised:
            log.warning("hotspot alert %d raised", alert_id)
        if purged:
            log.info("hotspots: %d cleared alerts purged", purged)
        return changes

    async def check(self) -> Changes:
        changes = await asyncio.to_thread(self.round)
        if changes.any:
            await self.publish()
        return changes

    async def run(self, interval: float | None = None) -> None:
        """The periodic round until cancelled (nothing when ``hotspots.enabled`` is false)."""
        await self.publish()
        if not self.config.enabled:
            return
        await every(interval or float(self.config.every_seconds), self.check, log, "hotspot round", self.duty)

    async def publish(self) -> None:
        """The active alerts to the wallboard (a failing store is logged: the next change retries)."""
        if self._publish is None:
            return
        try:
            board = await asyncio.to_thread(self.board)
        except StoreError as exc:
            log.warning("hotspot alerts not published to the wallboard: %s", exc.message)
            return
        self._publish(board)

    # --- what people read ----------------------------------------------------------------------
    def label(self, dimension: str, key: str) -> str:
        """The key as people name it: the subject's or area's name (供水, 某区), ``某区·供水``."""
        orders = self._site.orders

        def subject(k: str) -> str:
            s = orders.subject(k)
            return s.name if s else k

        def area(k: str) -> str:
            a = orders.area(k)
            return a.name if a else k

        if dimension == D.subject.value:
            return subject(key)
        if dimension == D.area.value:
            return area(key)
        if dimension == D.subject_area.value and "/" in key:
            s, a = key.split("/", 1)
            return f"{area(a)}·{subject(s)}"
        return key

    def present(self, alert: dict[str, Any]) -> dict[str, Any]:
        """An alert with its label, unit and the wallboard's line (热点预警: 供水 12 件 / 近7日同期均值 1.43)."""
        label = self.label(alert["dimension"], alert["key"])
        unit = "通" if alert["dimension"] == D.dialled_number.value else "件"
        text = (f"热点预警: {label} {alert['count']} {unit} / 近{alert['baseline_days']}日同期均值 "
                f"{alert['baseline_mean']:g}")
        return {**alert, "label": label, "unit": unit, "text": text}

    def board(self) -> list[dict[str, Any]]:
        """The active alerts as the wallboard shows them (unacknowledged first, newest first)."""
        active = [self.present(a) for a in self.store.alerts(active=True, limit=self.config.max_active)]
        return sorted(active, key=lambda a: a["acked_at"] is not None)

    async def listing(self, limit: int) -> dict[str, Any]:
        """``GET /api/hotspots``: the rule, the active alerts and the ``limit`` most recent cleared ones."""
        active = await asyncio.to_thread(self.board)
        recent = await asyncio.to_thread(self.store.alerts, active=False, limit=limit)
        c = self.config
        return {"rule": {"enabled": c.enabled, "window_minutes": c.window_minutes, "baseline_days": c.baseline_days,
                         "factor": c.factor, "min_count": c.min_count,
                         "dimensions": [d.value for d in c.dimensions], "timezone": self._site.site.timezone},
                "as_of": self.now().isoformat(), "active": active, "recent": [self.present(a) for a in recent]}

    async def ack(self, alert_id: int, by: str) -> dict[str, Any]:
        """Acknowledge an alert (the first acknowledgement stays); the wallboard is told."""
        alert = await asyncio.to_thread(self.store.ack, alert_id, by, self.now())
        await self.publish()
        return self.present(alert)

    def status(self) -> dict[str, Any]:
        return {"ok": True, "enabled": self.config.enabled, "rounds": self.rounds, "runs_here": runs_here(self.duty)}
