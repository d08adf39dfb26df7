"""The cost of keeping a node's calls in progress in the shared store (issue 14, item 3:
``hotline.calls.node_loss``): every controller of a pooled site writes its open calls every 2 s so
that another can close them if the node is lost for good. This measures, on a real store:

* a round of one node with N calls open: all new (the first round, or after a store outage),
  10 % changed (calls moving on), none changed (the steady state);
* closing a lost node's N calls (one survivor's round: records written, rows deleted).

    python bench/node_loss.py --backend postgres --calls 300
    python bench/node_loss.py --backend sqlite --calls 1000

Each call is a real conversation's CEL events (tests/fixtures/cel/answered_merged_call.jsonl, up to
the answer), its ids renamed. Targets (printed, never asserted): a round at N=300 under 100 ms
(p99 of --reps: it runs in a worker thread every 2 s, and a round that took longer would delay the
next); N=300 lost calls closed under 10 s (once, after the node has been silent for a minute, in a
worker thread: each record goes through the KPI rollup like any other). Results:
``bench/results/<run id>-node_loss-<backend>.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hotline.calls import cel  # noqa: E402
from hotline.calls.node_loss import NodeLoss  # noqa: E402
from hotline.calls.services import CallTracker  # noqa: E402
from hotline.calls.model import Directory  # noqa: E402
from hotline.store import Store  # noqa: E402
from hotline.store.open_calls import OpenCalls  # noqa: E402

RESULTS = REPO / "bench" / "results"
FIXTURE = REPO / "tests" / "fixtures" / "cel" / "answered_merged_call.jsonl"
TARGET_ROUND_S, TARGET_TAKE_S = 0.1, 10.0


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def conversation(k: int) -> list[cel.CelEvent]:
    events = [e for e in (cel.from_json_line(x) for x in FIXTURE.read_bytes().splitlines()[:8]) if e is not None]
    rename = {e.uniqueid: f"node-a-{1796300000 + k}.{i}" for i, e in enumerate(events)}
    lid = rename[events[0].linkedid]
    return [dataclasses.replace(e, uniqueid=rename.get(e.uniqueid, e.uniqueid), linkedid=lid) for e in events]


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(url: str, calls: int, reps: int) -> dict[str, Any]:
    store = Store(url)
    store.upgrade()
    directory = Directory(trunks=frozenset({"trunk-carrier"}), seats=frozenset({"1001", "1002"}))
    clock = Clock()
    timings: dict[str, list[float]] = {"all_new": [], "ten_percent_changed": [], "unchanged": [], "take_lost": []}
    for rep in range(reps):
        tracker = CallTracker(directory, lambda r: None, on_partial=lambda lid: None)
        convs = [conversation(rep * calls + k) for k in range(calls)]
        for events in convs:
            for e in events[:-1]:
                tracker.add(e)
        node = NodeLoss(tracker, OpenCalls(store, "node-a", clock), directory, 30.0)
        for name in ("all_new", "unchanged"):
            start = time.perf_counter()
            node.write(*node.snapshot())
            timings[name].append(time.perf_counter() - start)
        for events in convs[: calls // 10]:
            tracker.add(events[-1])
        start = time.perf_counter()
        node.write(*node.snapshot())
        timings["ten_percent_changed"].append(time.perf_counter() - start)
        clock.now += dt.timedelta(seconds=31)   # node-a silent: lost
        survivor = NodeLoss(CallTracker(directory, lambda r: None, on_partial=lambda lid: None),
                            OpenCalls(store, "node-b", clock), directory, 30.0)
        start, closed = time.perf_counter(), 0
        while True:
            taken = survivor.write(*survivor.snapshot())
            closed += len(taken.recorded)
            if not taken.nodes:
                break
        timings["take_lost"].append(time.perf_counter() - start)
        assert closed == calls, (closed, calls)
        clock.now += dt.timedelta(seconds=1)
    store.close()
    return {name: {"p50_s": round(statistics.median(v), 4), "p99_s": round(p(v, 0.99), 4), "max_s": round(max(v), 4)}
            for name, v in timings.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="postgres")
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--pg-port", type=int, default=15097 + 50 * int(os.environ.get("HOTLINE_IT_SLOT", "0")))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nodeloss-"))
    work.chmod(0o755)   # the PostgreSQL server runs as its own user (scripts/pg.sh)
    pg = REPO / "scripts" / "pg.sh"
    url = (subprocess.run([str(pg), "start", str(work / "pg"), str(args.pg_port)], check=True, capture_output=True,
                          text=True).stdout.strip() if args.backend == "postgres" else f"sqlite:///{work / 'h.db'}")
    try:
        measured = run(url, args.calls, args.reps)
    finally:
        if args.backend == "postgres":
            subprocess.run([str(pg), "stop", str(work / "pg")], check=False)
    run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    result = {"run_id": run_id, "mode": "node_loss", "backend": args.backend, "calls": args.calls, "reps": args.reps,
              "cpus": os.cpu_count(), "targets": {"round_p99_s": TARGET_ROUND_S, "take_lost_p99_s": TARGET_TAKE_S},
              **measured}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{run_id}-node_loss-{args.backend}.json").write_text(json.dumps(result, indent=2) + "\n")
    for name, m in measured.items():
        target = TARGET_TAKE_S if name == "take_lost" else TARGET_ROUND_S
        verdict = "PASS" if m["p99_s"] <= target else "FAIL"
        print(f"{name:>22}: p50 {m['p50_s']:.4f} s  p99 {m['p99_s']:.4f} s  (target {target} s at 300 calls) {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
