"""``/metrics`` for Prometheus: counters and histograms of the calls, live gauges of the controller.

Ratios are not exported: a Prometheus server computes them over any window and across
controllers from the counters (README, "Metrics for Prometheus"). Every series carries ``site``
(``site.id`` of the site config) and ``node`` (the host name), so the series of several
controllers never collide.

- :class:`CallMetrics` counts each call once when its record is written (live or reconciled; a
  record written again, e.g. by the reconciler, is not counted twice: the call ids of the last
  ``RECENT_IDS`` records are remembered), with the KPI definitions of :mod:`queue_manager.metrics`
  (offered, answered, within 15 s, abandoned, short abandons), and observes wait, talk and
  routing time (arrival to queue, from the record's CEL marks).
- :class:`LiveCollector` turns ``/status`` (components, journal, CEL lag, FastAGI, disk) and the
  seats' live states into gauges at scrape time.

Each app has its own :class:`~prometheus_client.CollectorRegistry` (never the global one).
"""

from __future__ import annotations

import socket
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hotline.records.call import CallRecord, Outcome
from queue_manager import metrics as kpi
from queue_manager.seats import SeatState

RECENT_IDS = 50_000
WAIT_BUCKETS = (1, 2, 5, 10, 15, 20, 30, 45, 60, 120, 300, 600)
TALK_BUCKETS = (15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600)
ROUTING_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120)
_ALARM_LEVEL = {None: 0, "low": 1, "critical": 2}

LiveSource = Callable[[], dict[str, Any]]


def node_name() -> str:
    return socket.gethostname() or "unknown"


class CallMetrics:
    """The call counters and histograms; :meth:`observe` is called for every record written."""

    def __init__(self, registry: CollectorRegistry, site: str, node: str) -> None:
        self._site, self._node = site, node
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()   # records come from the loop and from the reconciler's thread
        base = ["site", "node", "queue"]

        def counter(name: str, doc: str, extra: tuple[str, ...] = ()) -> Counter:
            return Counter(name, doc, [*base, *extra], registry=registry)

        def histogram(name: str, doc: str, buckets: tuple[float, ...]) -> Histogram:
            return Histogram(name, doc, base, buckets=buckets, registry=registry)

        self.calls = counter("hotline_calls", "calls recorded, by outcome (each call once)", ("outcome",))
        self.offered = counter("hotline_calls_offered", "calls that reached a queue (offered to the seats)")
        self.answered = counter("hotline_calls_answered", "offered calls a seat answered")
        self.in_sl = counter("hotline_calls_answered_within_15s",
                             "offered calls a seat answered within 15 s of joining the queue (GB/T 33358)")
        self.abandoned = counter("hotline_calls_abandoned", "offered calls abandoned in the queue")
        self.short = counter("hotline_calls_short_abandoned",
                             f"offered calls abandoned within {kpi.SHORT_ABANDON_S:g} s (out of the rates' base)")
        self.wait = histogram("hotline_wait_seconds", "time in queue of offered calls (answered or not)",
                              WAIT_BUCKETS)
        self.talk = histogram("hotline_talk_seconds", "talk time of answered calls", TALK_BUCKETS)
        self.routing = histogram("hotline_routing_seconds", "arrival to queue: routing (FastAGI) and any "
                                 "prompt played before the queue", ROUTING_BUCKETS)

    def _first_time(self, call_id: str) -> bool:
        with self._lock:
            if call_id in self._recent:
                return False
            self._recent[call_id] = None
            while len(self._recent) > RECENT_IDS:
                self._recent.popitem(last=False)
            return True

    def observe(self, record: CallRecord) -> None:
        if not self._first_time(record.call_id):
            return
        labels = {"site": self._site, "node": self._node, "queue": record.queue or "none"}
        outcome = record.outcome.value if isinstance(record.outcome, Outcome) else str(record.outcome)
        self.calls.labels(**labels, outcome=outcome).inc()
        k = kpi.kpis([record])   # the report's definitions, for one record
        for counter, n in ((self.offered, k.offered), (self.answered, k.answered), (self.in_sl, k.answered_in_sl),
                           (self.abandoned, k.abandoned), (self.short, k.short_abandons)):
            counter.labels(**labels).inc(n)   # inc(0) creates the series: rates never divide by a missing one
        if k.offered and record.wait_seconds is not None:
            self.wait.labels(**labels).observe(record.wait_seconds)
        if k.answered and record.talk_seconds is not None:
            self.talk.labels(**labels).observe(record.talk_seconds)
        if record.queued_at is not None:
            self.routing.labels(**labels).observe(max(0.0, (record.queued_at - record.arrived_at).total_seconds()))


