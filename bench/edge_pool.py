"""One seat pool over two nodes behind the edge, under load: how soon a freed seat rings again,
and what a node failure during traffic costs (issue 14, item 5).

Uses the namespace rig of the integration tests (tests/integration/edge_rig.py: Kamailio and two
Asterisk nodes, each in its own network namespace; the nodes' queue ``pool`` has every seat).
``--seats`` sipp seat phones register at the edge and talk ``--talk-ms`` before they hang up;
callers arrive round robin on both nodes faster than the seats can serve them, so a caller is
always waiting. From both nodes' CEL logs:

* **free-seat-to-ring**: for every seat, the time from the end of one of its calls (its leg's
  CHAN_END) to the start of its next ring (the next leg's CHAN_START), on whichever node, while
  callers wait (the steady part of the run: after the first ``--settle-s`` seconds, before the
  arrivals stop);
* the seats' calls per node (a seat answers callers of both nodes) and the edge's 486 refusals
  (two nodes offering one seat at the same instant);
* **node failure** (``--kill``): node-b is killed in the middle of a second run; the calls in
  progress on it are lost (ended by the edge: counted from its CEL, the callers' legs that never
  ended there), every other call must succeed (failed calls counted), and the time until the edge
  takes node-b out.

Prints the figures and writes bench/results/<UTC>-edge-pool.json. A benchmark: it asserts nothing.
On this machine the nodes share its two cores: the figures are the pool's mechanics (the ring
delay, the losses), not the capacity of N machines.

    .venv/bin/python bench/edge_pool.py [--seats 4] [--calls 80] [--rate 1.6] [--kill]   # as root
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.edge_failover import write_result  # noqa: E402
from tests.integration.edge_rig import (REPO_SIPP, SEAT_IP, Rig, rig_tag, seat_ids, sweep_stale,  # noqa: E402
                                        wait_for, why_not)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def seat_legs(rig: Rig) -> dict[str, list[tuple[str, float, float]]]:
    """Per seat, its legs on any node: (node, ring start, end), by ring start."""
    out: dict[str, list[tuple[str, float, float]]] = {}
    for name, node in rig.nodes.items():
        start: dict[str, tuple[str, float]] = {}
        for e in node.events():
            chan = str(e.get("channame", ""))
            if not chan.startswith("PJSIP/") or chan.split("/")[1].split("-")[0] not in seat_ids(99):
                continue
            seat = chan.split("/")[1].split("-")[0]
            if e.get("eventtype") == "CHAN_START":
                start[e["uniqueid"]] = (seat, float(e["eventtime"]))
            elif e.get("eventtype") == "CHAN_END" and e["uniqueid"] in start:
                seat, t0 = start.pop(e["uniqueid"])
                out.setdefault(seat, []).append((name, t0, float(e["eventtime"])))
    return {s: sorted(legs, key=lambda leg: leg[1]) for s, legs in out.items()}


def answered_legs(rig: Rig) -> dict[str, int]:
    """Answered seat legs per node."""
    counts = {name: 0 for name in rig.nodes}
    for name, node in rig.nodes.items():
        counts[name] = sum(1 for e in node.events() if e.get("eventtype") == "ANSWER"
                           and str(e.get("channame", "")).split("/")[-1].split("-")[0] in seat_ids(99))
    return counts


def _caller(rig: Rig, hold_ms: int) -> Path:
    path = rig.workdir / f"caller-{hold_ms}.xml"
    path.write_text((REPO_SIPP / "edge_caller.xml").read_text().replace("HOLD_MS", str(hold_ms)))
    return path


def _counter(out: str, name: str) -> int:
    for line in out.splitlines():
        if line.strip().startswith(name):
            return int(line.split("|")[2].split()[0])
    return -1


def phones(rig: Rig, seats: int, talk_ms: int) -> list[subprocess.Popen[str]]:
    scenario = rig.workdir / "edge-seat.xml"
    scenario.write_text((REPO_SIPP / "edge_seat.xml").read_text().replace("TALK_MS", str(talk_ms)))
    procs = []
    for i, seat in enumerate(seat_ids(seats)):
        port = 5101 + i
        reg = rig.sipp(REPO_SIPP / "register.xml", calls=1, rate=1, source=SEAT_IP, port=port,
                       extra=("-key", "user", seat, "-key", "contact_port", str(port), "-au", seat,
                              "-ap", f"edge-seat-{seat}"))
        if reg.returncode != 0:
            raise RuntimeError(f"seat {seat} did not register at the edge")
        proc = rig.sipp(scenario, calls=100000, rate=1, source=SEAT_IP, port=port, background=True)
        assert isinstance(proc, subprocess.Popen)
        procs.append(proc)
    for node in rig.nodes.values():
        for seat in seat_ids(seats):
            node.runtime.cli(f"pjsip qualify {seat}", check=False)
        wait_for(lambda n=node: (n.runtime.cli("pjsip show contacts", check=False) or "").count("Avail") >= seats,
                 30, f"every seat reachable from {node.name}")
    return procs


def load_run(rig: Rig, calls: int, rate: float, port: int, kill_after_s: float | None, *,
             scenario: Path | None = None, service: str = "pool", limit: int = 400,
             extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """``calls`` callers at ``rate``/s (by default waiting in the queue ``pool`` until a seat hangs
    up; ``scenario``/``service``: other callers), node-b killed after ``kill_after_s`` if given."""
    t0 = time.time()
    callers = rig.sipp(scenario or _caller(rig, 120000), calls=calls, rate=rate, port=port, service=service,
                       limit=limit, extra=extra, background=True)
    assert isinstance(callers, subprocess.Popen)
    killed: dict[str, Any] = {}
    if kill_after_s is not None:
        time.sleep(kill_after_s)
        before = rig.nodes["node-b"].calls()
        rig.nodes["node-b"].kill()
        k = time.monotonic()
        wait_for(lambda: "node-b" not in rig.in_rotation(), 30, "node-b out")
        killed = {"at_s": round(time.time() - t0, 1), "node_out_after_s": round(time.monotonic() - k, 3),
                  "calls_taken_by_node_b_before": len(before)}
    callers.wait(timeout=calls / rate + 400)
    out = Path(str(callers.args)).read_text()
    if kill_after_s is not None:   # its callers' legs that never ended on it: the calls it took down
        events = rig.nodes["node-b"].events()
        ended = {e["uniqueid"] for e in events if e.get("eventtype") == "CHAN_END"}
        killed["calls_in_progress_lost"] = sum(
            1 for e in events if e.get("eventtype") == "CHAN_START" and float(e["eventtime"]) >= t0
            and str(e.get("context", "")).startswith("from-trunk-") and e["uniqueid"] not in ended)
    return {"t0": t0, "t_arrivals_end": t0 + calls / rate, "successful": _counter(out, "Successful call"),
            "failed": _counter(out, "Failed call"), "t_sipp_out": str(callers.args), **killed}


def ring_delays(rig: Rig, run: dict[str, Any], settle_s: float) -> list[float]:
    """Free-seat-to-ring delays (s) of a ``load_run``: a seat's leg that ended in the steady part of
    the run (``settle_s`` after its start, before its arrivals end) to the seat's next ring."""
    gaps: list[float] = []
    for legs in seat_legs(rig).values():
        for prev, nxt in zip(legs, legs[1:]):
            if run["t0"] + settle_s <= prev[2] <= run["t_arrivals_end"]:
                gaps.append(nxt[1] - prev[2])
    return gaps


