#!/usr/bin/env python3
"""Fairness across queues: a few seats serving two queues (the hotline queue and a merged
number's queue); do they take callers by priority, then arrival, across both?

    .venv/bin/python bench/fairness.py                 # both configurations, 120 s of calls each
    .venv/bin/python bench/fairness.py --seconds 30    # a short check of the script

Two configurations on the same load, each with its own Asterisk and controller (ports from
HOTLINE_IT_SLOT, the same as bench/seat_truth.py: run one at a time):

* ``queues``: the merged number's queue is an Asterisk queue of its own (the seats are members of
  both);
* ``line``: the merged number's queue waits in the hotline queue's line (``Queue.line``), one
  Asterisk queue, the queue's name kept on the records.

Load: callers to 12345 (priority 0), to the merged number (priority 0) and to a number diverted
from 110 (priority 20, hotline queue), each stream from its own sipp with its own caller number
(the stream gives the priority; repeat-caller priority is off), waiting until the seat hangs up;
3 seats (ring 200 ms, talk 2-4 s), strategy ringall (every free seat rings: the race of one call
answered by two seats). Measured from Asterisk's own AMI events (an AMI session of the checker):
at each offer (``AgentCalled``) of a seat to a caller, a caller waiting in a queue the seat serves
at least ``--grace`` s, not being offered to any seat at that moment, with a higher priority (a
priority inversion) or the same priority and an earlier arrival (an arrival-order inversion); calls
answered by two seats (two ``AgentConnect`` for one caller). Writes
bench/results/<stamp>-fairness.json and latest-fairness.json; never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import benchrig  # noqa: E402
from amiwatch import AmiWatch  # noqa: E402
from benchrig import SIPP_DIR, BenchStack, raise_nofile  # noqa: E402
from run_bench import git_info, machine_info  # noqa: E402
from seat_truth import SLOT, bench_ports, log, use_ports  # noqa: E402

RESULTS = HERE / "results"
WORK = HERE / "work" / "fairness"
MERGED, DIVERTED, PRIO_110 = "83530009", "85110110", 20
# stream: (dialled number, caller number, priority)
STREAMS = {"hotline": ("12345", "13910000001", 0), "merged": (MERGED, "13920000002", 0),
           "diverted": (DIVERTED, "13930000003", PRIO_110)}


def site_for(seats: int, lined: bool) -> dict[str, Any]:
    site = benchrig.site_dict(seats)
    site["site"]["name"] = "fairness"
    site["queues"] = [{"name": "hotline", "strategy": "ringall", "ring_timeout": 10},
                      {"name": "mq", "strategy": "ringall", "ring_timeout": 10, **({"line": "hotline"} if lined else {})}]
    for s in site["seats"]:
        s["queues"] = ["hotline", "mq"]
    site["departments"] = [{"id": "chengjian", "name": "城建局", "queue": "mq"}]
    site["legacy_numbers"] = [{"number": MERGED, "mode": "merged", "department": "chengjian"}]
    site["diversion_110"] = {"numbers": [DIVERTED], "priority": PRIO_110}
    site["repeat_caller"] = {"priority": 0}
    return site


def seat_scenario(talk_min_ms: int, talk_max_ms: int) -> Path:
    """seat_talks_uas.xml with a shorter talk time."""
    text = (SIPP_DIR / "seat_talks_uas.xml").read_text()
    text = re.sub(r'<pause distribution="uniform" min="\d+" max="\d+"/>',
                  f'<pause distribution="uniform" min="{talk_min_ms}" max="{talk_max_ms}"/>', text)
    WORK.mkdir(parents=True, exist_ok=True)
    out = WORK / "seat_talks_short.xml"
    out.write_text(text)
    return out


def start_stream(stack: BenchStack, k: int, number: str, caller: str, every_ms: int, seconds: float) -> subprocess.Popen[bytes]:
    """One call every ``every_ms`` for ``seconds``: callers who wait until the seat hangs up."""
    port, media = benchrig.TRUNK_PORT + 1 + k, benchrig.CALLER_MEDIA + 100 * (k + 1)
    calls = max(1, int(seconds * 1000 // every_ms))
    return subprocess.Popen(
        ["sipp", "-sf", str(SIPP_DIR / "caller_waits.xml"), "-i", benchrig.TRUNK_IP, "-p", str(port), "-mp", str(media),
         "-s", number, "-key", "caller", caller, "-r", "1", "-rp", str(every_ms), "-m", str(calls), "-l", "200",
         "-nostdin", "-cp", str(benchrig.CONTROL_PORT_BASE + 50 + k), "-timeout", str(int(seconds) + 600),
         "-trace_err", "-error_file", str(stack.log_dir / f"caller-{k}-errors.log"), f"127.0.0.1:{benchrig.SIP_PORT}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=stack.log_dir)


def judge(events: list[dict[str, str]], grace: float, keep: int = 10) -> dict[str, Any]:
    """Inversions at each offer and double answers, from Asterisk's agent and caller events."""
    prio_of = {caller: prio for _, caller, prio in STREAMS.values()}
    stream_of = {caller: name for name, (_, caller, _) in STREAMS.items()}
    waiting: dict[str, tuple[float, int, str]] = {}     # caller uniqueid -> (arrival, priority, queue)
    offered: dict[str, set[str]] = {}                   # caller uniqueid -> seats ringing for it
    connects: dict[str, int] = {}
    out: dict[str, Any] = {"offers": 0, "priority_inversions": 0, "arrival_inversions": 0, "joined": 0,
                           "answered": 0, "abandoned": 0, "by_stream": {}, "examples": []}
    for h in sorted(events, key=lambda h: float(h.get("Timestamp") or 0)):
        name, uid, t = h.get("Event"), h.get("Uniqueid", ""), float(h.get("Timestamp") or 0)
        if name == "QueueCallerJoin":
            caller = h.get("CallerIDNum", "")
            waiting[uid] = (t, prio_of.get(caller, 0), h.get("Queue", ""))
            out["joined"] += 1
            s = stream_of.get(caller, "?")
            out["by_stream"][s] = out["by_stream"].get(s, 0) + 1
        elif name in ("QueueCallerLeave", "QueueCallerAbandon"):
            waiting.pop(uid, None)
            offered.pop(uid, None)
            out["abandoned"] += name == "QueueCallerAbandon"
        elif name == "AgentRingNoAnswer":
            offered.get(uid, set()).discard(h.get("MemberName", ""))
        elif name == "AgentConnect":
            connects[uid] = connects.get(uid, 0) + 1
            out["answered"] += 1
        elif name == "AgentCalled" and uid in waiting:
            out["offers"] += 1
            offered.setdefault(uid, set()).add(h.get("MemberName", ""))
            arrival, prio, queue = waiting[uid]
            ahead = [(w, a, p, q) for w, (a, p, q) in waiting.items()
                     if w != uid and not offered.get(w) and a < t - grace]
            kind = None
            if any(p > prio for _, _, p, _ in ahead):
                kind = "priority"
            elif any(p == prio and a < arrival for _, a, p, _ in ahead):
                kind = "arrival"
            if kind:
                out[f"{kind}_inversions"] += 1
                if len(out["examples"]) < keep:
                    first = min(ahead, key=lambda x: (-x[2], x[1]))
                    out["examples"].append({"kind": kind, "at": t, "seat": h.get("MemberName"), "offered_queue": queue,
                                            "offered_priority": prio, "offered_waited_s": round(t - arrival, 2),
                                            "passed_over_queue": first[3], "passed_over_priority": first[2],
                                            "passed_over_waited_s": round(t - first[1], 2)})
    out["double_answers"] = sum(1 for n in connects.values() if n > 1)
    return out


