"""``/metrics`` through prometheus_client: counters and histograms of the calls (each call once),
live gauges from /status, labels ``site`` and ``node``, a registry per app. Every exposition is
read back with prometheus_client's own text parser."""

from __future__ import annotations

import socket
import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from hotline.app import Controller
from hotline.calls.cellog import read_records
from hotline.calls.model import CallRecord, Outcome
from hotline.config import load_site, parse_site
from hotline.config.paths import Paths
from hotline.live.hub import LiveHub
from hotline.metrics.prom import PromMetrics
from hotline.store import Store
from apikit import api_app

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
LABELS = {"site": "nantong", "node": "ctl-a"}


def samples(text: str | bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample by (name, sorted labels); the parser raises on anything malformed."""
    if isinstance(text, bytes):
        text = text.decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(all_samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return all_samples.get((name, tuple(sorted({**LABELS, **labels}.items()))))


def record(call_id: str, outcome: Outcome, *, wait: float | None = None, talk: float | None = None,
           queue: str | None = "hotline", routing: float | None = 0.4) -> CallRecord:
    queued = T0 + timedelta(seconds=routing) if routing is not None else None
    return CallRecord(call_id=call_id, dialled_number="12345", caller_number="13800138000", arrived_at=T0,
                      queue=queue if queued else None, queued_at=queued, outcome=outcome, wait_seconds=wait,
                      talk_seconds=talk)


def test_calls_are_counted_once_by_outcome_and_queue() -> None:
    prom = PromMetrics("nantong", "ctl-a")
    for r in [record("1.1", Outcome.answered, wait=4, talk=100),
              record("1.2", Outcome.answered, wait=20, talk=50),
              record("1.3", Outcome.abandoned_in_queue, wait=3),            # short abandon
              record("1.4", Outcome.abandoned_in_queue, wait=30),
              record("1.5", Outcome.answered, wait=8, talk=70, queue="renshe"),
              record("1.6", Outcome.abandoned_before_queue, routing=None),  # not offered
              record("1.1", Outcome.answered, wait=4, talk=100)]:           # rewritten (reconciler): not again
        prom.observe(r)
    s = samples(prom.exposition({}))
    assert value(s, "hotline_calls_total", queue="hotline", outcome="answered") == 2
    assert value(s, "hotline_calls_total", queue="hotline", outcome="abandoned_in_queue") == 2
    assert value(s, "hotline_calls_total", queue="none", outcome="abandoned_before_queue") == 1
    assert value(s, "hotline_calls_offered_total", queue="hotline") == 4
    assert value(s, "hotline_calls_answered_total", queue="hotline") == 2
    assert value(s, "hotline_calls_answered_within_15s_total", queue="hotline") == 1
    assert value(s, "hotline_calls_abandoned_total", queue="hotline") == 2
    assert value(s, "hotline_calls_short_abandoned_total", queue="hotline") == 1
    assert value(s, "hotline_calls_answered_within_15s_total", queue="renshe") == 1
    assert value(s, "hotline_calls_offered_total", queue="none") == 0   # the series exists: rates never miss it
    # wait: 4, 20, 3, 30 in hotline; buckets around 15 s
    assert value(s, "hotline_wait_seconds_bucket", queue="hotline", le="5.0") == 2
    assert value(s, "hotline_wait_seconds_bucket", queue="hotline", le="15.0") == 2
    assert value(s, "hotline_wait_seconds_bucket", queue="hotline", le="20.0") == 3
    assert value(s, "hotline_wait_seconds_bucket", queue="hotline", le="+Inf") == 4
    assert value(s, "hotline_wait_seconds_sum", queue="hotline") == 57
    assert value(s, "hotline_talk_seconds_count", queue="hotline") == 2
    assert value(s, "hotline_talk_seconds_sum", queue="hotline") == 150
    assert value(s, "hotline_routing_seconds_count", queue="hotline") == 4
    assert value(s, "hotline_routing_seconds_bucket", queue="hotline", le="0.25") == 0
    assert value(s, "hotline_routing_seconds_bucket", queue="hotline", le="0.5") == 4
    assert not any(name in ("hotline_answer_rate", "hotline_answer_rate_15s", "hotline_answer_rate_24h")
                   for name, _ in s)   # ratios are queries, not gauges


def test_the_memory_of_counted_calls_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.metrics import prom as prom_mod
    monkeypatch.setattr(prom_mod, "RECENT_IDS", 10)
    prom = PromMetrics("nantong", "ctl-a")
    for i in range(100):
        prom.observe(record(f"2.{i}", Outcome.answered, wait=1, talk=1))
    assert len(prom.calls._recent) == 10
    s = samples(prom.exposition({}))
    assert value(s, "hotline_calls_total", queue="hotline", outcome="answered") == 100


def test_live_gauges_from_status() -> None:
    from hotline.disk import space
    from hotline.config.site import Retention
    retention = Retention(min_free_percent=5, min_free_mb=1024, warn_free_percent=15, warn_free_mb=4096)
    gb = 1024 ** 3
    def stat(free: int, total: int) -> Any:
        return lambda path: types.SimpleNamespace(f_bavail=free // 4096, f_frsize=4096, f_blocks=total // 4096)

    vols = [space.sample("state", Path('/v"ar'), retention, stat(0, 10 * gb)),
            space.sample("recordings", Path("/r"), retention, stat(10 * gb, 100 * gb))]
    disk = {**space.summary(vols, retention), "janitor": {"deleted": {"recordings": 3, "cel_log": 0}}}
    seats = [{"seat_id": "1001", "state": "talking"}, {"seat_id": "1002", "state": "talking"},
             {"seat_id": "1003", "state": "paused"}]
    prom = PromMetrics("nantong", "ctl-a", seats=lambda: seats)
    status = {"ami": {"ok": True, "events": 7}, "calls": {"ok": True, "live": 2},
              "journal": {"ok": True, "pending": 5}, "disk": disk,
              "cel_tail": {"ok": True, "lag_p50_ms": 12.0, "lag_p99_ms": 250.0},
              "fastagi": {"ok": True, "commands": 40, "restarts": 1, "command_p50_ms": 1.5, "command_p99_ms": 9.0}}
    s = samples(prom.exposition(status))
    assert value(s, "hotline_component_up", component="ami") == 1
    assert value(s, "hotline_component_up", component="disk") == 0
    assert value(s, "hotline_calls_live") == 2 and value(s, "hotline_journal_pending") == 5
    assert value(s, "hotline_ami_events_total") == 7
    assert value(s, "hotline_cel_lag_seconds", quantile="0.99") == 0.25
    assert value(s, "hotline_fastagi_command_seconds", quantile="0.5") == 0.0015
    assert value(s, "hotline_fastagi_commands_total") == 40 and value(s, "hotline_fastagi_restarts_total") == 1
    assert value(s, "hotline_disk_free_bytes", role="state", path='/v"ar') == 0
    assert value(s, "hotline_disk_free_bytes", role="recordings", path="/r") == 10 * gb
    assert value(s, "hotline_disk_free_ratio", role="recordings", path="/r") == 0.1
    assert value(s, "hotline_disk_alarm") == 2
    assert value(s, "hotline_janitor_deleted_total", kind="recordings") == 3
    assert value(s, "hotline_seats", state="talking") == 2 and value(s, "hotline_seats", state="paused") == 1
    assert value(s, "hotline_seats", state="idle") == 0    # every state, so a sum by state is stable


def test_each_app_has_its_own_registry() -> None:
    one, two = PromMetrics("nantong", "ctl-a"), PromMetrics("nantong", "ctl-b")
    one.observe(record("3.1", Outcome.answered, wait=1, talk=1))
    assert value(samples(one.exposition({})), "hotline_calls_total", queue="hotline", outcome="answered") == 1
    assert not any(name == "hotline_calls_total" for name, _ in samples(two.exposition({})))


async def test_metrics_over_http_with_site_and_node(sqlite_store: Store) -> None:
    site = parse_site({"site": {"id": "nantong"}, "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
                       "seats": [{"id": "1001", "name": "a", "secret": "seat-secret-1001"}]}, "test.yaml")
    hub = LiveHub(None)
    hub.update_seat({"seat_id": "1001", "state": "idle"})
    app = api_app(sqlite_store, status=lambda: {"ami": {"ok": True, "events": 1}}, site=site, hub=hub)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/metrics")
        assert response.status == 200 and response.content_type == "text/plain"
        s = samples(await response.text())
    node = socket.gethostname()
    assert s[("hotline_component_up", (("component", "ami"), ("node", node), ("site", "nantong")))] == 1
    assert s[("hotline_seats", (("node", node), ("site", "nantong"), ("state", "idle")))] == 1


def test_site_id_is_a_short_slug() -> None:
    from hotline.exceptions import ConfigError
    with pytest.raises(ConfigError) as caught:
        parse_site({"site": {"id": "Nan Tong!"}, "trunks": [{"name": "carrier", "host": "127.0.0.2"}]}, "x.yaml")
    assert "site.id" in str(caught.value)


# --- the controller counts what it writes, live and reconciled, once ----------------------


@pytest.fixture
def controller(controller_paths: Paths) -> Iterator[Controller]:
    site = load_site(str(REPO / "examples" / "nantong" / "site.yaml"))
    paths = controller_paths
    built = Controller(site, paths)
    yield built
    built.journal.stop()
    built.store.close()
    built.state_lock.release()


def _answered(controller: Controller) -> float:
    s = samples(controller.prom.exposition({}))
    return sum(v for (name, labels), v in s.items()
               if name == "hotline_calls_total" and ("outcome", "answered") in labels)


def test_the_controller_counts_a_live_then_reconciled_call_once(controller: Controller) -> None:
    events, _, _ = read_records(controller.reconciler.path, 0)  # type: ignore[union-attr]
    for _, event in events:
        controller.tracker.add(event)       # the live path: _submit
    assert _answered(controller) == 1
    controller.reconciler.run()             # type: ignore[union-attr]  # the same call written again
    assert controller.journal.pending() == 1 and _answered(controller) == 1


def test_the_controller_counts_a_reconciled_call(controller: Controller) -> None:
    assert controller.reconciler is not None and controller.reconciler.run() == 1
    assert _answered(controller) == 1


# --- the documented queries name series that exist -----------------------------------------

def test_alert_rules_and_readme_queries_name_exported_series() -> None:
    import re

    import yaml
    rules = yaml.safe_load((REPO / "examples" / "prometheus" / "alerts.yml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert {"HotlineAnswerRate15sLow", "HotlineAnswerRate24hLow"} <= alerts
    readme = (REPO / "README.md").read_text()
    prom = PromMetrics("nantong", "ctl-a", seats=lambda: [])
    prom.observe(record("9.1", Outcome.answered, wait=1, talk=1))
    disk = {"volumes": [{"role": "state", "path": "/s", "free_bytes": 1, "free_percent": 1.0}],
            "janitor": {"deleted": {"recordings": 1}}}
    text = prom.exposition({"journal": {"pending": 0}, "disk": disk, "cel_tail": {"lag_p50_ms": 1},
                            "fastagi": {"command_p50_ms": 1}}).decode()
    exported = {name for name, _ in samples(text)} | {f.name for f in text_string_to_metric_families(text)}
    text = "\n".join(exprs) + readme.split("## Metrics", 1)[1]
    used = set(re.findall(r"(?<![\w:])hotline_[a-z0-9_]+", text))   # not recording rules (site:hotline_…:1h)
    missing = {n for n in used if n not in exported and not n.endswith(("_bucket", "_sum", "_count"))}
    assert missing == set(), f"documented but not exported: {sorted(missing)}"