class LiveCollector(Collector):
    """Gauges from a status snapshot, read at scrape time by :func:`exposition`."""

    def __init__(self, site: str, node: str, seats: Callable[[], list[dict[str, Any]]] | None) -> None:
        self._site, self._node = site, node
        self._seats = seats
        self._live: dict[str, Any] = {}

    def describe(self) -> list[Metric]:
        return []   # generated at scrape time: no names to check up front

    def collect(self) -> Iterator[Metric]:
        live = self._live
        names, values = ["site", "node"], [self._site, self._node]

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, labels=[*names, *labels])

        up = gauge("hotline_component_up", "1 when the component is healthy (/status)", ("component",))
        for component, v in sorted(live.items()):
            if isinstance(v, dict):
                up.add_metric([*values, component], int(v.get("ok") is True))
        yield up
        calls, journal, ami = live.get("calls", {}), live.get("journal", {}), live.get("ami", {})
        for name, doc, value in (("hotline_calls_live", "conversations in progress", calls.get("live", 0)),
                                 ("hotline_journal_pending", "records waiting for the database",
                                  journal.get("pending", 0))):
            g = gauge(name, doc)
            g.add_metric(values, value or 0)
            yield g
        events = CounterMetricFamily("hotline_ami_events", "AMI events received", labels=names)
        events.add_metric(values, ami.get("events", 0) or 0)
        yield events
        yield from self._quantiles("hotline_cel_lag_seconds", "CEL event time to the tracker (the tail's "
                                   "recent p50/p99)", live.get("cel_tail", {}), "lag")
        yield from self._fastagi(live.get("fastagi", {}))
        yield from self._disk(live.get("disk"))
        yield from self._outbox(live.get("outbox"))
        if self._seats is not None:
            by_state = {state.value: 0 for state in SeatState}
            for seat in self._seats():
                state = str(seat.get("state"))
                by_state[state] = by_state.get(state, 0) + 1
            seats = gauge("hotline_seats", "configured seats by live state", ("state",))
            for state, n in sorted(by_state.items()):
                seats.add_metric([*values, state], n)
            yield seats

    def _quantiles(self, name: str, doc: str, status: dict[str, Any], key: str) -> Iterator[Metric]:
        g = GaugeMetricFamily(name, doc, labels=["site", "node", "quantile"])
        for q, quantile in (("50", "0.5"), ("99", "0.99")):
            ms = status.get(f"{key}_p{q}_ms")
            if ms is not None:
                g.add_metric([self._site, self._node, quantile], ms / 1000)
        yield g

    def _fastagi(self, agi: dict[str, Any]) -> Iterator[Metric]:
        values = [self._site, self._node]
        for name, doc, key in (("hotline_fastagi_commands", "AGI commands the FastAGI process answered", "commands"),
                               ("hotline_fastagi_restarts", "times the FastAGI process was replaced", "restarts")):
            c = CounterMetricFamily(name, doc, labels=["site", "node"])
            c.add_metric(values, agi.get(key, 0) or 0)
            yield c
        yield from self._quantiles("hotline_fastagi_command_seconds", "FastAGI command latency (the child "
                                   "process's recent p50/p99)", agi, "command")

    def _outbox(self, outbox: Any) -> Iterator[Metric]:
        """Order events by delivery status (pending, dead: the dead-letter list) and sends."""
        if not isinstance(outbox, dict):
            return
        values = [self._site, self._node]
        rows = GaugeMetricFamily("hotline_outbox_deliveries", "order events to webhooks by status (dead: the "
                                 "dead-letter list)", labels=["site", "node", "status"])
        for status in ("pending", "delivered", "dead"):
            rows.add_metric([*values, status], outbox.get(f"{status}_rows", 0) or 0)
        sent = CounterMetricFamily("hotline_outbox_attempts", "delivery attempts by result", labels=["site", "node",
                                                                                                    "result"])
        for result in ("sent", "failed"):
            sent.add_metric([*values, result], outbox.get(result, 0) or 0)
        purged = CounterMetricFamily("hotline_outbox_dead_purged", "dead letters purged (expired: older than "
                                     "dead_retention_days; capped: beyond max_dead_per_webhook)",
                                     labels=["site", "node", "webhook", "reason"])
        for webhook, counts in sorted((outbox.get("purged_by_webhook") or {}).items()):
            for reason in ("expired", "capped"):
                purged.add_metric([*values, webhook, reason], counts.get(reason, 0) or 0)
        yield from (rows, sent, purged)

    def _disk(self, disk: Any) -> Iterator[Metric]:
        """Free space per volume (role and path), the disk alarm and the janitor's deletions."""
        if not isinstance(disk, dict):
            return
        values = [self._site, self._node]
        labels = ["site", "node", "role", "path"]
        free = GaugeMetricFamily("hotline_disk_free_bytes", "bytes free for the hotline's files, by volume",
                                 labels=labels)
        ratio = GaugeMetricFamily("hotline_disk_free_ratio", "share of the volume free (0-1)", labels=labels)
        for v in disk.get("volumes", []):
            if v.get("free_bytes") is None:
                continue
            key = [*values, str(v["role"]), str(v["path"])]
            free.add_metric(key, v["free_bytes"])
            if v.get("free_percent") is not None:
                ratio.add_metric(key, round(v["free_percent"] / 100, 6))
        alarm = GaugeMetricFamily("hotline_disk_alarm", "0 ok, 1 low (warn_free_*), 2 critical (min_free_*)",
                                  labels=["site", "node"])
        alarm.add_metric(values, _ALARM_LEVEL.get(disk.get("alarm"), 2))
        yield from (free, ratio, alarm)
        janitor = disk.get("janitor")
        if isinstance(janitor, dict):
            deleted = CounterMetricFamily("hotline_janitor_deleted", "files the janitor deleted under the "
                                          "retention rules", labels=["site", "node", "kind"])
            for kind, n in sorted(janitor.get("deleted", {}).items()):
                deleted.add_metric([*values, kind], n)
            yield deleted


class PromMetrics:
    """One app's registry: the call metrics (fed by the controller) and the live collector."""

    def __init__(self, site: str = "hotline", node: str | None = None,
                 seats: Callable[[], list[dict[str, Any]]] | None = None) -> None:
        self.site, self.node = site, node or node_name()
        self.registry = CollectorRegistry(auto_describe=False)
        self.calls = CallMetrics(self.registry, self.site, self.node)
        self._live = LiveCollector(self.site, self.node, seats)
        self.registry.register(self._live)
        self._lock = threading.Lock()

    def observe(self, record: CallRecord) -> None:
        self.calls.observe(record)

    def exposition(self, live: dict[str, Any]) -> bytes:
        """The text format, with the live gauges of this ``/status`` snapshot."""
        with self._lock:
            self._live._live = live
            return generate_latest(self.registry)
