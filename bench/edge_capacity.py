"""Capacity of the SIP edge with one and two Asterisk nodes, failover under load, and the seat
pool's free-seat-to-ring delay at several load levels, in one run (issue 14, item 5).

Uses the namespace rig of the integration tests (tests/integration/edge_rig.py: Kamailio and two
Asterisk nodes, each in its own network namespace). Each node's Asterisk (every thread, and what it
starts) runs in a cgroup-v1 CPU cgroup of its own with a CFS quota of ``--quota`` cores
(bench/cpugroup.py), so the nodes have the same, small resources and saturate far below what the
machine can drive; sipp and Kamailio stay outside. The cgroups are removed at the end whatever
happens. In this order:

1. **One node alone**: node-b killed (the edge sends everything to node-a), stepped load.
2. **Two nodes**: node-b started again (in its cgroup), the same stepped load from one node's
   capacity up. Target: capacity(2) >= 0.9 × 2 × capacity(1).
3. **Failover**: calls on both nodes (``--failover-fraction`` × one node's capacity, so that
   node-a alone can carry them), node-b killed (SIGKILL) half-way: the time until the edge takes
   it out (``Rig.in_rotation``), the calls in progress on it (ended by the edge) and the failed
   calls (should be 0). bench/edge_pool.py's ``load_run``.
4. **Seat pool** (node-b back): ``--seats`` sipp seat phones registered at the edge; per level
   ``ratio:background``, callers wait in the queue ``pool`` arriving ``ratio`` × as fast as the
   seats serve them, while ``background`` × the two nodes' capacity of echo calls run beside
   them; free-seat-to-ring p50/p99 (bench/edge_pool.py). Target: p99 < 1 s at every level.

**Steps.** A step is ``C`` concurrent calls: each caller dials an unknown number (the rig's
dialplan answers with ``Answer(); Echo()``), streams G.711 A-law from the answer (sipp
``rtp_stream``) and hangs up after ``--hold`` s; sipp starts ``C / hold`` calls a second, at most
``C`` at once, for ``--step`` s (so ``C`` calls are up from ``hold`` s on). Steps grow by
``--factor`` from ``--start`` (two nodes: from one node's capacity) until one is not clean, then
the gap between the last clean and the first unclean step is halved ``--refine`` times.

**A step is clean** when: sipp created every call, none failed and nothing was retransmitted; the
call-setup time (INVITE -> 200 OK, sipp ``-trace_rtt``) of the calls set up at full concurrency
(from ``hold`` s into the step) has p95 <= ``--setup-p95-ms``; each node's audio keeps up: its
namespace's UDP ``RcvbufErrors`` did not grow (no packet dropped because Asterisk did not read it
in time) and it sent >= ``--echo-min`` of the RTP packets it received (Echo kept pace); every
channel ended after the step. **Capacity** = the highest clean step.

Prints a summary and writes bench/results/<UTC>-edge-capacity.json (``--quick``:
``-edge-capacity-quick.json``). A benchmark: it asserts nothing; pytest does not collect it.

    .venv/bin/python bench/edge_capacity.py            # as root; about 15 min
    .venv/bin/python bench/edge_capacity.py --quick    # a smoke run, about 2-3 min
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import cpugroup  # noqa: E402
from bench.edge_failover import write_result  # noqa: E402
from bench.edge_pool import answered_legs, delay_stats, edge_refusals, load_run, phones, ring_delays  # noqa: E402
from bench.edge_steps import Plan, edge_ready, failed_call_starts, find_capacity, media_scenario, run_step  # noqa: E402
from tests.integration.edge_rig import Rig, rig_tag, sweep_stale, wait_for, why_not  # noqa: E402

CGROUP_PREFIX = "hlecap"   # /sys/fs/cgroup/cpu/hlecap<pid>-<node>


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


class Bench:
    """The rig, the nodes' CPU groups, and the results so far."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.workdir = Path(tempfile.mkdtemp(prefix="hotline-edge-capacity-"))
        self.workdir.chmod(0o755)   # the kamailio account reaches its run directory in it
        self.rig = Rig(tag=rig_tag(), workdir=self.workdir, seats=plan.seats)
        self.groups = {n: cpugroup.CpuGroup(f"{CGROUP_PREFIX}{os.getpid()}-{n}", plan.quota) for n in ("node-a", "node-b")}
        self.phones: list[subprocess.Popen[str]] = []

    def start(self) -> None:
        sweep_stale()
        cpugroup.sweep_stale(CGROUP_PREFIX)
        for g in self.groups.values():
            g.create()
        self.rig.build_network()
        self.rig.start_nodes()
        for n in self.rig.nodes:
            self.confine(n)
        self.rig.start_edge()
        wait_for(lambda: self.rig.in_rotation() == {"node-a", "node-b"}, 30, "both nodes in rotation")

    def confine(self, name: str) -> int:
        pid = self.rig.nodes[name].runtime.pid()
        assert pid, f"{name} is not running"
        return self.groups[name].adopt(pid)

    def node_b_down(self) -> None:
        edge_ready(self.rig, ["node-a", "node-b"])
        self.rig.nodes["node-b"].kill()
        wait_for(lambda: "node-b" not in self.rig.in_rotation(), 30, "node-b out of rotation")

    def node_b_up(self) -> None:
        edge_ready(self.rig, ["node-a"])
        self.rig.nodes["node-b"].start()
        self.confine("node-b")
        wait_for(lambda: self.rig.in_rotation() == {"node-a", "node-b"}, 30, "node-b back in rotation")

    def close(self) -> dict[str, bool]:
        for p in self.phones:
            p.kill()
        self.rig.close()
        removed = {g.name: g.remove() for g in self.groups.values()}
        if self.plan.keep:
            log(f"kept: {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return removed


def capacity(b: Bench, label: str, start: int, most: int) -> dict[str, Any]:
    p = b.plan
    log(f"{label}: steps from {start} concurrent calls, at most {most} (hold {p.hold_s:g} s, step {p.step_s:g} s)")
    return find_capacity(lambda c: run_step(b.rig, b.groups, p, c, f"{label}-{c}"), start, p.factor, p.refine,
                         most, log)


def failover(b: Bench, conc: int) -> dict[str, Any]:
    """Echo calls on both nodes, node-b killed half-way (bench/edge_pool.py's load_run)."""
    p = b.plan
    rate = conc / p.hold_s
    calls = max(2, round(rate * p.failover_s))
    log(f"failover: {conc} concurrent calls ({rate:.1f}/s, {calls} calls), node-b killed at {p.failover_s / 2:g} s")
    before = {n: len(node.calls()) for n, node in b.rig.nodes.items()}
    run = load_run(b.rig, calls, rate, p.port + 1, p.failover_s / 2, service="12345", limit=2 * conc,
                   scenario=media_scenario(b.rig, int(p.hold_s * 1000), "failover"))
    sipp_log = Path(run["t_sipp_out"]).with_suffix(".log")
    ended_by_edge = sipp_log.read_text(errors="replace").count("edge-bye") if sipp_log.exists() else None
    starts = failed_call_starts(Path(run["t_sipp_out"]).with_suffix(".err"), rate)
    out_at = run.get("at_s") or 0.0   # load_run: when the edge had taken node-b out (s after the start)
    killed_at = round(out_at - (run.get("node_out_after_s") or 0.0), 2)
    return {"concurrent": conc, "rate_per_s": round(rate, 2), "calls": calls,
            "node_out_after_s": run.get("node_out_after_s"), "killed_at_s": killed_at, "out_at_s": out_at,
            "calls_in_progress_lost": run.get("calls_in_progress_lost"),
            "callers_told_bye_by_edge": ended_by_edge,
            "failed": run["failed"], "successful": run["successful"],
            "failed_started_before_kill": sum(1 for t in starts if t < killed_at),
            "failed_started_while_dead_in_rotation": sum(1 for t in starts if killed_at <= t < out_at),
            "failed_started_after_out": sum(1 for t in starts if t >= out_at),
            "start_offsets_of_failed_calls_s": starts,
            "calls_per_node": {n: len(node.calls()) - before[n] for n, node in b.rig.nodes.items()}}


def pool_level(b: Bench, i: int, ratio: float, background: float, cap2: int) -> dict[str, Any]:
    """Callers waiting for the seat pool ``ratio`` × as fast as the seats serve them, beside
    ``background`` × the two nodes' capacity of echo calls; free-seat-to-ring from the CEL logs."""
    p = b.plan
    seat_rate = p.seats / (p.talk_ms / 1000 + 0.5)   # a seat rings 0.3 s, talks, is free again
    rate = ratio * seat_rate
    calls = max(2, round(rate * p.pool_arrivals_s))
    bg_conc = round(background * cap2)
    bg = None
    if bg_conc:
        bg_rate = bg_conc / p.hold_s
        bg_calls = round(bg_rate * (p.pool_arrivals_s * max(1.0, ratio) + 2 * p.hold_s))
        bg = b.rig.sipp(media_scenario(b.rig, int(p.hold_s * 1000), f"bg{i}"), calls=bg_calls, rate=bg_rate,
                        limit=bg_conc, port=p.port + 10 + i, background=True)
        time.sleep(p.hold_s)   # its full concurrency is up
    log(f"pool level {ratio:g}:{background:g}: {calls} callers at {rate:.2f}/s for {p.seats} seats"
        + (f", {bg_conc} echo calls beside" if bg_conc else ""))
    legs0, refused0 = answered_legs(b.rig), edge_refusals(b.rig)
    run = load_run(b.rig, calls, rate, p.port + 20 + i, None)
    gaps = ring_delays(b.rig, run, p.settle_s)
    bg_failed = None
    if bg is not None:
        assert isinstance(bg, subprocess.Popen)
        bg.send_signal(signal.SIGUSR1)   # sipp: no new calls; the ones up end normally
        bg.wait(timeout=p.hold_s + 60)
        out = Path(str(bg.args)).read_text(errors="replace")
        bg_failed = next((int(line.split("|")[2].split()[0]) for line in out.splitlines()
                          if line.strip().startswith("Failed call")), None)
    legs1 = answered_legs(b.rig)
    return {"ratio": ratio, "background_fraction": background, "background_concurrent": bg_conc,
            "background_failed": bg_failed, "callers": calls, "rate_per_s": round(rate, 2),
            "callers_successful": run["successful"], "callers_failed": run["failed"],
            "answered_seat_legs_per_node": {n: legs1[n] - legs0.get(n, 0) for n in legs1},
            "edge_486_refusals": edge_refusals(b.rig) - refused0, "free_seat_to_ring_s": delay_stats(gaps)}


def measure(plan: Plan) -> dict[str, Any]:
    b = Bench(plan)
    result: dict[str, Any] = {"plan": {k: v for k, v in vars(plan).items()}, "machine": machine()}
    t0 = time.monotonic()
    try:
        b.start()
        log(f"rig up: nodes in cgroups of {plan.quota:g} CPU each ({b.groups['node-a'].path.parent})")
        b.node_b_down()
        one = capacity(b, "one-node", plan.start, plan.max_conc)
        result["one_node"] = one
        b.node_b_up()
        # From one node's capacity up to 2.5 × it (more would be a ratio over 1.25: noise, not nodes)
        c1 = max(plan.start, one["capacity"])
        two = capacity(b, "two-nodes", c1, min(plan.max_conc, math.ceil(2.5 * c1)))
        result["two_nodes"] = two
        c1, c2 = one["capacity"], two["capacity"]
        result["ratio"] = round(c2 / (2 * c1), 3) if c1 else None
        result["edge_deaths_in_steps"] = sum(1 for c in (one, two) for s in c["steps"]
                                             if not s.get("edge_alive_after", True))
        result["before_failover"] = edge_ready(b.rig, ["node-a", "node-b"])
        result["failover"] = failover(b, max(4, round(plan.failover_fraction * one["capacity"])))
        b.node_b_up()
        b.phones = phones(b.rig, plan.seats, plan.talk_ms)
        result["pool"] = [pool_level(b, i, r, bg, c2) for i, (r, bg) in enumerate(plan.pool_levels)]
    except Exception as exc:   # noqa: BLE001  (a benchmark reports what it got, and why it stopped)
        result["error"] = f"{type(exc).__name__}: {exc}"
        log(f"stopped: {result['error']}")
    finally:
        result["cgroups_removed"] = b.close()
    result["took_s"] = round(time.monotonic() - t0, 1)
    return result


def machine() -> dict[str, Any]:
    def first(argv: list[str]) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "?")
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(), "loadavg": os.getloadavg(),
            "sipp": first(["sipp", "-v"]) if shutil.which("sipp") else "?",
            "kamailio": first(["kamailio", "-v"]),
            "commit": first(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])}


