"""Metrics from a scripted mix of real calls equal the hand-computed values (issue #3).

Five calls in a window no other test uses: three answered at once by the hotline seats, one
caller who gives up after 7 s in a queue without seats (an abandon) and one who gives up after
1.5 s (a short abandon, 短时放弃: out of the base).

    offered 5, short abandons 1, base 4, answered 3, abandoned 2
    answer rate 3/4 = 0.75, 15-second answer rate 3/4 = 0.75, abandon rate (2 - 1)/4 = 0.25
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from .rig import Stack, http_json, wait_for

COUNTERS = ("hotline_calls_offered_total", "hotline_calls_answered_total", "hotline_calls_answered_within_15s_total",
            "hotline_calls_abandoned_total", "hotline_calls_short_abandoned_total", "hotline_wait_seconds_count")


def prometheus_totals(api: str) -> dict[str, float]:
    """The call counters of /metrics, summed over queues (read with prometheus_client's parser)."""
    with urllib.request.urlopen(f"{api}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    totals = dict.fromkeys(COUNTERS, 0.0)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in totals:
                totals[sample.name] += sample.value
    return totals


def test_scripted_mix_gives_the_hand_computed_kpis(stack: Stack) -> None:
    wait_for("no call in progress", lambda: not http_json("GET", f"{stack.api}/api/calls/live")[1]["items"])
    start = datetime.now(UTC) - timedelta(seconds=0.5)
    before = prometheus_totals(stack.api)
    answered = ["13900004001", "13900004002", "13900004003"]
    for caller in answered:
        assert stack.call("83531111", caller, talk_ms=1500).returncode == 0
    assert stack.call("85000000", "13900004004", talk_ms=7000, scenario="caller_hangs_up.xml").returncode == 0
    assert stack.call("85000000", "13900004005", talk_ms=1500, scenario="caller_hangs_up.xml").returncode == 0
    records = {c: stack.record_for(c) for c in [*answered, "13900004004", "13900004005"]}
    end = datetime.now(UTC) + timedelta(seconds=1)
    assert [records[c]["outcome"] for c in answered] == ["answered"] * 3
    assert records["13900004004"]["outcome"] == records["13900004005"]["outcome"] == "abandoned_in_queue"
    assert records["13900004004"]["wait_seconds"] >= 5 > records["13900004005"]["wait_seconds"]

    query = urllib.parse.urlencode({"start": start.isoformat(), "end": end.isoformat(), "by": "all"})
    code, body = http_json("GET", f"{stack.api}/api/metrics?{query}")
    assert code == 200, body
    (row,) = body["rows"]
    assert (row["offered"], row["answered"], row["abandoned"], row["short_abandons"]) == (5, 3, 2, 1)
    assert (row["answer_rate"], row["answer_rate_15s"], row["abandon_rate"]) == (0.75, 0.75, 0.25)
    waits = [records[c]["wait_seconds"] for c in answered]
    assert row["asa_seconds"] == round(sum(waits) / 3, 3)
    # by queue: the answered calls in hotline, the abandons in the queue without seats
    query = urllib.parse.urlencode({"start": start.isoformat(), "end": end.isoformat(), "by": "queue"})
    rows = {r["group"]: r for r in http_json("GET", f"{stack.api}/api/metrics?{query}")[1]["rows"]}
    assert (rows["hotline"]["offered"], rows["hotline"]["answer_rate"]) == (3, 1.0)
    assert (rows["empty"]["offered"], rows["empty"]["short_abandons"], rows["empty"]["answer_rate"]) == (2, 1, 0.0)
    # /metrics counted the same five calls, each once (the ratios are PromQL over these counters)
    after = prometheus_totals(stack.api)
    assert [after[name] - before[name] for name in COUNTERS] == [5, 3, 3, 2, 1, 5]
