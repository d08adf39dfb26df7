"""One load step of bench/edge_capacity.py and the stepped search for a configuration's capacity.

A step: ``conc`` concurrent calls through the edge's namespace rig (tests/integration/edge_rig.py),
each a caller on the carrier trunk that dials an unknown number (the rig's dialplan: ``Answer();
Echo()``), streams G.711 A-law from the answer and hangs up after ``hold_s``; sipp starts
``conc / hold_s`` calls a second with at most ``conc`` at once, for ``step_s`` seconds, so the
full concurrency is up from ``hold_s`` on. The verdict (``clean``) is in ``verdict``; the
criteria are the module docstring of bench/edge_capacity.py.
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from bench.benchrig import CpuSampler, descendants, parse_stat_csv, percentile, wait_cpu_quiet
from bench.cpugroup import CpuGroup
from hotline.exceptions import EdgeRuntimeError
from tests.integration.edge_rig import REPO_SIPP, Rig


@dataclass
class Plan:
    quota: float = 0.25          # CPU of each node, in cores (its cgroup's CFS quota)
    hold_s: float = 8.0          # each call's length
    step_s: float = 20.0         # each step's length (calls started over it)
    start: int = 40              # one node's first step (concurrent calls)
    factor: float = 1.5          # each next step: × factor, until one is not clean
    refine: int = 3              # then halve the gap between last clean and first unclean this often
    max_conc: int = 600
    setup_p95_ms: float = 200.0  # bound on INVITE -> 200 OK p95 (calls set up at full concurrency)
    echo_min: float = 0.98       # a node's RTP packets out / in over the step (Echo keeps up)
    quiet_pct: float = 35.0      # wait (up to quiet_wait_s) for the machine under this % busy before a step
    quiet_wait_s: float = 5.0
    port: int = 5301             # the callers' SIP port (in the rig's carrier namespace)
    failover_fraction: float = 0.8   # failover load: this × one node's capacity, over both nodes
    failover_s: float = 30.0
    seats: int = 8
    talk_ms: int = 3000
    pool_levels: list[tuple[float, float]] = field(default_factory=lambda: [(1.2, 0.0), (1.5, 0.5), (2.0, 0.8)])
    pool_arrivals_s: float = 25.0
    settle_s: float = 6.0
    keep: bool = False           # keep the rig's work directory


def media_scenario(rig: Rig, hold_ms: int, label: str) -> Path:
    """tests/sipp/edge_caller.xml holding ``hold_ms`` and streaming audio from the answer (the
    rtp_stream action of tests/sipp/caller.xml); its own file per step, so its rtt file is too."""
    audio = rig.workdir / "caller-audio.alaw"
    if not audio.exists():
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-e", "a-law", "-t", "raw", str(audio),
                        "synth", "10", "sine", "440"], check=True)
    text = (REPO_SIPP / "edge_caller.xml").read_text().replace("HOLD_MS", str(hold_ms))
    anchor = '  <recv request="BYE" timeout='
    if anchor not in text:
        raise RuntimeError("tests/sipp/edge_caller.xml changed: no place for the audio stream")
    stream = '  <nop><action><exec rtp_stream="caller-audio.alaw,-1,8"/></action></nop>\n'
    path = rig.workdir / f"media-{label}.xml"
    path.write_text(text.replace(anchor, stream + anchor, 1))
    return path


def udp_counters(pid: int | None) -> dict[str, int]:
    """The UDP counters of the network namespace of process ``pid`` (its /proc/<pid>/net/snmp)."""
    if not pid:
        return {}
    try:
        lines = [line.split() for line in Path(f"/proc/{pid}/net/snmp").read_text().splitlines()
                 if line.startswith("Udp:")]
    except OSError:
        return {}
    return dict(zip(lines[0][1:], (int(v) for v in lines[1][1:])))


def setup_times_ms(workdir: Path, label: str, after_ms: float) -> list[float]:
    """INVITE -> 200 OK of every call answered ``after_ms`` or later into the step (sipp -trace_rtt)."""
    out = []
    for f in workdir.glob(f"media-{label}_*_rtt.csv"):
        for line in f.read_text().splitlines()[1:]:
            parts = line.split(";")
            if len(parts) >= 2 and float(parts[0]) >= after_ms:
                out.append(float(parts[1]))
    return out


def failed_call_starts(error_file: Path, rate: float) -> list[float]:
    """When (s after sipp's start) each call that sipp aborted was started: its Call-ID is
    ``<call number>-<pid>@<address>`` and sipp starts call n at about (n - 1) / rate."""
    try:
        text = error_file.read_text(errors="replace")
    except OSError:
        return []
    numbers = {int(m) for m in re.findall(r"Aborting call on [^']*'(\d+)-\d+@", text)}
    numbers |= {int(m) for m in re.findall(r"Call-Id: (\d+)-\d+@[^,]*, timeout on max UDP retrans", text)}
    return sorted(round((n - 1) / rate, 2) for n in numbers)


def active_channels(rig: Rig, name: str) -> int | None:
    out = rig.nodes[name].runtime.cli("core show channels count", check=False) or ""
    for line in out.splitlines():
        if "active channel" in line:
            return int(line.split()[0])
    return None


def _snapshot(rig: Rig, groups: dict[str, CpuGroup], live: list[str]) -> dict[str, Any]:
    out = {}
    for n in live:
        pid = rig.nodes[n].runtime.pid()
        out[n] = {"udp": udp_counters(pid), "cg": groups[n].stat(), "calls": len(rig.nodes[n].calls()),
                  "outside": groups[n].outside(pid) if pid else None}
    return out


def softirq_ticks() -> tuple[int, float]:
    """The machine's softirq ticks (the kernel's packet work: veth, bridge) and the time now."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    return int(fields[7]), time.monotonic()


