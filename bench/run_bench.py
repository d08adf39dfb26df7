#!/usr/bin/env python3
"""Call-rate benchmark: Asterisk alone (static dialplan) against the full stack (controller).

    .venv/bin/python bench/run_bench.py            # full run (~10-15 min)
    .venv/bin/python bench/run_bench.py --quick    # smoke run (~3 min)

Writes bench/results/<UTC timestamp>.json and bench/results/latest.json (a --quick run writes
<timestamp>-quick.json and latest-quick.json and leaves the README alone), and regenerates the
results table in bench/README.md. Prints PASS/FAIL against the targets; never asserts.
See bench/README.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import benchrig  # noqa: E402
import seats100  # noqa: E402
from benchrig import (BenchStack, CpuSampler, all_records, machine_busy, raise_nofile, utc_now,  # noqa: E402
                      wait_cpu_quiet)

RESULTS = HERE / "results"
README = HERE / "README.md"
LAG_RATE = 60          # the AMI lag target is stated at this call rate
OTHER_CPU_RETRY = float(os.environ.get("BENCH_OTHER_CPU_RETRY", 20.0))  # an unclean step is run again when other processes took more than this (% of one core)
QUIET_PCT = 15.0       # machine busy % under which a run may start (idle seat phones of others are fine)
TARGETS = {"ratio": 0.9, "fastagi_p99_ms": 10.0, "ami_lag_p99_ms": 100.0}

# 5 calls/s apart from 60 on: at the top one step is the ratio's resolution (70/80 = 0.875, 75/80 = 0.94)
FULL = {"steps": [10, 20, 30, 40, 50, 60, 65, 70, 75, 80, 85, 90, 95, 100], "seconds": 15.0, "talk_ms": 2000,
        "seats": 300}
QUICK = {"steps": [10, 30], "seconds": 6.0, "talk_ms": 2000, "seats": 80}


def event_lag(status: dict[str, Any]) -> tuple[float | None, str]:
    """The controller's event lag p99 and where it comes from: AMI, or (when AMI carries no per-call
    events, as since the controller follows the CEL log) the CEL log tail."""
    ami = status.get("ami", {}).get("lag_p99_ms")
    if ami is not None:
        return ami, "AMI"
    tail = status.get("cel_tail", {}).get("lag_p99_ms")
    if tail is not None:
        return tail, "CEL log tail"
    return None, "none"


def lag_text(status: dict[str, Any]) -> str:
    value, source = event_lag(status)
    return "–" if value is None else (f"{value}" if source == "AMI" else f"{value} (CEL tail)")


def log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)


# -- machine facts ---------------------------------------------------------------------------

def machine_info() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    except OSError:
        pass
    sipp = subprocess.run(["sipp", "-v"], capture_output=True, text=True).stdout
    m = re.search(r"SIPp v[^\s,]+", sipp)
    return {"nproc": os.cpu_count(), "cpu_model": model, "mem_total": mem, "kernel": platform.release(),
            "python": platform.python_version(), "sipp": m.group(0) if m else sipp.strip()[:80],
            "loadavg_at_start": os.getloadavg()}


def foreign_processes(exclude: set[int] | None = None) -> list[str]:
    """Asterisk / sipp / pytest processes not started by this run (they share the 2 cores)."""
    me = os.getpid()
    exclude = exclude or set()
    out = subprocess.run(["ps", "-eo", "pid,ppid,pcpu,args"], capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines()[1:]:
        parts = line.split(None, 3)
        if len(parts) < 4 or int(parts[0]) == me or int(parts[1]) == me or int(parts[0]) in exclude:
            continue
        if re.search(r"(^|/)(asterisk|sipp)\b|pytest|python -m hotline", parts[3]):
            found.append(line.strip()[:200])
    return found


def git_info() -> dict[str, Any]:
    def run(*argv: str) -> str:
        return subprocess.run(["git", *argv], capture_output=True, text=True, cwd=HERE.parent).stdout.strip()
    return {"commit": run("rev-parse", "HEAD"), "dirty_files": run("status", "--porcelain").splitlines()[:50]}


# -- one configuration -----------------------------------------------------------------------

def run_config(res: dict[str, Any], name: str, full: bool, params: dict[str, Any], log_root: Path, work: Path,
               must_reach: int, keep_recordings: bool, probe: bool = False) -> dict[str, Any]:
    """Fills ``res`` as it goes, so an interrupted run still reports what it measured."""
    stack = BenchStack(name=name, state_dir=work / name, log_dir=log_root / name, seats=params["seats"],
                       full=full, ami_probe=probe, say=log)
    res.update({"config": name, "controller": full, "ami_probe": probe, "steps": [],
                "log_dir": str(stack.log_dir)})
    placed = 0
    try:
        stack.build()
        assert stack.runtime is not None
        res["asterisk_version"] = stack.runtime.version
        res["asterisk_show_version"] = stack.cli("core show version").strip()
        if full:
            stack.start_controller()
        if probe:
            stack.start_ami_probe()
        res["seat_registration_seconds"] = round(stack.start_seats(), 1)
        window_start = utc_now() - timedelta(seconds=2)
        res["window_start"] = window_start.isoformat()

        # Warm-up (not a step): first-call costs out of the way; counted in calls placed.
        warm = stack.run_calls("warmup", 5, 2, params["talk_ms"], "13800000000")
        placed += warm["created"]
        res["warmup"] = {k: warm[k] for k in ("created", "successful", "failed", "retransmissions")}
        stack.wait_idle()
        log(f"[{name}] warm-up: {warm['successful']}/{warm['created']} calls ok, "
            f"{warm['retransmissions']} retransmissions")

        res["retried_steps"] = []
        for rate in params["steps"]:
            step = run_step(stack, rate, params)
            placed += step["created"]
            if not step["clean"] and step["other_cpu_pct"] > OTHER_CPU_RETRY:
                # Other work on the machine (a test run) took CPU during an unclean step: once more, when quiet.
                log(f"[{name}] {rate:>3} calls/s: NOT clean ({', '.join(step['why_not_clean'])}) while other processes "
                    f"used {step['other_cpu_pct']}% of a core; retrying the step once the machine is quiet")
                wait_cpu_quiet(QUIET_PCT, 120)
                res["retried_steps"].append(step)
                step = run_step(stack, rate, params, attempt=1)
                step["retry_of_unclean_step_with_other_cpu_pct"] = res["retried_steps"][-1]["other_cpu_pct"]
                placed += step["created"]
            res["steps"].append(step)
            flag = "clean" if step["clean"] else "NOT clean: " + ", ".join(step["why_not_clean"])
            log(f"[{name}] {rate:>3} calls/s: {step['successful']}/{step['created']} ok, {step['failed']} failed, "
                f"{step['retransmissions']} retrans, seats answered {step['seat_answered']}, "
                f"peak {step['peak_current_calls']} concurrent, Asterisk CPU "
                f"{step['cpu'].get('asterisk', {}).get('mean', '?')}% — {flag}"
                + (f"; AGI p99 {step['status_after'].get('fastagi', {}).get('command_p99_ms')} ms, "
                   f"event lag p99 {lag_text(step['status_after'])} ms" if full else "")
                + (f"; reader's AMI lag p99 {step['ami_probe'].get('lag_p99_ms')} ms "
                   f"({step['ami_probe']['events']} events)" if probe else ""))
            if not step["clean"]:
                heavy = step["created"] and step["failed"] / step["created"] > 0.10
                if rate >= must_reach or heavy:
                    break
        res["calls_placed"] = placed
        clean_limits(res)
        if full:
            warm_step = {"caller_number": "13800000000", "created": warm["created"], "target_rate": "warmup"}
            res["records"] = check_records(stack, window_start, placed,
                                           res["retried_steps"] + res["steps"] + [warm_step])
            res["status_final"] = stack.status()
        n, size = stack.recordings()
        res["recordings"] = {"files": n, "bytes": size}
        res["asterisk_warnings"] = stack.asterisk_warnings()
        return res
    except Exception as exc:
        res["error"] = f"{type(exc).__name__}: {exc}"
        res["calls_placed"] = placed
        log(f"[{name}] ERROR: {res['error']}")
        raise
    finally:
        stack.copy_asterisk_logs()
        stack.close()
        if stack.runtime is not None and not keep_recordings:
            shutil.rmtree(stack.runtime.recordings_dir, ignore_errors=True)
        log(f"[{name}] stopped; logs in {stack.log_dir}")


def clean_limits(res: dict[str, Any]) -> None:
    """Highest clean rate and concurrency, counting steps up to the first unclean one only."""
    upto = []
    for s in res.get("steps", []):
        if not s["clean"]:
            break
        upto.append(s)
    res["max_clean_rate"] = max((s["target_rate"] for s in upto), default=0)
    res["max_clean_concurrent"] = max((s["peak_current_calls"] for s in upto), default=0)
    res["clean_steps"] = [s["target_rate"] for s in res.get("steps", []) if s["clean"]]
    first_bad = next((s for s in res.get("steps", []) if not s["clean"]), None)
    res["first_unclean_rate"] = first_bad["target_rate"] if first_bad else None


def run_step(stack: BenchStack, rate: int, params: dict[str, Any], attempt: int = 0) -> dict[str, Any]:
    idle_before = stack.wait_idle()
    quiet_wait, busy_before = wait_cpu_quiet()
    own = {p for p in (stack.runtime.pid() if stack.runtime else None,) if p}
    foreign = foreign_processes(own)
    q0 = stack.queue_counts()
    st0 = stack.status() if stack.full else {}
    if stack.probe:
        stack.probe.take()
    pids = {"asterisk": lambda: stack.runtime.pid() if stack.runtime else None,
            "sipp_caller": lambda: stack.caller.popen.pid if stack.caller and stack.caller.alive() else None,
            "sipp_seats": lambda: stack.seat_uas.popen.pid if stack.seat_uas else None}
    if stack.full and stack.controller:
        main = stack.controller.popen.pid
        kids = benchrig.descendants(main)   # the FastAGI process (and any worker) of the controller
        pids["controller"] = lambda: main
        for i, kid in enumerate(kids):
            pids[f"controller_child_{i}" if kid != st0.get("fastagi", {}).get("pid") else "controller_fastagi"] = \
                (lambda k=kid: k)
    with CpuSampler(pids) as cpu:
        r = stack.run_calls(f"{rate}cps", rate, params["seconds"], params["talk_ms"], f"139{rate:04d}{attempt}000")
    step: dict[str, Any] = dict(r)
    step["cpu"] = cpu.summary()
    ours = sum(v["mean"] for k, v in step["cpu"].items() if k != "machine_busy_pct_of_all_cores")
    machine = step["cpu"].get("machine_busy_pct_of_all_cores", {}).get("mean", 0.0)
    step["other_cpu_pct"] = round(max(0.0, machine * (os.cpu_count() or 1) - ours), 1)  # % of one core
    step["attempt"] = attempt
    if stack.probe:
        step["ami_probe"] = stack.probe.take()
    step["loadavg_after"] = os.getloadavg()
    if stack.full:
        st1 = stack.status()  # right after the step: the AMI lag ring holds this step's last 10 000 events
        step["status_after"] = st1
        step["fastagi_commands"] = st1["fastagi"]["commands"] - st0["fastagi"]["commands"]
        step["ami_events"] = st1["ami"]["events"] - st0["ami"]["events"]
        step["ami_handler_errors"] = st1["ami"]["handler_errors"] - st0["ami"]["handler_errors"]
        step["ami_logins"] = st1["ami"]["logins"] - st0["ami"]["logins"]
    try:
        step["drain_seconds"] = round(stack.wait_idle(), 1)
    except RuntimeError as exc:
        step["drain_seconds"] = None
        step["drain_error"] = str(exc)
    q1 = stack.queue_counts()
    step["seat_answered"] = q1["completed"] - q0["completed"]
    step["queue_abandoned"] = q1["abandoned"] - q0["abandoned"]
    step["idle_wait_before_seconds"] = round(idle_before, 1)
    step["cpu_quiet_wait_seconds"] = round(quiet_wait, 1)
    step["machine_busy_pct_before"] = round(busy_before, 1)
    step["foreign_processes_before"] = len(foreign)
    why = []
    if step["failed"]:
        why.append(f"{step['failed']} failed {step['failed_detail']}")
    if step["retransmissions"]:
        why.append(f"{step['retransmissions']} retransmissions {step.get('message_counters', {})}")
    if step["created"] < step["target_calls"]:
        why.append(f"only {step['created']}/{step['target_calls']} calls created")
    if step["seat_answered"] != step["created"]:
        why.append(f"seats answered {step['seat_answered']} of {step['created']}")
    if step["drain_seconds"] is None:
        why.append("channels did not drain")
    if step["watchdog_major"] or step["fatal_errors"]:
        why.append("sipp watchdog/fatal")
    step["clean"] = not why
    step["why_not_clean"] = why
    return step


def check_records(stack: BenchStack, window_start: Any, placed: int, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Wait for the journal to drain and the counters to settle, then count the records."""
    t0 = time.monotonic()
    last_sum, steady_since = None, time.monotonic()
    while True:
        st = stack.status()
        done = st["calls"]["completed"] + st["calls"]["reconciled"]
        pending = st["journal"]["pending"]
        if done != last_sum:
            last_sum, steady_since = done, time.monotonic()
        waited = time.monotonic() - t0
        steady = time.monotonic() - steady_since
        if pending == 0 and done >= placed and steady >= 3:
            break
        # give one periodic reconcile (every 30 s) a chance before calling it settled
        if pending == 0 and steady >= 10 and waited >= 40:
            break
        if waited > 150:
            break
        time.sleep(1)
    settle = round(time.monotonic() - t0, 1)
    end = utc_now() + timedelta(seconds=2)
    total, items = all_records(stack.api, window_start, end)
    by_caller: dict[str, list[dict[str, Any]]] = {}
    for rec in items:
        by_caller.setdefault(rec["caller_number"], []).append(rec)
    outcomes: dict[str, int] = {}
    sources: dict[str, int] = {}
    for rec in items:
        outcomes[rec["outcome"]] = outcomes.get(rec["outcome"], 0) + 1
        sources[rec["source"]] = sources.get(rec["source"], 0) + 1
    per_step = []
    for s in steps:
        recs = by_caller.pop(s["caller_number"], [])
        per_step.append({"rate": s["target_rate"], "attempt": s.get("attempt", 0), "calls": s["created"],
                         "records": len(recs),
                         "answered": sum(1 for r in recs if r["outcome"] == "answered"),
                         "with_seat": sum(1 for r in recs if r["seat"]),
                         "source_live": sum(1 for r in recs if r["source"] == "live")})
    ids = [r["call_id"] for r in items]
    return {"calls_placed": placed, "records_total": total, "records_listed": len(items),
            "distinct_call_ids": len(set(ids)), "outcomes": outcomes, "sources": sources,
            "per_step": per_step, "unexpected_callers": {k: len(v) for k, v in by_caller.items()},
            "status_at_count": st, "settle_seconds": settle, "window": [window_start.isoformat(), end.isoformat()]}


