#!/usr/bin/env python3
"""Soak benchmark: the whole stack under realistic 12345 traffic for hours, with nothing reading
/status but a sampler every few minutes.

    .venv/bin/python bench/soak.py                 # 2 h (plus ~5 min start and settle)
    .venv/bin/python bench/soak.py --hours 0.1     # a 6-minute check of the script itself

Starts its own Asterisk, seat phones and controller (SQLite store; --redis adds a Redis for the live
state) on ports apart from the integration tests, the demo and run_bench.py, in bench/work/soak.
Traffic: Poisson arrivals, callers talking 30-180 s, a share hanging up early (abandons while
queued), seats logged in, paused and logged out through the API, an API client and a wallboard SSE
stream. Writes bench/results/<UTC stamp>-soak.json and latest-soak.json after every sample, and at
the end the "Soak" section of bench/README.md. Prints PASS/FAIL against the targets; never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import benchrig  # noqa: E402
import soak_measure as sm  # noqa: E402
from amiwatch import seat_check  # noqa: E402
from benchrig import BenchStack, http_json, raise_nofile  # noqa: E402
from soak_load import Clients, Traffic  # noqa: E402
from run_bench import foreign_processes, git_info, machine_info  # noqa: E402
from seats_parse import parse_queue_show  # noqa: E402

import yaml  # noqa: E402
from hotline.config import parse_site  # noqa: E402

RESULTS = HERE / "results"
README = HERE / "README.md"
WORK = HERE / "work" / "soak"
# Ports apart from the integration tests (15xxx/14573/18080, media 16000-24400, RTP 41000-45999), the demo (5xxx/8080)
# and run_bench.py (25xxx/24573/28080, RTP 30000-39999).
PORTS = {"SIP_PORT": 35060, "AMI_PORT": 35038, "AGI_PORT": 34573, "API_PORT": 38080, "TRUNK_PORT": 35070,
         "SEAT_PORT": 35081, "SEAT_MEDIA": 35090, "CALLER_MEDIA": 36000, "RTP_START": 40000, "RTP_END": 40999,
         "CONTROL_PORT_BASE": 35200}
REDIS_PORT = 36379


def log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)


def use_soak_ports() -> None:
    for name, value in PORTS.items():
        setattr(benchrig, name, value)


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.file = RESULTS / f"{self.stamp}-soak.json"
        self.seats = benchrig.seat_ids(args.seats)
        site = benchrig.site_dict(args.seats)
        site["site"]["name"] = "soak"
        if args.redis:
            site["redis"] = {"url": f"redis://127.0.0.1:{REDIS_PORT}/0"}
        self.stack = BenchStack(name="soak", state_dir=WORK / "state", log_dir=WORK / "log", seats=args.seats,
                                full=True, site=site, say=log)
        self.redis: subprocess.Popen[bytes] | None = None
        self.stop = threading.Event()
        self.samples: list[dict[str, Any]] = []
        self.t_start = 0.0
        self.fastagi_pid: int | None = None
        self.res: dict[str, Any] = {}

    # -- setup ------------------------------------------------------------------------------
    def start(self) -> None:
        st = self.stack
        for d in (WORK / "log", WORK / "calls"):   # the state dir is wiped by build()
            shutil.rmtree(d, ignore_errors=True)
        (WORK / "calls").mkdir(parents=True)
        if self.args.redis:
            (WORK / "redis").mkdir(parents=True, exist_ok=True)
            self.redis = subprocess.Popen(["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1",
                                           "--save", "", "--appendonly", "no", "--dir", str(WORK / "redis")],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        st.build()
        st.start_controller()   # reads /status until AMI and FastAGI are up: before any traffic
        self.fastagi_pid = st.status().get("fastagi", {}).get("pid")
        st.start_seats(scenario="seat_uas.xml", wait_members=False, extra_args=[])
        for seat in self.seats:
            code, body = http_json("POST", f"{st.api}/api/seats/{seat}/login")
            if code != 200:
                raise RuntimeError(f"seat {seat} login: {code} {body}")
        benchrig.wait_for(f"{len(self.seats)} seats logged in and not in use",
                          lambda: parse_queue_show(st.cli("queue show hotline"))["not_in_use"] >= len(self.seats),
                          timeout=60, interval=1)
        log(f"{len(self.seats)} seats logged in through the API")

    # -- sampling ---------------------------------------------------------------------------
    def procs(self) -> dict[str, Any]:
        st = self.stack
        main = st.controller.popen.pid if st.controller else None
        kids = benchrig.descendants(main) if main else []
        if self.fastagi_pid not in kids:
            self.fastagi_pid = kids[0] if kids else None
        return {"controller": sm.proc_stats(main), "fastagi": sm.proc_stats(self.fastagi_pid),
                "asterisk": sm.proc_stats(st.runtime.pid() if st.runtime else None), "controller_children": len(kids)}

    def sizes(self) -> dict[str, int]:
        st, rt = self.stack, self.stack.runtime
        assert st.paths is not None and rt is not None
        sd = st.paths.state_dir
        return {"cel_log": rt.cel_log.stat().st_size if rt.cel_log.exists() else 0,
                "journal": sm.glob_bytes(sd, "records.journal*"), "database": sm.glob_bytes(sd, "hotline.db*"),
                "recordings": sm.tree_bytes(rt.recordings_dir)[1] if rt.recordings_dir.exists() else 0,
                "asterisk_logs": sm.tree_bytes(rt.log_dir)[1],
                "controller_log": sm.tree_bytes(st.paths.log_dir)[1] + (st.log_dir / "controller.log").stat().st_size}

    def read_status(self) -> dict[str, Any]:
        try:
            s = self.stack.status()
        except Exception as exc:   # noted, never fatal
            return {"error": f"{type(exc).__name__}: {exc}"[:300]}
        if s.get("fastagi", {}).get("pid"):
            self.fastagi_pid = s["fastagi"]["pid"]
        fa, j = s.get("fastagi", {}), s.get("journal", {})
        return {"fastagi_command_p99_ms": fa.get("command_p99_ms"), "fastagi_ok": fa.get("ok"),
                "journal": j, "cel_tail_lag_p99_ms": s.get("cel_tail", {}).get("lag_p99_ms"), "calls": s.get("calls"),
                "wake": (s.get("seats") or {}).get("wake"),   # the queue wake's callers woken and failed actions
                "all_ok": all(v.get("ok", True) for v in s.values() if isinstance(v, dict))}

    def sample(self, with_status: bool) -> dict[str, Any]:
        now = time.time()
        self.cel.poll()
        records = sm.store_records(self.stack.paths.sqlite_path)
        self.verdicts = sm.call_verdicts(self.cel, records, now, self.args.settle)
        t_prev = self.samples[-1]["t"] if self.samples else self.t_start
        with self.traffic.lock:
            placed = list(self.traffic.placed)
        s = {"t": now, "t_rel": round(now - self.t_start, 1), "window": sm.window_counts(self.verdicts, placed, t_prev, now),
             "in_progress": len(self.traffic.running), "records_total": len(records), "procs": self.procs(),
             "sizes": self.sizes(), "loadavg": [round(x, 2) for x in os.getloadavg()],
             "foreign_processes": len(foreign_processes(
                 set(benchrig.descendants(os.getpid())) | {self.stack.runtime.pid() or 0}))}
        if with_status:
            s["status"] = self.read_status()
        self.samples.append(s)
        self.records = records
        self.write()
        w, p = s["window"], s["procs"]
        log(f"sample t+{s['t_rel'] / 60:.1f} min: placed {w['placed']}, entered {w['entered']}, recorded "
            f"{w['recorded']}, lost {w['lost']}, pending {w['pending']}, stalls {w['stalls']}+{w['sipp_failed']}, "
            f"routing p99 {w['routing_p99_ms']} ms; RSS MB ctl/agi/ast "
            + "/".join(f"{(p[k] or {}).get('rss_kib', 0) / 1024:.0f}" for k in sm.PROCS)
            + f"; {s['in_progress']} calls up" + (f"; status {s['status']}" if with_status else ""))
        return s

    def write(self, final: bool = False) -> None:
        placed = list(self.traffic.placed)
        summary = sm.window_counts(self.verdicts, placed, 0, float("inf"))
        warm = min(1800.0, self.args.hours * 3600 / 3)
        slopes = {p: sm.rss_slope(self.samples, p, warm) for p in sm.PROCS}
        outcomes: dict[str, int] = {}
        for _, _, outcome in self.records:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        self.res.update({
            "complete": final, "samples": self.samples, "summary": summary, "outcomes": outcomes,
            "hours": sm.hours_table(self.samples, self.verdicts, placed, self.t_start),
            "rss_slopes": slopes, "warmup_seconds": warm, "churn": self.clients.churn,
            "reregistrations": self.clients.reregistrations, "api_client": self.clients.api_client,
            "sse": self.clients.sse, "no_free_caller_slot": self.traffic.no_slot,
            "cel": {"lines": self.cel.lines, "unparsed": self.cel.unparsed},
            "plan": sm.plan(self.samples, summary["entered"], self.args.plan_calls_per_day,
                            max(1e-9, min(self.args.hours, (self.samples[-1]["t_rel"] if self.samples else 0) / 3600))),
            "duration_seconds": round(time.time() - self.t_wall0, 1),
        })
        self.res["targets"] = sm.targets(summary, slopes, self.res.get("stuck_seats"))
        if final:
            by_caller = {v["caller"]: v for v in self.verdicts.values()}
            self.res["failed_calls"] = [{**p, "cel": by_caller.get(p["caller"])} for p in placed
                                        if p.get("rc") not in (None, 0)]
            self.res["problem_calls"] = {lid: v for lid, v in self.verdicts.items()
                                         if v["lost"] or v["stall"] or v["duplicate_records"] or v["pending"]}
        RESULTS.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.res, indent=1, ensure_ascii=False, default=str)
        for f in (self.file, RESULTS / "latest-soak.json"):
            tmp = f.with_suffix(".tmp")
            tmp.write_text(text)
            tmp.replace(f)

    def reconcile(self) -> dict[str, Any]:
        """The reconciliation report (GET /api/reconciliation) of every site-local day the soak
        touched, summed: our records against Asterisk's CDR and queue_log."""
        tz = str((self.stack.site or {}).get("site", {}).get("timezone") or "Asia/Shanghai")
        reports = []
        for day in sm.days_between(self.t_start, time.time(), tz):
            code, body = http_json("GET", f"{self.stack.api}/api/reconciliation?day={day}", timeout=120)
            reports.append(body if code == 200 else {"day": day, "error": body})
        summary = sm.reconciliation_summary(reports)
        log(f"reconciliation: {summary['unexplained']} unexplained difference(s) over {summary['days']}")
        return summary

    def stuck_seats(self) -> list[dict[str, str]] | None:
        """Every call ended: no seat may be left ringing, talking or in wrap-up, nor in a state
        Asterisk does not have it in (hotline.seats.truth.stuck_seats). None: could not check."""
        st = self.stack
        assert st.paths is not None and st.site_file is not None
        try:
            benchrig.wait_for("no channel left", lambda: st.active_channels() == 0, timeout=60, interval=1)
            site = parse_site(yaml.safe_load(st.site_file.read_text()), str(st.site_file))
            time.sleep(max((q.wrapup for q in site.queues), default=0) + 1.5)   # wrap-ups end on their own
            stuck = seat_check(site, benchrig.AMI_PORT, "hotline", st.paths.ami_secret(),
                               lambda: http_json("GET", f"{st.api}/api/seats")[1]["items"])
        except Exception as exc:   # noted, never fatal
            log(f"seat check failed: {type(exc).__name__}: {exc}")
            return None
        log(f"seat check: {len(stuck)} stuck seat(s)" + (f": {[d.as_dict() for d in stuck][:5]}" if stuck else ""))
        return [d.as_dict() for d in stuck]

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> int:
        a = self.args
        self.t_wall0 = time.time()
        self.res = {"run_id": self.stamp, "file": str(self.file.relative_to(HERE.parent)), "machine": machine_info(), "git": git_info(),
                    "parameters": {k: v for k, v in vars(a).items()}, "ports": PORTS,
                    "started_at": datetime.now(timezone.utc).isoformat()}
        self.traffic = Traffic(self.stack, a, WORK / "calls")
        self.clients = Clients(self.stack, a, self.seats)
        self.verdicts: dict[str, Any] = {}
        self.records: list[tuple[str, str, str]] = []
        try:
            self.start()
            assert self.stack.runtime is not None
            self.res["asterisk_version"] = self.stack.runtime.version
            self.cel = sm.CelTracker(self.stack.runtime.cel_log)
            self.t_start = time.time()
            until = time.monotonic() + a.hours * 3600
            threads = [threading.Thread(target=self.traffic.run, args=(until, self.stop), daemon=True, name="arrivals"),
                       threading.Thread(target=self.clients.churn_loop, args=(self.stop,), daemon=True, name="churn"),
                       threading.Thread(target=self.clients.api_loop, args=(self.stop,), daemon=True, name="api"),
                       threading.Thread(target=self.clients.sse_loop, args=(self.stop,), daemon=True, name="sse")]
            self.sample(with_status=False)   # the baseline: sizes and memory before any call
            for t in threads:
                t.start()
            log(f"traffic for {a.hours:g} h: {a.rate:g} calls/s, sample every {a.sample_seconds:g} s, /status every "
                f"{a.status_minutes:g} min")
            every = max(1, round(a.status_minutes * 60 / a.sample_seconds))
            n = 0
            while time.monotonic() < until and not self.stop.is_set():
                self.stop.wait(min(a.sample_seconds, max(0.0, until - time.monotonic())))
                if time.monotonic() < until - 5 and not self.stop.is_set():
                    n += 1
                    self.sample(with_status=n % every == 0)
            threads[0].join(5)
            interrupted = self.stop.is_set()   # a signal: keep what was measured, end soon
            self.res["interrupted"] = interrupted
            log(f"traffic stopped; waiting for {len(self.traffic.running)} call(s) in progress")
            self.traffic.drain(10 if interrupted else a.talk_max + 120)
            self.traffic.kill_all()
            deadline = time.monotonic() + (10 if interrupted else a.settle + 120)
            while time.monotonic() < deadline:   # every entered call ended and settled
                self.cel.poll()
                now = time.time()
                if all(c.ended is not None and c.ended < now - a.settle for c in self.cel.calls.values()):
                    break
                time.sleep(5)
            self.stop.set()
            self.res["stuck_seats"] = self.stuck_seats()
            self.sample(with_status=True)
            self.res["reconciliation"] = self.reconcile()
            self.write(final=True)
        finally:
            self.stop.set()
            self.traffic.kill_all()
            self.stack.copy_asterisk_logs()
            self.stack.close()
            if self.redis is not None:
                self.redis.terminate()
                self.redis.wait(10)
            if not a.keep_recordings and self.stack.runtime is not None:
                shutil.rmtree(self.stack.runtime.recordings_dir, ignore_errors=True)
        for t in self.res["targets"]:
            log(f"{t['result']:>4}  {t['name']}: {t['value']} (target {t['target']})")
        if not a.no_readme:
            sm.write_readme(README, sm.readme_section(self.res))
            log(f"README section 'Soak' written ({README})")
        log(f"results: {self.file}")
        return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=2.0, help="traffic duration (default 2)")
    ap.add_argument("--rate", type=float, default=0.2, help="mean arrivals per second, Poisson (default 0.2: one every 5 s)")
    ap.add_argument("--seats", type=int, default=24, help="seat phones logged in (default 24)")
    ap.add_argument("--talk-min", type=float, default=30.0)
    ap.add_argument("--talk-max", type=float, default=180.0, help="a caller hangs up this long after the answer")
    ap.add_argument("--abandon-share", type=float, default=0.12, help="callers who hang up early (default 0.12)")
    ap.add_argument("--abandon-min", type=float, default=5.0)
    ap.add_argument("--abandon-max", type=float, default=40.0)
    ap.add_argument("--churn-seconds", type=float, default=120.0, help="mean time between seat actions")
    ap.add_argument("--api-seconds", type=float, default=30.0, help="API client period")
    ap.add_argument("--sample-seconds", type=float, default=None, help="default: 300, or a sixth of a short run")
    ap.add_argument("--status-minutes", type=float, default=5.0, help="the sampler reads /status this often")
    ap.add_argument("--settle", type=float, default=60.0, help="a call ended this long ago must have its record")
    ap.add_argument("--answer-bound", type=float, default=10.0, help="a caller not answered within this (s) fails")
    ap.add_argument("--reregister-seconds", type=float, default=1200.0)
    ap.add_argument("--plan-calls-per-day", type=int, default=10000, help="scale the disk plan to this")
    ap.add_argument("--redis", action="store_true", help="live state in a Redis started for the run")
    ap.add_argument("--keep-recordings", action="store_true")
    ap.add_argument("--no-readme", action="store_true")
    a = ap.parse_args(argv)
    if a.sample_seconds is None:
        a.sample_seconds = min(300.0, a.hours * 3600 / 6)
    a.ring_ms = 200
    return a


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    use_soak_ports()
    raise_nofile()
    soak = Soak(args)

    def interrupted(signum: int, _frame: Any) -> None:
        log(f"signal {signum}: stopping the traffic, then the final sample")
        soak.stop.set()
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    return soak.run()


if __name__ == "__main__":
    sys.exit(main())