def _fixed(pid: int) -> Callable[[], int | None]:
    return lambda: pid


def _cpu_pids(rig: Rig, holder: dict[str, int]) -> dict[str, Callable[[], int | None]]:
    pids: dict[str, Callable[[], int | None]] = {n: node.runtime.pid for n, node in rig.nodes.items()}
    pids["sipp"] = lambda: holder.get("sipp")
    edge = rig.edge.pid() if rig.edge else None
    for i, p in enumerate([edge, *descendants(edge)] if edge else []):
        pids[f"edge_{i}"] = _fixed(p)
    return pids


def edge_ready(rig: Rig, live: list[str], timeout: float = 30.0) -> dict[str, Any]:
    """Before a step: Kamailio running (started again if it died: the step before crashed it) and
    every running node in its rotation (a node the edge took out while overloaded is back at its
    next answered probe). Returns what had to be done."""
    assert rig.edge is not None
    restarted = False
    if not edge_alive(rig):
        try:
            rig.edge.stop()   # reaps the dead one (a zombie child keeps its pid "alive")
        except OSError:
            pass
        rig.edge.start()
        restarted = True
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout and not set(live) <= rotation(rig):
        time.sleep(0.2)
    return {"edge_restarted": restarted, "rotation_wait_s": round(time.monotonic() - t0, 1),
            "in_rotation": sorted(rotation(rig))}


def edge_alive(rig: Rig) -> bool:
    """Kamailio answers on its control socket."""
    return rig.edge is not None and rig.edge.rpc("core.version", check=False) is not None


def rotation(rig: Rig) -> set[str]:
    try:
        return rig.in_rotation()
    except EdgeRuntimeError:   # the edge is down
        return set()


def _run_sipp(proc: subprocess.Popen[str], budget: float) -> bool:
    """Wait for a step's sipp; past ``budget`` s stop it (SIGUSR1: no new calls, then kill).
    True when it ended by itself."""
    try:
        proc.wait(timeout=budget)
        return True
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return False