# -- summary, targets, README ----------------------------------------------------------------

def summarise(results: dict[str, Any]) -> dict[str, Any]:
    a, b = results.get("static", {}), results.get("full", {})
    c = results.get("static_ami", {})
    for res in (a, b, c):
        if res:
            clean_limits(res)
    s: dict[str, Any] = {}
    if c:
        s["static_ami_max_clean_rate"] = c.get("max_clean_rate", 0)
        s["static_ami_max_clean_concurrent"] = c.get("max_clean_concurrent", 0)
        lag_c = next((st for st in c.get("steps", []) if st["target_rate"] == LAG_RATE), None)
        s["static_ami_reader_lag_p99_ms_at_lag_rate"] = lag_c["ami_probe"].get("lag_p99_ms") if lag_c else None
    a_rate, b_rate = a.get("max_clean_rate", 0), b.get("max_clean_rate", 0)
    a_conc, b_conc = a.get("max_clean_concurrent", 0), b.get("max_clean_concurrent", 0)
    s.update({"static_max_clean_rate": a_rate, "full_max_clean_rate": b_rate,
              "static_max_clean_concurrent": a_conc, "full_max_clean_concurrent": b_conc,
              "rate_ratio": round(b_rate / a_rate, 3) if a_rate else None,
              "concurrent_ratio": round(b_conc / a_conc, 3) if a_conc else None})
    steps = b.get("steps", [])
    top = results.get("parameters", {}).get("steps", [0])[-1]
    s["ceiling_note"] = (f"(a) was clean at the highest step offered ({top} calls/s): its real limit is higher "
                         "and the ratio is bounded by the step plan") if a_rate and a_rate >= top else None
    # FastAGI latency: /status right after the highest clean step of (b) (ring of the last 10 000 commands)
    clean_b = [st for st in steps if st["clean"] and st["target_rate"] <= b_rate]
    ref = clean_b[-1] if clean_b else (steps[-1] if steps else None)
    if ref:
        fa = ref["status_after"]["fastagi"]
        s["fastagi_step"] = ref["target_rate"]
        s["fastagi_p50_ms"] = fa.get("command_p50_ms")
        s["fastagi_p99_ms"] = fa.get("command_p99_ms")
        s["fastagi_p99_ms_worst_clean_step"] = max((st["status_after"]["fastagi"].get("command_p99_ms") or 0
                                                    for st in clean_b), default=None)
        s["fastagi_commands_per_call"] = round(ref["fastagi_commands"] / ref["created"], 2) if ref["created"] else None
    # AMI lag: at 60 calls/s if Asterisk alone reached it cleanly, else at (b)'s highest clean step.
    lag_step = next((st for st in steps if st["target_rate"] == LAG_RATE), None)
    if a_rate >= LAG_RATE and lag_step is not None:
        s["ami_lag_step"] = LAG_RATE
        s["ami_lag_label"] = f"at {LAG_RATE} calls/s" + ("" if lag_step["clean"] else
                                                        " (that step was NOT clean in the full stack)")
    elif ref is not None and ref["target_rate"] == LAG_RATE:
        lag_step = ref
        s["ami_lag_step"] = LAG_RATE
        s["ami_lag_label"] = f"at {LAG_RATE} calls/s, the full stack's highest clean step"
    else:
        lag_step = ref
        s["ami_lag_step"] = ref["target_rate"] if ref else None
        s["ami_lag_label"] = (f"NOT at {LAG_RATE} calls/s: " +
                              (f"the step plan has no {LAG_RATE} calls/s step; "
                               if LAG_RATE not in results.get("parameters", {}).get("steps", [])
                               else "(a) was not run in this invocation; " if not a
                               else f"Asterisk alone was clean only up to {a_rate} calls/s on this machine; "
                               if a_rate < LAG_RATE else f"the full stack never ran {LAG_RATE} calls/s; ") +
                              f"lag at the full stack's highest clean step, {s['ami_lag_step']} calls/s")
    if lag_step:
        s["ami_lag_p99_ms"], s["event_lag_source"] = event_lag(lag_step["status_after"])
        s["ami_only_lag_p99_ms"] = lag_step["status_after"].get("ami", {}).get("lag_p99_ms")
        s["cel_tail_lag_p99_ms"] = lag_step["status_after"].get("cel_tail", {}).get("lag_p99_ms")
        if s["event_lag_source"] != "AMI":
            s["ami_lag_label"] += (f"; AMI carries no per-call events to the controller in this version, so this is "
                                   f"the {s['event_lag_source']} lag (CEL event time -> handled)")
        s["ami_events_per_call"] = round(lag_step["ami_events"] / lag_step["created"], 1) if lag_step["created"] else None
    rec = b.get("records")
    if rec:
        s["calls_placed"] = rec["calls_placed"]
        s["records"] = rec["records_total"]
    return s


