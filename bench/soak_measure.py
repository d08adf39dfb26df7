"""What the soak benchmark measures, from sources the controller does not control: Asterisk's own
CEL log (the calls that entered, routing marks), the SQLite store file (the records), /proc (memory,
open files, threads) and file sizes. Also the per-hour aggregation, the targets and the README
section. Used by ``bench/soak.py``; see bench/README.md, "Soak".
"""

from __future__ import annotations

import os
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from hotline.calls.cel import from_json_line  # noqa: E402

import celtruth  # noqa: E402  (beside this file: "a call entered", as the integration tests count it)

ROUTE_BOUND_S = 3.0      # a call must reach its queue within this time of arriving (issue 8)
RSS_GROWTH_MAX_PCT_H = 2.0


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


@dataclass
class CelCall:
    linkedid: str
    caller: str = ""
    start: float | None = None       # CHAN_START of the trunk channel
    arrival: float | None = None     # HOTLINE_ARRIVAL
    queued: float | None = None      # first HOTLINE_QUEUE
    ended: float | None = None       # LINKEDID_END


@dataclass
class CelTracker:
    """Reads Asterisk's CEL JSON log incrementally: every call whose trunk channel started, with
    its routing marks. The ground truth of "a call entered"."""

    path: Path
    offset: int = 0
    calls: dict[str, CelCall] = field(default_factory=dict)
    lines: int = 0
    unparsed: int = 0

    def poll(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n")
        if end < 0:
            return
        self.offset += end + 1
        for raw in data[:end].split(b"\n"):
            if not raw.strip():
                continue
            self.lines += 1
            ev = from_json_line(raw)
            if ev is None:
                self.unparsed += 1
                continue
            if celtruth.is_entry(ev.name, ev.context, ev.uniqueid, ev.linkedid):
                c = self.calls.setdefault(ev.linkedid, CelCall(ev.linkedid))
                c.start, c.caller = ev.time, ev.caller_num
                continue
            c = self.calls.get(ev.linkedid)
            if c is None:
                continue
            if ev.uniqueid == ev.linkedid and celtruth.is_outbound(ev.app, ev.accountcode):
                del self.calls[ev.linkedid]   # placed out on the trunk (a three-way leg): never entered
                continue
            if ev.name == "HOTLINE_ARRIVAL" and c.arrival is None:
                c.arrival = ev.time
            elif ev.name == "HOTLINE_QUEUE" and c.queued is None:
                c.queued = ev.time
            elif ev.name == "LINKEDID_END":
                c.ended = ev.time


def store_records(db: Path) -> list[tuple[str, str, str]]:
    """(call_id, caller_number, outcome) of every record in the SQLite store, read-only."""
    if not db.exists():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return [tuple(r) for r in con.execute("SELECT call_id, caller_number, outcome FROM call_records")]
    except sqlite3.OperationalError:   # the schema is not there yet
        return []
    finally:
        con.close()


def proc_stats(pid: int | None) -> dict[str, Any] | None:
    """RSS (KiB), open file descriptors and threads of a process, from /proc."""
    if not pid:
        return None
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    out: dict[str, Any] = {"pid": pid, "fds": fds}
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            out["rss_kib"] = int(line.split()[1])
        elif line.startswith("Threads:"):
            out["threads"] = int(line.split()[1])
    return out


def tree_bytes(path: Path) -> tuple[int, int]:
    """(files, bytes) under ``path`` (a file or a directory)."""
    if path.is_file():
        return 1, path.stat().st_size
    n = size = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                size += os.stat(os.path.join(root, f)).st_size
                n += 1
            except OSError:
                pass
    return n, size


def glob_bytes(directory: Path, pattern: str) -> int:
    return sum(f.stat().st_size for f in directory.glob(pattern) if f.is_file())


# -- aggregation ---------------------------------------------------------------------------

def call_verdicts(cel: CelTracker, records: list[tuple[str, str, str]], now: float, settle: float) -> dict[str, Any]:
    """Per entered call: recorded or lost (only once it ended ``settle`` s ago), routing latency,
    stall (no queue mark, or reached the queue later than ROUTE_BOUND_S after arriving)."""
    by_id = {r[0] for r in records}
    per_caller: dict[str, int] = {}
    for _, caller, _ in records:
        per_caller[caller] = per_caller.get(caller, 0) + 1
    out = {}
    for lid, c in cel.calls.items():
        settled = c.ended is not None and c.ended < now - settle
        route = (c.queued - c.arrival) if c.queued is not None and c.arrival is not None else None
        to_queue = (c.queued - c.start) if c.queued is not None and c.start is not None else None
        stall = (to_queue is not None and to_queue > ROUTE_BOUND_S) or (
            c.queued is None and c.start is not None and (c.ended or now) - c.start > ROUTE_BOUND_S)
        out[lid] = {"start": c.start, "caller": c.caller, "recorded": lid in by_id,
                    "lost": settled and lid not in by_id, "pending": not settled and lid not in by_id,
                    "route_s": route, "to_queue_s": to_queue, "stall": stall,
                    "duplicate_records": max(0, per_caller.get(c.caller, 0) - 1)}
    return out


def window_counts(verdicts: dict[str, Any], placed: list[dict[str, Any]], t0: float, t1: float) -> dict[str, Any]:
    """Counts of the calls that arrived in [t0, t1)."""
    vs = [v for v in verdicts.values() if v["start"] is not None and t0 <= v["start"] < t1]
    ps = [p for p in placed if t0 <= p["t"] < t1]
    routes = [v["route_s"] * 1000 for v in vs if v["route_s"] is not None]
    queue = [v["to_queue_s"] * 1000 for v in vs if v["to_queue_s"] is not None]
    return {
        "placed": len(ps), "placed_abandoners": sum(1 for p in ps if p["abandon"]),
        "sipp_failed": sum(1 for p in ps if p.get("rc") not in (None, 0)),
        "entered": len(vs), "recorded": sum(1 for v in vs if v["recorded"]),
        "lost": sum(1 for v in vs if v["lost"]), "pending": sum(1 for v in vs if v["pending"]),
        "duplicates": sum(v["duplicate_records"] for v in vs),
        "stalls": sum(1 for v in vs if v["stall"]),
        "routing_p50_ms": _r(pct(routes, 50)), "routing_p99_ms": _r(pct(routes, 99)),
        "routing_max_ms": _r(max(routes) if routes else None),
        "to_queue_p99_ms": _r(pct(queue, 99)), "to_queue_max_ms": _r(max(queue) if queue else None),
    }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


PROCS = ("controller", "fastagi", "asterisk")
SIZES = ("cel_log", "journal", "database", "recordings", "asterisk_logs", "controller_log")


def rss_slope(samples: list[dict[str, Any]], proc: str, after: float) -> dict[str, Any]:
    """Least-squares RSS growth of ``proc`` over the samples taken ``after`` s into the run, in %
    of its mean RSS per hour."""
    pts = [(s["t_rel"] / 3600, s["procs"][proc]["rss_kib"]) for s in samples
           if s["t_rel"] >= after and (s.get("procs", {}).get(proc) or {}).get("rss_kib")]
    if len(pts) < 3:
        return {"points": len(pts), "pct_per_hour": None}
    n = len(pts)
    mx, my = sum(p[0] for p in pts) / n, sum(p[1] for p in pts) / n
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    slope = sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx if sxx else 0.0
    return {"points": n, "kib_per_hour": round(slope, 1), "mean_kib": round(my),
            "pct_per_hour": round(100 * slope / my, 2) if my else None}


def hours_table(samples: list[dict[str, Any]], verdicts: dict[str, Any], placed: list[dict[str, Any]],
                t_start: float) -> list[dict[str, Any]]:
    """One row per hour of the run (the last may be partial): call counts and, at the hour's end,
    process stats and file sizes with their growth over the hour."""
    if not samples:
        return []
    rows = []
    last_hour = int(samples[-1]["t_rel"] // 3600 - (1 if samples[-1]["t_rel"] % 3600 == 0 else 0))
    prev = samples[0]
    for h in range(last_hour + 1):
        in_h = [s for s in samples if h * 3600 < s["t_rel"] <= (h + 1) * 3600] or [prev]
        end = in_h[-1]
        row = {"hour": h + 1, "span_minutes": round((end["t_rel"] - max(h * 3600, 0)) / 60, 1),
               **window_counts(verdicts, placed, t_start + h * 3600, t_start + (h + 1) * 3600),
               "procs": {p: end["procs"].get(p) for p in PROCS},
               "sizes": end["sizes"], "growth": {k: end["sizes"][k] - prev["sizes"][k] for k in SIZES}}
        rows.append(row)
        prev = end
    return rows


def plan(samples: list[dict[str, Any]], entered: int, calls_per_day: int, hours: float) -> dict[str, Any]:
    """Disk growth a site should plan for: per call measured here, per day and per year at the
    measured rate and at ``calls_per_day``."""
    if not samples or not entered:
        return {}
    first, last = samples[0], samples[-1]
    span_h = max(1e-9, hours)   # the traffic's duration (the last sample also holds the drained calls)
    out: dict[str, Any] = {"calls_per_day_planned": calls_per_day,
                           "measured_calls_per_day": round(entered / hours * 24)}
    for k in SIZES:
        grown = last["sizes"][k] - first["sizes"][k]
        per_call = grown / entered
        out[k] = {"bytes_per_call": round(per_call), "bytes_per_hour_measured": round(grown / span_h),
                  "per_day_measured_mb": round(grown / span_h * 24 / 1e6, 1),
                  "per_day_planned_mb": round(per_call * calls_per_day / 1e6, 1),
                  "per_year_planned_gb": round(per_call * calls_per_day * 365 / 1e9, 1)}
    return out


def days_between(t0: float, t1: float, tz: str) -> list[str]:
    """The site-local days (YYYY-MM-DD) from epoch ``t0`` to ``t1``, both included."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo
    zone = ZoneInfo(tz)
    day, last = datetime.fromtimestamp(t0, zone).date(), datetime.fromtimestamp(t1, zone).date()
    out = []
    while day <= last:
        out.append(day.isoformat())
        day += timedelta(days=1)
    return out


def reconciliation_summary(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The reconciliation reports of the soak's days, summed: counts per side, calls per rule, the
    unexplained differences (the first 20 with their evidence) and the skipped log lines."""
    counts: dict[str, dict[str, int]] = {}
    rules: dict[str, int] = {}
    unexplained: list[Any] = []
    skipped = 0
    errors = [r for r in reports if "error" in r]
    for r in reports:
        if "error" in r:
            continue
        for fact, row in r["counts"].items():
            into = counts.setdefault(fact, {})
            for k, v in row.items():
                into[k] = into.get(k, 0) + v
        for name, n in r["rules"].items():
            rules[name] = rules.get(name, 0) + n
        unexplained += r["unexplained"]
        skipped += len(r["skipped"])
    return {"days": [r["day"] for r in reports], "counts": counts, "rules": rules,
            "unexplained": len(unexplained) + len(errors), "unexplained_calls": unexplained[:20],
            "skipped_lines": skipped, "errors": errors}


def targets(summary: dict[str, Any], slopes: dict[str, Any],
            stuck: list[dict[str, str]] | None = None) -> list[dict[str, Any]]:
    """``stuck``: the seat check after every call ended (amiwatch.seat_check), None before it ran."""
    out = []

    def add(name: str, target: str, value: Any, ok: bool | None) -> None:
        out.append({"name": name, "target": target, "value": value,
                    "result": "n/a" if ok is None else ("PASS" if ok else "FAIL")})
    add("lost records (entered per CEL - records, after settling)", "0", summary["lost"], summary["lost"] == 0)
    add("duplicate records", "0", summary["duplicates"], summary["duplicates"] == 0)
    add(f"stalls (no queue mark, or queue reached > {ROUTE_BOUND_S:g} s after arrival; sipp call failed)", "0",
        f"{summary['stalls']} + {summary['sipp_failed']}", summary["stalls"] == 0 and summary["sipp_failed"] == 0)
    add("stuck seats after every call ended (our seat state vs Asterisk's QueueStatus)", "0",
        None if stuck is None else len(stuck), None if stuck is None else not stuck)
    for p in PROCS:
        v = slopes.get(p, {}).get("pct_per_hour")
        add(f"{p} RSS growth after warm-up", f"< {RSS_GROWTH_MAX_PCT_H:g} %/h", v,
            None if v is None else v < RSS_GROWTH_MAX_PCT_H)
    return out


# -- README --------------------------------------------------------------------------------

def _mb(v: int | None) -> str:
    return "–" if v is None else f"{v / 1e6:.1f}"


def readme_section(res: dict[str, Any]) -> str:
    p, s = res["parameters"], res["summary"]
    lines = [f"Run `{res['run_id']}` (`{res['file']}`): {res['machine']['nproc']} × {res['machine']['cpu_model']}, "
             f"Asterisk {res.get('asterisk_version', '?')}; {p['hours']:g} h of traffic: Poisson arrivals at "
             f"{p['rate']:g} calls/s, talk {p['talk_min']:g}-{p['talk_max']:g} s (uniform, from the answer), "
             f"{p['abandon_share'] * 100:g} % callers hanging up after {p['abandon_min']:g}-{p['abandon_max']:g} s, "
             f"{p['seats']} seats (ring {p['ring_ms']} ms, echo RTP) logged in through the API with pause/logout "
             f"churn every ~{p['churn_seconds']:g} s, an API client every {p['api_seconds']:g} s, one wallboard SSE "
             f"stream; `/status` read only every {p['status_minutes']:g} min by the sampler; store "
             f"{'SQLite' if not p.get('redis') else 'SQLite, live state in Redis'}. Run took "
             f"{res.get('duration_seconds', 0):.0f} s.", ""]
    lines += ["| hour | placed | entered (CEL) | records | lost | dup | stalls | routing p99 ms | RSS MB ctl / agi / ast "
              "| fds ctl / agi / ast | threads ctl / agi / ast | CEL +MB | journal +MB | DB +MB | recordings +MB |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in res.get("hours", []):
        pr = r["procs"]

        def trio(key: str, div: float = 1.0, pr: dict[str, Any] = pr) -> str:
            return " / ".join("–" if not pr.get(k) else f"{pr[k].get(key, 0) / div:.0f}" for k in PROCS)
        g = r["growth"]
        partial = "" if r["span_minutes"] >= 59 else f" ({r['span_minutes']:g} min)"
        lines.append(f"| {r['hour']}{partial} | "
                     f"{r['placed']} | {r['entered']} | {r['recorded']} | {r['lost']} | {r['duplicates']} | "
                     f"{r['stalls']} + {r['sipp_failed']} | {r['routing_p99_ms']} | {trio('rss_kib', 1024)} | "
                     f"{trio('fds')} | {trio('threads')} | {_mb(g['cel_log'])} | {_mb(g['journal'])} | "
                     f"{_mb(g['database'])} | {_mb(g['recordings'])} |")
    lines += ["", f"Totals: {s['placed']} calls placed, {s['entered']} entered, {s['recorded']} records, {s['lost']} lost, "
              f"{s['pending']} still pending, {s['duplicates']} duplicates, {s['stalls']} stalls, {s['sipp_failed']} "
              f"sipp calls failed; routing (HOTLINE_ARRIVAL → HOTLINE_QUEUE) p50/p99/max {s['routing_p50_ms']}/"
              f"{s['routing_p99_ms']}/{s['routing_max_ms']} ms. Outcomes: {res.get('outcomes')}. Seat churn: "
              f"{res.get('churn')}. API client: {res.get('api_client')}. Wallboard stream: {res.get('sse')}.", ""]
    pl = res.get("plan") or {}
    if pl:
        lines += [f"Disk growth to plan for (per call as measured; at the measured {pl['measured_calls_per_day']} "
                  f"calls/day, and at {pl['calls_per_day_planned']} calls/day):", "",
                  "| file | bytes per call | per day, measured rate (MB) | per day, planned (MB) | per year, planned (GB) |",
                  "| --- | --- | --- | --- | --- |"]
        for k in SIZES:
            v = pl[k]
            lines.append(f"| {k} | {v['bytes_per_call']} | {v['per_day_measured_mb']} | {v['per_day_planned_mb']} | "
                         f"{v['per_year_planned_gb']} |")
        lines.append("")
    lines += ["| target | wanted | measured | result |", "| --- | --- | --- | --- |"]
    for t in res.get("targets", []):
        lines.append(f"| {t['name']} | {t['target']} | {t['value']} | {t['result']} |")
    lines += ["", f"Memory slope after a warm-up of {res.get('warmup_seconds', 0) / 60:.0f} min (least squares over "
              f"the samples): {res.get('rss_slopes')}."]
    return "\n".join(lines)


def write_readme(readme: Path, section: str) -> None:
    text = readme.read_text()
    start, end = "<!-- soak -->", "<!-- /soak -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        tail = rest.split(end, 1)[1]
        readme.write_text(f"{head}{start}\n{section}\n{end}{tail}")
    else:
        readme.write_text(text.rstrip("\n") + f"\n\n## Soak\n\n{start}\n{section}\n{end}\n")