def run_step(rig: Rig, groups: dict[str, CpuGroup], plan: Plan, conc: int, label: str) -> dict[str, Any]:
    """One step of ``conc`` concurrent calls on the nodes that run now; its figures and verdict."""
    live = [n for n, node in rig.nodes.items() if node.runtime.pid()]
    ready = edge_ready(rig, live)
    rate = conc / plan.hold_s
    calls = max(conc, round(rate * plan.step_s))
    scenario = media_scenario(rig, int(plan.hold_s * 1000), label)
    stat = rig.workdir / f"{label}-stat.csv"
    quiet_s, busy_before = wait_cpu_quiet(plan.quiet_pct, plan.quiet_wait_s)
    before = _snapshot(rig, groups, live)
    irq0 = softirq_ticks()
    holder: dict[str, int] = {}
    t0 = time.monotonic()
    with CpuSampler(_cpu_pids(rig, holder)) as cpu:
        proc = rig.sipp(scenario, calls=calls, rate=rate, limit=conc, port=plan.port, background=True,
                        extra=("-trace_stat", "-stf", str(stat), "-fd", "1", "-trace_rtt", "-rtt_freq", "1"))
        assert isinstance(proc, subprocess.Popen)
        holder["sipp"] = proc.pid
        ended = _run_sipp(proc, plan.step_s + plan.hold_s + 20)
    took = time.monotonic() - t0
    irq1 = softirq_ticks()
    drained = _wait_drained(rig, live)
    after = _snapshot(rig, groups, live)
    sipp = parse_stat_csv(stat) if stat.exists() else {"created": 0, "failed": 0, "retransmissions": 0,
                                                       "peak_current_calls": 0, "failed_detail": {}}
    setup = setup_times_ms(rig.workdir, label, plan.hold_s * 1000)
    step: dict[str, Any] = {
        "label": label, "concurrent": conc, "nodes": live, "rate_per_s": round(rate, 2), "calls": calls,
        "created": sipp["created"], "successful": sipp.get("successful"), "failed": sipp["failed"],
        "failed_detail": sipp["failed_detail"], "retransmissions": sipp["retransmissions"],
        "peak_current_calls": sipp["peak_current_calls"], "sipp_exit": proc.returncode,
        "wall_s": round(took, 1), "drained": drained, "sipp_ended_in_time": ended, "before": ready,
        "edge_alive_after": edge_alive(rig),
        "setup_ms": {"n": len(setup), "p50": percentile(setup, 50) if setup else None,
                     "p95": percentile(setup, 95) if setup else None, "max": max(setup) if setup else None},
        "nodes_detail": _node_deltas(before, after),
        "cpu_pct_of_a_core": cpu.summary(), "quiet_wait_s": round(quiet_s, 1),
        "machine_busy_pct_before": round(busy_before, 1),
    }
    softirq = 100.0 * (irq1[0] - irq0[0]) / (os.sysconf("SC_CLK_TCK") * max(0.1, irq1[1] - irq0[1]))
    step["cpu"] = _cpu_totals(step["cpu_pct_of_a_core"], softirq)
    step.update(verdict(step, plan))
    return step