def targets(s: dict[str, Any]) -> list[dict[str, Any]]:
    out = []

    def add(name: str, target: str, value: Any, ok: bool | None, note: str | None = None) -> None:
        out.append({"name": name, "target": target, "value": value,
                    "result": "n/a" if ok is None else ("PASS" if ok else "FAIL"), "note": note})

    r = s.get("rate_ratio")
    add("clean calls/s ratio full/static", f">= {TARGETS['ratio']}", r, None if r is None else r >= TARGETS["ratio"],
        s.get("ceiling_note"))
    p = s.get("fastagi_p99_ms")
    add("FastAGI command p99", f"<= {TARGETS['fastagi_p99_ms']:g} ms", p,
        None if p is None else p <= TARGETS["fastagi_p99_ms"], f"at {s.get('fastagi_step')} calls/s")
    lag = s.get("ami_lag_p99_ms")
    add(f"event lag p99 ({s.get('event_lag_source', 'AMI')})", f"<= {TARGETS['ami_lag_p99_ms']:g} ms at {LAG_RATE} calls/s", lag,
        None if lag is None else lag <= TARGETS["ami_lag_p99_ms"], s.get("ami_lag_label"))
    if "records" in s:
        add("call records == calls placed", "equal", f"{s['records']} / {s['calls_placed']}",
            s["records"] == s["calls_placed"])
    else:
        add("call records == calls placed", "equal", None, None)
    return out