def run_config(a: argparse.Namespace, lined: bool) -> dict[str, Any]:
    name = "line" if lined else "queues"
    stack = BenchStack(name=f"fairness-{name}", state_dir=WORK / name / "state", log_dir=WORK / name / "log",
                       seats=a.seats, full=True, site=site_for(a.seats, lined), say=log)
    ami = None
    streams: list[subprocess.Popen[bytes]] = []
    res: dict[str, Any] = {"config": name}
    try:
        stack.build()
        stack.start_controller()
        stack.start_seats(scenario=str(seat_scenario(a.talk_min_ms, a.talk_max_ms)))
        assert stack.paths is not None
        ami = AmiWatch(benchrig.AMI_PORT, "hotline", stack.paths.ami_secret())
        every = {"hotline": a.every_ms, "merged": a.every_ms, "diverted": a.every_ms * 4}
        log(f"[{name}] load: {a.seconds:g} s, a call every {every} ms, {a.seats} seats")
        for k, (stream, (number, caller, _)) in enumerate(STREAMS.items()):
            streams.append(start_stream(stack, k, number, caller, every[stream], a.seconds))
        for p in streams:
            p.wait(a.seconds + 900)
        stack.wait_idle(120)
        events = [h for _, h in ami.take()]
        res.update(judge(events, a.grace))
        res["sipp_exit"] = [p.returncode for p in streams]
    finally:
        for p in streams:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        if ami is not None:
            ami.close()
        stack.copy_asterisk_logs()
        stack.close()
    log(f"[{name}] offers {res.get('offers')}, priority inversions {res.get('priority_inversions')}, arrival "
        f"inversions {res.get('arrival_inversions')}, double answers {res.get('double_answers')}")
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seats", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--every-ms", type=int, default=2500, help="a call to 12345 and to the merged number this often (110: 4x)")
    ap.add_argument("--talk-min-ms", type=int, default=2000)
    ap.add_argument("--talk-max-ms", type=int, default=4000)
    ap.add_argument("--grace", type=float, default=0.25, help="a caller passed over must have waited this long (s)")
    ap.add_argument("--only", choices=["queues", "line"])
    a = ap.parse_args(argv)
    use_ports(bench_ports(SLOT))
    raise_nofile()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    res: dict[str, Any] = {"run_id": stamp, "machine": machine_info(), "git": git_info(), "parameters": vars(a),
                           "slot": SLOT, "streams": STREAMS, "configs": {}}
    for lined in (False, True):
        if a.only and a.only != ("line" if lined else "queues"):
            continue
        res["configs"]["line" if lined else "queues"] = run_config(a, lined)
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(res, indent=1, ensure_ascii=False, default=str)
    for f in (RESULTS / f"{stamp}-fairness.json", RESULTS / "latest-fairness.json"):
        f.write_text(text)
    for name, r in res["configs"].items():
        ok = r["priority_inversions"] == 0 and r["arrival_inversions"] == 0 and r["double_answers"] == 0
        log(f"{'PASS' if ok else 'FAIL'}  {name}: priority {r['priority_inversions']}, arrival "
            f"{r['arrival_inversions']}, double answers {r['double_answers']} ({r['offers']} offers)")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