def _wait_drained(rig: Rig, live: list[str], timeout: float = 15.0) -> bool:
    """Every channel ended within ``timeout``? If not, the rest are hung up (a caller that sipp
    aborted leaves an Echo channel up for ever), so that the next step starts from nothing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(active_channels(rig, n) == 0 for n in live):
            return True
        time.sleep(0.5)
    for n in live:
        rig.nodes[n].runtime.cli("channel request hangup all", check=False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(active_channels(rig, n) == 0 for n in live):
        time.sleep(0.5)
    return False


def _node_deltas(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for n, b in before.items():
        a = after.get(n, {})
        udp = {k: a.get("udp", {}).get(k, 0) - v for k, v in b["udp"].items()
               if k in ("InDatagrams", "OutDatagrams", "RcvbufErrors", "InErrors")}
        periods = a.get("cg", {}).get("nr_periods", 0) - b["cg"].get("nr_periods", 0)
        throttled = a.get("cg", {}).get("nr_throttled", 0) - b["cg"].get("nr_throttled", 0)
        out[n] = {"calls": a.get("calls", 0) - b["calls"], "udp": udp,
                  "threads_outside_cgroup_after": a.get("outside"),
                  "echo_ratio": round(udp["OutDatagrams"] / udp["InDatagrams"], 4) if udp.get("InDatagrams") else None,
                  "throttled_periods_pct": round(100 * throttled / periods, 1) if periods else None}
    return out


def _cpu_totals(summary: dict[str, dict[str, float]], softirq: float) -> dict[str, float]:
    """Mean CPU in % of one core over the step: each node (and its peak second), sipp, the edge's
    processes, the kernel's softirq work (mostly the rig's packets through veth and bridge), the
    machine (% of all cores) and the others (the machine's busy time minus all of those: other
    people's processes, e.g. tests run beside the benchmark)."""
    out = {k: v["mean"] for k, v in summary.items() if k.startswith("node-") or k == "sipp"}
    out.update({f"{k}_peak": v["max"] for k, v in summary.items() if k.startswith("node-")})
    out["edge"] = round(sum(v["mean"] for k, v in summary.items() if k.startswith("edge_")), 1)
    out["softirq"] = round(softirq, 1)
    machine = summary.get("machine_busy_pct_of_all_cores", {}).get("mean", 0.0)
    ours = sum(v for k, v in out.items() if not k.endswith("_peak"))
    out["machine_pct_of_all_cores"] = machine
    out["others"] = round(max(0.0, machine * (os.cpu_count() or 1) - ours), 1)
    return out


def verdict(step: dict[str, Any], plan: Plan) -> dict[str, Any]:
    why = []
    if step["created"] < step["calls"]:
        why.append(f"only {step['created']}/{step['calls']} calls created")
    if step["failed"]:
        why.append(f"{step['failed']} failed {step['failed_detail']}")
    if step["retransmissions"]:
        why.append(f"{step['retransmissions']} retransmissions")
    p95 = step["setup_ms"]["p95"]
    if p95 is None or p95 > plan.setup_p95_ms:
        why.append(f"setup p95 {p95} ms > {plan.setup_p95_ms:g}")
    for n, d in step["nodes_detail"].items():
        if d["udp"].get("RcvbufErrors"):
            why.append(f"{n} dropped {d['udp']['RcvbufErrors']} packets (socket buffers full)")
        if d["echo_ratio"] is not None and d["echo_ratio"] < plan.echo_min:
            why.append(f"{n} echoed {d['echo_ratio']:.1%} of the packets it received")
    if not step["drained"]:
        why.append("channels did not drain")
    if not step["sipp_ended_in_time"]:
        why.append("calls still up 20 s after the step (sipp stopped)")
    if not step["edge_alive_after"]:
        why.append("the edge (Kamailio) died")
    if set(step["nodes"]) - set(step["before"]["in_rotation"]):
        why.append(f"a node was out of the edge's rotation at the start: {step['before']}")
    return {"clean": not why, "why_not_clean": why}


def find_capacity(measure: Callable[[int], dict[str, Any]], start: int, factor: float, refine: int,
                  max_conc: int, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Steps ``start``, ×``factor``, ... (at most ``max_conc``) until one is not clean; then ``refine``
    halvings of the gap between the last clean and the first unclean step. Capacity: the highest
    clean step found; ``bounded_by_plan`` when even ``max_conc`` was clean."""
    steps: list[dict[str, Any]] = []

    def run(conc: int) -> bool:
        try:
            s = measure(conc)
        except Exception as exc:   # noqa: BLE001  (the steps so far are kept; this one counts as not clean)
            s = {"concurrent": conc, "clean": False, "why_not_clean": [f"{type(exc).__name__}: {exc}"],
                 "setup_ms": {"p95": None}, "cpu": {}, "error": True}
        steps.append(s)
        log(f"  {conc:>4} concurrent: " + ("clean" if s["clean"] else "NOT clean: " + "; ".join(s["why_not_clean"]))
            + f" (setup p95 {s['setup_ms']['p95']} ms, CPU {s['cpu']})")
        return bool(s["clean"])

    lo, hi, conc = 0, None, min(start, max_conc)
    while True:
        if not run(conc):
            hi = conc
            break
        if conc >= max_conc:
            break
        lo, conc = conc, min(max_conc, max(conc + 1, math.ceil(conc * factor)))
    bad = hi
    for _ in range(refine if bad is not None else 0):
        assert bad is not None
        mid = (lo + bad) // 2
        if mid <= lo or mid >= bad:
            break
        if run(mid):
            lo = mid
        else:
            bad = mid
    return {"capacity": lo, "first_unclean": bad, "bounded_by_plan": hi is None, "steps": steps}