def verdict(st: dict[str, Any] | None) -> str:
    if st is None:
        return "not run"
    if st.get("attempt"):
        return ("clean" if st["clean"] else _unclean(st)) + " (2nd try: the 1st was unclean while other processes " \
            f"took {st.get('retry_of_unclean_step_with_other_cpu_pct')}% of a core)"
    if st["clean"]:
        return "clean"
    return _unclean(st)


def _unclean(st: dict[str, Any]) -> str:
    parts = []
    if st["failed"]:
        parts.append(f"{st['failed']} failed")
    if st["retransmissions"]:
        parts.append(f"{st['retransmissions']} retrans")
    if st["seat_answered"] != st["created"]:
        parts.append(f"{st['created'] - st['seat_answered']} not answered by a seat")
    if st.get("drain_seconds") is None:
        parts.append("did not drain")
    return "**" + ", ".join(parts or st["why_not_clean"]) + "**"


def readme_table(results: dict[str, Any]) -> str:
    s, m, p = results["summary"], results["machine"], results["parameters"]
    a, b, c = results.get("static", {}), results.get("full", {}), results.get("static_ami", {})
    lines = [f"Run `{results['run_id']}` ({results['mode']}, `{results['file']}`): {m['nproc']} × {m['cpu_model']}, "
             f"Asterisk {results.get('asterisk_version', '?')}, {m['sipp']}; {p['seats']} seats, "
             f"{p['seconds']:g} s of load a step, {p['talk_ms']} ms talk, run took {results['duration_seconds']:.0f} s.",
             ""]
    busy = {name: [st["target_rate"] for st in cfg.get("steps", []) if st.get("foreign_processes_before")]
            for name, cfg in (("(a)", a), ("(a+AMI)", c), ("(b)", b))}
    busy = {k: v for k, v in busy.items() if v}
    if busy:
        lines += ["Note: other Asterisk/sipp/pytest processes (integration tests, the demo) were running on the machine "
                  "before the step(s) at " + "; ".join(f"{k} {v} calls/s" for k, v in busy.items()) +
                  " (`foreign_processes_before` in the JSON).", ""]
    def extra(text: str) -> str:  # the (a+AMI) diagnostic's column, when it ran
        return f" {text} |" if c else ""

    lines += ["| | (a) Asterisk alone, static dialplan | (b) full stack | b/a |"
              + extra("(a+AMI) diagnostic: static + passive AMI reader"),
              "| --- | --- | --- | --- |" + extra("---"),
              f"| highest clean calls/s | {s['static_max_clean_rate']} | {s['full_max_clean_rate']} | "
              f"{s['rate_ratio']} |" + extra(str(s.get('static_ami_max_clean_rate'))),
              f"| highest clean concurrent calls (sipp CurrentCall peak) | {s['static_max_clean_concurrent']} | "
              f"{s['full_max_clean_concurrent']} | {s['concurrent_ratio']} |"
              + extra(str(s.get('static_ami_max_clean_concurrent'))),
              f"| first unclean step (calls/s) | {a.get('first_unclean_rate') or 'none'} | "
              f"{b.get('first_unclean_rate') or 'none'} | |" + extra(str(c.get('first_unclean_rate') or 'none')),
              f"| all clean steps (a later clean step does not count above) | {a.get('clean_steps', [])} | "
              f"{b.get('clean_steps', [])} | |" + extra(str(c.get('clean_steps', []))), ""]
    lines += ["| calls/s | (a) | (a) peak calls | (a) CPU % Asterisk (machine; other processes) |"
              + extra("(a+AMI) | (a+AMI) reader's AMI lag p99 ms")
              + " (b) | (b) peak calls | (b) CPU % Asterisk + controller [+ its FastAGI process] (machine; other processes) "
              "| (b) FastAGI p50 / p99 ms | (b) event lag p99 ms (AMI, or CEL log tail) |",
              "| ---: | --- | ---: | ---: |" + extra("--- | ---:") + " --- | ---: | ---: | ---: | ---: |"]
    by_a = {st["target_rate"]: st for st in a.get("steps", [])}
    by_b = {st["target_rate"]: st for st in b.get("steps", [])}
    by_c = {st["target_rate"]: st for st in c.get("steps", [])}

    def cpu(st: dict[str, Any] | None, full: bool) -> str:
        if st is None:
            return ""
        ast = st["cpu"].get("asterisk", {}).get("mean", "?")
        ctl = ""
        if full:
            ctl = f" + {st['cpu'].get('controller', {}).get('mean', '?')}"
            if "controller_fastagi" in st["cpu"]:
                ctl += f" + {st['cpu']['controller_fastagi']['mean']}"
        return (f"{ast}{ctl} ({st['cpu'].get('machine_busy_pct_of_all_cores', {}).get('mean', '?')}; "
                f"others {st.get('other_cpu_pct', '?')})")

    for rate in p["steps"]:
        sa, sb, sc = by_a.get(rate), by_b.get(rate), by_c.get(rate)
        if not (sa or sb or sc):
            continue
        fa = sb["status_after"]["fastagi"] if sb else {}
        lines.append(
            f"| {rate} | {verdict(sa)} | {sa['peak_current_calls'] if sa else ''} | {cpu(sa, False)} |"
            + extra(f"{verdict(sc)} | {sc['ami_probe'].get('lag_p99_ms', '') if sc else ''}")
            + f" {verdict(sb)} | {sb['peak_current_calls'] if sb else ''} | {cpu(sb, True)} "
            f"| {(str(fa.get('command_p50_ms')) + ' / ' + str(fa.get('command_p99_ms'))) if sb else ''} "
            f"| {lag_text(sb['status_after']) if sb else ''} |")
    lines += ["", "| target | wanted | measured | result |", "| --- | --- | --- | --- |"]
    for tgt in results["targets"]:
        note = f" ({tgt['note']})" if tgt.get("note") else ""
        lines.append(f"| {tgt['name']} | {tgt['target']} | {tgt['value']}{note} | {tgt['result']} |")
    rec = b.get("records")
    if rec:
        lines += ["", (f"Records (b): {rec['records_total']} records for {rec['calls_placed']} calls placed through "
                       f"the trunk; outcomes {rec['outcomes']}; sources {rec['sources']}.")]
    return "\n".join(lines)