def summary(r: dict[str, Any]) -> str:
    lines = [f"edge capacity, {r['plan']['quota']:g} CPU per node, hold {r['plan']['hold_s']:g} s, "
             f"run took {r.get('took_s')} s" + (f" -- STOPPED: {r['error']}" if "error" in r else "")]
    for key, name in (("one_node", "one node"), ("two_nodes", "two nodes")):
        c = r.get(key)
        if c:
            steps = ", ".join(f"{s['concurrent']}{'' if s['clean'] else '!'}" for s in c["steps"])
            lines.append(f"  {name}: capacity {c['capacity']} concurrent calls (first unclean {c['first_unclean']}; "
                         f"steps {steps}; ! = not clean)")
    if r.get("edge_deaths_in_steps"):
        lines.append(f"  the edge (Kamailio) died in {r['edge_deaths_in_steps']} overloaded step(s) and was started again")
    if r.get("ratio") is not None:
        verdict = "PASS" if r["ratio"] >= 0.9 else "FAIL"
        lines.append(f"  two / (2 x one) = {r['ratio']} (target >= 0.9: {verdict})")
    f = r.get("failover")
    if f:
        lines.append(f"  failover at {f['concurrent']} concurrent: node-b out after {f['node_out_after_s']} s, "
                     f"{f['calls_in_progress_lost']} calls lost (in progress on it: {f['callers_told_bye_by_edge']} "
                     f"ended by the edge's BYE, the rest hung up into the dead node first); failed calls: "
                     f"{f['failed']} in all, {f['failed_started_before_kill']} started before the kill, "
                     f"{f['failed_started_while_dead_in_rotation']} while node-b was dead but in rotation, "
                     f"{f['failed_started_after_out']} after it was out")
    for lv in r.get("pool", []):
        d = lv["free_seat_to_ring_s"]
        lines.append(f"  pool {lv['ratio']:g}x seats, {lv['background_concurrent']} echo calls beside: free-seat-to-ring "
                     f"p50 {d['p50']} s, p99 {d['p99']} s, max {d['max']} s over {d['n']} "
                     f"(target p99 < 1 s: {'PASS' if d['p99'] is not None and d['p99'] < 1 else 'FAIL'}); "
                     f"seat calls answered {sum(lv['answered_seat_legs_per_node'].values())} for {lv['callers']} "
                     f"callers, callers failed {lv['callers_failed']}, 486 {lv['edge_486_refusals']}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> Plan:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    d = Plan()
    p.add_argument("--quick", action="store_true", help="a smoke run: short steps, no refinement, one pool level")
    p.add_argument("--quota", type=float, default=d.quota, help="CPU of each node, in cores")
    p.add_argument("--hold", type=float, default=d.hold_s, help="each call's length, s")
    p.add_argument("--step", type=float, default=d.step_s, help="each step's length, s")
    p.add_argument("--start", type=int, default=d.start, help="one node's first step, concurrent calls")
    p.add_argument("--factor", type=float, default=d.factor)
    p.add_argument("--refine", type=int, default=d.refine)
    p.add_argument("--setup-p95-ms", type=float, default=d.setup_p95_ms)
    p.add_argument("--echo-min", type=float, default=d.echo_min)
    p.add_argument("--failover-fraction", type=float, default=d.failover_fraction)
    p.add_argument("--seats", type=int, default=d.seats)
    p.add_argument("--talk-ms", type=int, default=d.talk_ms)
    p.add_argument("--keep", action="store_true", help="keep the rig's work directory (sipp's files, logs)")
    p.add_argument("--pool-levels", default=None, help="ratio:background,... (default 1.2:0,1.5:0.5,2.0:0.8)")
    a = p.parse_args(argv)
    plan = Plan(quota=a.quota, hold_s=a.hold, step_s=a.step, start=a.start, factor=a.factor, refine=a.refine,
                setup_p95_ms=a.setup_p95_ms, echo_min=a.echo_min, failover_fraction=a.failover_fraction,
                seats=a.seats, talk_ms=a.talk_ms, keep=a.keep)
    if a.quick:
        plan.hold_s, plan.step_s, plan.factor, plan.refine = 4.0, 8.0, 2.0, 0
        plan.start = a.start if a.start != d.start else 60
        plan.failover_s, plan.pool_arrivals_s, plan.settle_s, plan.quiet_wait_s = 16.0, 15.0, 4.0, 5.0
        plan.pool_levels = [(1.5, 0.5)]
    if a.pool_levels:
        plan.pool_levels = [(float(x.split(":")[0]), float(x.split(":")[1])) for x in a.pool_levels.split(",")]
    return plan


def _terminate(signum: int, frame: Any) -> NoReturn:
    raise SystemExit(128 + signum)   # the finally blocks stop the rig and remove the cgroups


def main(argv: list[str] | None = None) -> int:
    plan = parse_args(argv)
    why = why_not() or cpugroup.why_not()
    if why:
        print(f"edge_capacity: cannot run: {why}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    result = measure(plan)
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    write_result(result, "edge-capacity-quick" if quick else "edge-capacity", echo=False)
    print(summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