def delay_stats(gaps: list[float]) -> dict[str, Any]:
    return {"n": len(gaps), "p50": _pct(gaps, 0.5), "p90": _pct(gaps, 0.9), "p99": _pct(gaps, 0.99),
            "max": round(max(gaps), 3) if gaps else None,
            "mean": round(statistics.mean(gaps), 3) if gaps else None}


def edge_refusals(rig: Rig) -> int:
    """The edge's 486 refusals so far (two nodes offering one seat at the same instant)."""
    assert rig.edge is not None
    return rig.edge.log_file.read_text(errors="replace").count("is busy: a call from node")


def measure(seats: int, calls: int, rate: float, talk_ms: int, settle_s: float, kill: bool) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="hotline-edge-pool-"))
    workdir.chmod(0o755)
    sweep_stale()
    rig = Rig(tag=rig_tag(), workdir=workdir, seats=seats)
    procs: list[subprocess.Popen[str]] = []
    try:
        rig.build_network()
        rig.start_nodes()
        rig.start_edge()
        wait_for(lambda: rig.in_rotation() == {"node-a", "node-b"}, 30, "both nodes in rotation")
        procs = phones(rig, seats, talk_ms)
        run = load_run(rig, calls, rate, 5201, None)
        gaps = ring_delays(rig, run, settle_s)
        result: dict[str, Any] = {
            "seats": seats, "calls": calls, "rate_per_s": rate, "talk_ms": talk_ms,
            "answered_seat_legs_per_node": answered_legs(rig),
            "callers_successful": run["successful"], "callers_failed": run["failed"],
            "free_seat_to_ring_s": delay_stats(gaps),
            "edge_486_refusals": edge_refusals(rig),
        }
        if kill:
            failure = load_run(rig, calls, rate, 5202, kill_after_s=calls / rate / 2)
            result["node_failure"] = {k: v for k, v in failure.items() if not k.startswith("t")}
        return result
    finally:
        for p in procs:
            p.kill()
        rig.close()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seats", type=int, default=4)
    p.add_argument("--calls", type=int, default=80)
    p.add_argument("--rate", type=float, default=1.6, help="calls per second (more than the seats serve)")
    p.add_argument("--talk-ms", type=int, default=3000)
    p.add_argument("--settle-s", type=float, default=8.0)
    p.add_argument("--kill", action="store_true", help="a second run with node-b killed half-way")
    args = p.parse_args()
    why = why_not()
    if why:
        print(f"edge_pool: cannot run: {why}", file=sys.stderr)
        return 2
    write_result(measure(args.seats, args.calls, args.rate, args.talk_ms, args.settle_s, args.kill), "edge-pool")
    return 0


if __name__ == "__main__":
    sys.exit(main())