def update_readme(table: str, marker: str = "results", title: str = "Results") -> None:
    text = README.read_text()
    start, end = f"<!-- {marker} -->", f"<!-- /{marker} -->"
    if start not in text or end not in text:
        text = text.rstrip() + f"\n\n## {title}\n\n{start}\n{end}\n"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    README.write_text(f"{head}{start}\n{table}\n{end}{tail}")


# -- main ------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a short smoke run (2 steps, fewer seats)")
    ap.add_argument("--steps", type=lambda v: [int(x) for x in v.split(",")], help="calls/s steps, e.g. 10,20,40")
    ap.add_argument("--seconds", type=float, help="seconds of load per step")
    ap.add_argument("--talk-ms", type=int, help="talk time of each call (caller hangs up after it)")
    ap.add_argument("--seats", type=int, help="seats registered (one sipp UAS answers for all)")
    ap.add_argument("--only", choices=["static", "static_ami", "full"], help="run one configuration only (debugging)")
    ap.add_argument("--ami-reader", action="store_true",
                    help="also run the diagnostic configuration (a+AMI): static dialplan + a passive AMI reader")
    ap.add_argument("--keep-recordings", action="store_true", help="keep MixMonitor recordings (hundreds of MB)")
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite the README table")
    ap.add_argument("--results-dir", type=Path, metavar="DIR",
                    help="write the results JSON here instead of bench/results (the CI smoke test)")
    ap.add_argument("--render-readme", metavar="JSON", type=Path,
                    help="only rewrite the README table from a results file (e.g. bench/results/latest.json)")
    ap.add_argument("--wait-quiet", type=float, default=600, metavar="S",
                    help="wait up to S seconds for the machine to be idle (other test runs finished; default 600)")
    ap.add_argument("--scenario", choices=["calls", "seats100"], default="calls",
                    help="calls: the call-rate steps (default); seats100: N seats and 2N waiting callers in one "
                         "queue, audio loss/jitter and free-seat ring delay (see README)")
    ap.add_argument("--levels", type=lambda v: [tuple(int(x) for x in lv.split(":")) for lv in v.split(",")],
                    help="seats100: seats:callers levels, high to low, stopping at the first that holds "
                         "(default 100:200)")
    ap.add_argument("--warmup", type=float, help="seats100: seconds of load before the measured window (default 60)")
    ap.add_argument("--strategy", choices=["rrmemory", "leastrecent", "fewestcalls", "linear", "random"],
                    help="seats100: the queue strategy (default rrmemory)")
    ap.add_argument("--queue-debug", action="store_true",
                    help="seats100 diagnostic: log app_queue's debug messages (asterisk-queue-debug.log)")
    ap.add_argument("--caller-rate", type=float, help="seats100: calls/s at which sipp refills the callers (default 10)")
    args = ap.parse_args()
    if args.scenario == "seats100":
        return main_seats100(args)
    if args.render_readme:
        saved = json.loads(args.render_readme.read_text())
        saved["summary"] = summarise(saved)
        saved["targets"] = targets(saved["summary"])
        update_readme(readme_table(saved))
        print(f"README table rewritten from {args.render_readme}")
        return 0
    if os.geteuid() != 0:
        print("run_bench: needs root (Asterisk chroot)", file=sys.stderr)
        return 2
    for tool in ("sipp", "sox"):
        if shutil.which(tool) is None:
            print(f"run_bench: {tool} is not installed", file=sys.stderr)
            return 2

    params = dict(QUICK if args.quick else FULL)
    for key, val in (("steps", args.steps), ("seconds", args.seconds), ("talk_ms", args.talk_ms),
                     ("seats", args.seats)):
        if val is not None:
            params[key] = val
    run_id = utc_now().strftime("%Y%m%dT%H%M%SZ")
    mode = "quick" if args.quick else "full"
    custom = any(v is not None for v in (args.steps, args.seconds, args.talk_ms, args.seats, args.only)) \
        or args.ami_reader
    suffix = "" if mode == "full" and not custom else ("-quick" if args.quick else "-custom")
    log_root = HERE / "logs" / f"{run_id}{suffix}"
    work = HERE / "work"
    log_root.mkdir(parents=True, exist_ok=True)
    nofile = raise_nofile()

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)

    results: dict[str, Any] = {"run_id": run_id, "mode": mode + (" (custom parameters)" if custom else ""),
                               "command": " ".join([Path(sys.executable).as_posix(), *sys.argv]),
                               "started_at": utc_now().isoformat(), "parameters": params,
                               "ports": {"sip": benchrig.SIP_PORT, "ami": benchrig.AMI_PORT, "agi": benchrig.AGI_PORT,
                                         "api": benchrig.API_PORT, "trunk": f"{benchrig.TRUNK_IP}:{benchrig.TRUNK_PORT}",
                                         "seat_uas": f"{benchrig.SEAT_IP}:{benchrig.SEAT_PORT}",
                                         "rtp": f"{benchrig.RTP_START}-{benchrig.RTP_END}"},
                               "machine": machine_info(), "nofile_limit": nofile, "git": git_info(),
                               "foreign_processes_at_start": foreign_processes(), "log_dir": str(log_root)}
    log(f"benchmark {run_id} ({mode}): steps {params['steps']} calls/s × {params['seconds']:g} s, "
        f"talk {params['talk_ms']} ms, {params['seats']} seats; logs in {log_root}")
    if results["foreign_processes_at_start"]:
        log(f"note: {len(results['foreign_processes_at_start'])} other Asterisk/sipp/pytest processes are running "
            "(they share the CPU; listed in the JSON)")
    t0 = time.monotonic()
    status = 0
    try:
        busy = machine_busy(3)
        if busy > QUIET_PCT and args.wait_quiet > 0:
            log(f"the machine is {busy:.0f}% busy: waiting up to {args.wait_quiet:.0f} s for it to fall under "
                f"{QUIET_PCT:g}% (--wait-quiet 0 to skip)")
            deadline = time.monotonic() + args.wait_quiet
            while time.monotonic() < deadline and busy > QUIET_PCT:
                busy = machine_busy(3)
        results["machine_busy_pct_when_starting"] = round(busy, 1)
        results["foreign_processes_when_starting"] = foreign_processes()
        t0 = time.monotonic()
        if args.only in (None, "static"):
            log("== (a) Asterisk alone, static dialplan, no controller ==")
            results["static"] = {}
            run_config(results["static"], "static", False, params, log_root, work, must_reach=0,
                       keep_recordings=args.keep_recordings)
            results["asterisk_version"] = results["static"].get("asterisk_version")
        if args.only == "static_ami" or (args.only is None and args.ami_reader):
            log("== (a+AMI) diagnostic: static dialplan, no controller, a passive AMI reader logged in ==")
            results["static_ami"] = {}
            run_config(results["static_ami"], "static_ami", False, params, log_root, work, must_reach=0,
                       keep_recordings=args.keep_recordings, probe=True)
        if args.only in (None, "full"):
            a_rate = results.get("static", {}).get("max_clean_rate", LAG_RATE)
            must = LAG_RATE if a_rate >= LAG_RATE and LAG_RATE in params["steps"] else 0
            log("== (b) full stack: normal dialplan with FastAGI, controller running ==")
            results["full"] = {}
            run_config(results["full"], "full", True, params, log_root, work, must_reach=must,
                       keep_recordings=args.keep_recordings)
            results["asterisk_version"] = results["full"].get("asterisk_version")
    except KeyboardInterrupt as exc:
        log(f"interrupted ({exc}); cleaned up")
        results["interrupted"] = True
        status = 130
    except Exception as exc:
        log(f"benchmark failed: {type(exc).__name__}: {exc}")
        results["error"] = f"{type(exc).__name__}: {exc}"
        status = 1
    results["duration_seconds"] = round(time.monotonic() - t0, 1)
    results["finished_at"] = utc_now().isoformat()
    results["foreign_processes_at_end"] = foreign_processes()
    results["summary"] = summarise(results) if "static" in results or "full" in results else {}
    results["targets"] = targets(results["summary"]) if results["summary"] else []

    out_dir = args.results_dir or RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    results["file"] = f"{run_id}{suffix}.json"
    text = json.dumps(results, indent=2, ensure_ascii=False, default=str)
    (out_dir / results["file"]).write_text(text + "\n")
    latest = "latest.json" if suffix == "" else f"latest{suffix}.json"
    (out_dir / latest).write_text(text + "\n")
    complete = status == 0 and "static" in results and "full" in results
    if complete and suffix == "" and not args.no_readme:
        update_readme(readme_table(results))
        log("README table updated")

    s = results["summary"]
    print()
    if s:
        print(readme_table(results))
        print()
        for t in results["targets"]:
            print(f"{t['result']:>4}  {t['name']}: {t['value']} (target {t['target']})"
                  + (f" — {t['note']}" if t.get("note") else ""))
    print(f"\nresults: {out_dir / results['file']} (and {latest})")
    print(f"logs:    {log_root} (sipp stat/err files, controller.log, asterisk-messages.log per config)")
    print(f"took {results['duration_seconds']:.0f} s")
    return status


def main_seats100(args: argparse.Namespace) -> int:
    """The seats100 scenario (bench/seats100.py): its own results file and README section."""
    if args.render_readme:
        saved = json.loads(args.render_readme.read_text())
        update_readme(seats100.readme_section(saved), "seats100", "Scenario seats100 results")
        print(f"README seats100 section rewritten from {args.render_readme}")
        return 0
    if os.geteuid() != 0:
        print("run_bench: needs root (Asterisk chroot)", file=sys.stderr)
        return 2
    for tool in ("sipp", "sox"):
        if shutil.which(tool) is None:
            print(f"run_bench: {tool} is not installed", file=sys.stderr)
            return 2
    params = dict(seats100.DEFAULTS, quiet_pct=QUIET_PCT, quiet_wait=min(args.wait_quiet, 180.0),
                  queue_debug=args.queue_debug)
    for key, val in (("levels", args.levels), ("warmup", args.warmup), ("seconds", args.seconds),
                     ("caller_rate", args.caller_rate), ("strategy", args.strategy)):
        if val is not None:
            params[key] = val
    run_id = utc_now().strftime("%Y%m%dT%H%M%SZ")
    log_root = HERE / "logs" / f"{run_id}-seats100"
    log_root.mkdir(parents=True, exist_ok=True)
    nofile = raise_nofile()

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)
    results: dict[str, Any] = {"run_id": run_id, "mode": "seats100",
                               "command": " ".join([Path(sys.executable).as_posix(), *sys.argv]),
                               "started_at": utc_now().isoformat(), "parameters": params,
                               "targets_wanted": seats100.TARGETS, "machine": machine_info(), "nofile_limit": nofile,
                               "git": git_info(), "foreign_processes_at_start": foreign_processes(),
                               "log_dir": str(log_root)}
    log(f"benchmark {run_id} (seats100): levels {params['levels']} (seats:callers), warm-up {params['warmup']:g} s, "
        f"{params['seconds']:g} s measured; logs in {log_root}")
    status = 0
    busy = machine_busy(3)
    if busy > QUIET_PCT and args.wait_quiet > 0:
        log(f"the machine is {busy:.0f}% busy: waiting up to {args.wait_quiet:.0f} s for it to fall under {QUIET_PCT:g}%")
        deadline = time.monotonic() + args.wait_quiet
        while time.monotonic() < deadline and busy > QUIET_PCT:
            busy = machine_busy(3)
    results["machine_busy_pct_when_starting"] = round(busy, 1)
    t0 = time.monotonic()
    results["seats100"] = {"levels": []}
    try:
        results["seats100"] = seats100.run(dict(params, foreign=foreign_processes), log_root, HERE / "work", log)
    except KeyboardInterrupt as exc:
        log(f"interrupted ({exc}); cleaned up")
        results["interrupted"] = True
        status = 130
    except Exception as exc:
        log(f"benchmark failed: {type(exc).__name__}: {exc}")
        results["error"] = f"{type(exc).__name__}: {exc}"
        status = 1
    levels = results["seats100"].get("levels", [])
    results["asterisk_version"] = next((lv.get("asterisk_version") for lv in levels if lv.get("asterisk_version")), None)
    results["duration_seconds"] = round(time.monotonic() - t0, 1)
    results["finished_at"] = utc_now().isoformat()
    results["foreign_processes_at_end"] = foreign_processes()
    RESULTS.mkdir(parents=True, exist_ok=True)
    results["file"] = f"{run_id}-seats100.json"
    text = json.dumps(results, indent=2, ensure_ascii=False, default=str)
    (RESULTS / results["file"]).write_text(text + "\n")
    (RESULTS / "latest-seats100.json").write_text(text + "\n")
    if levels and not args.no_readme:
        update_readme(seats100.readme_section(results), "seats100", "Scenario seats100 results")
        log("README seats100 section updated")
    print()
    print(seats100.readme_section(results))
    print(f"\nresults: {RESULTS / results['file']} (and latest-seats100.json)")
    print(f"logs:    {log_root}")
    return status


if __name__ == "__main__":
    sys.exit(main())
