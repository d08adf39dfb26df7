#!/usr/bin/env python3
"""Seat truth under load: does the seat state we show agree with Asterisk's, and how late?

    .venv/bin/python bench/seat_truth.py                  # 20 seats, 3 calls/s for 120 s
    .venv/bin/python bench/seat_truth.py --seconds 30     # a short check of the script

Starts its own Asterisk, seat phones and controller (ports from HOTLINE_IT_SLOT, apart from the
integration rig, run_bench.py and the soak) and places calls through the trunk while seats are
paused and unpaused through the API. Three independent readers, none of them the controller:

* an AMI session as the controller's user (the same agent-class events): Asterisk's own events
  with their ``Timestamp``;
* the wallboard stream (``/api/live/stream``): when our view showed each seat change;
* a sampler every second: ``QueueStatus`` (members' Status/Paused/InCall/LastCall) against
  ``GET /api/seats``.

Measured: the lag of each state change behind Asterisk's event (p50/p99/max; states never shown:
``missed``), disagreements that last (the same seat in the same pair of states, ours unchanged, in
two samples a second apart), offers during wrap-up (an ``AgentCalled`` for a seat within its
queue's wrap-up after its ``AgentComplete``) and, after every call ended, stuck seats
(``hotline.seats.truth.stuck_seats``). Writes bench/results/<stamp>-seat_truth.json and
latest-seat_truth.json. Prints PASS/FAIL against the targets; never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import benchrig  # noqa: E402
from amiwatch import AmiWatch, LiveWatch, ami_list, seat_check  # noqa: E402
from benchrig import BenchStack, http_json, percentile, raise_nofile  # noqa: E402
from run_bench import git_info, machine_info  # noqa: E402

from hotline.config import parse_site  # noqa: E402
from hotline.seats.snapshot import SeatResolver  # noqa: E402
from hotline.seats.truth import Expectation, asterisk_states, disagreements, expected_states, state_lags  # noqa: E402

RESULTS = HERE / "results"
WORK = HERE / "work" / "seat_truth"
SLOT = int(os.environ.get("HOTLINE_IT_SLOT", "0"))
TARGETS = {"lag_p99_s": 1.0, "lasting_disagreements": 0, "wrapup_offers": 0, "stuck_seats": 0}
AGENT_EVENTS = ("AgentCalled", "AgentConnect", "AgentComplete", "AgentRingNoAnswer", "QueueMemberPause")


def bench_ports(slot: int) -> dict[str, int]:
    """50000 + 2000 x slot: apart from the rig (15xxx-20xxx), run_bench (25xxx-39xxx), the soak (35xxx-40xxx)."""
    b = 50000 + 2000 * slot
    return {"SIP_PORT": b + 60, "AMI_PORT": b + 38, "AGI_PORT": b + 73, "API_PORT": b + 80, "TRUNK_PORT": b + 70,
            "SEAT_PORT": b + 81, "SEAT_MEDIA": b + 90, "CALLER_MEDIA": b + 500, "CONTROL_PORT_BASE": b + 200,
            "RTP_START": b + 1000, "RTP_END": b + 1999}


def use_ports(ports: dict[str, int]) -> None:
    for name, value in ports.items():
        setattr(benchrig, name, value)


def log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)


def site_for(seats: int, wrapup: int, extra_queue: bool = False) -> dict[str, Any]:
    site = benchrig.site_dict(seats)
    site["site"]["name"] = "seat-truth"
    site["asterisk"].update(sip_port=benchrig.SIP_PORT, rtp_start=benchrig.RTP_START, rtp_end=benchrig.RTP_END,
                            ami={"port": benchrig.AMI_PORT}, fastagi={"port": benchrig.AGI_PORT})
    site["api"] = {"port": benchrig.API_PORT}
    site["trunks"][0]["port"] = benchrig.TRUNK_PORT
    site["queues"][0].update(wrapup=wrapup, ring_timeout=10)
    return site


class Sampler:
    """Every ``every`` s: QueueStatus and /api/seats; a disagreement lasts when the next sample has
    the seat in the same pair of states with our state unchanged (same ``since``)."""

    def __init__(self, stack: BenchStack, site: Any, every: float = 1.0) -> None:
        self.stack, self.site, self.every = stack, site, every
        self.resolver = SeatResolver(site)
        self.samples = 0
        self.seen = 0
        self.lasting: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self._prev: dict[str, tuple[str, str, float]] = {}

    def once(self) -> None:
        assert self.stack.paths is not None
        now = time.time()
        msgs = ami_list(benchrig.AMI_PORT, "hotline", self.stack.paths.ami_secret(), {"Action": "QueueStatus"})
        theirs = asterisk_states(msgs, self.resolver, [s.id for s in self.site.seats],
                                 [q.name for q in self.site.queues], {q.name: q.wrapup for q in self.site.queues}, now)
        code, body = http_json("GET", f"{self.stack.api}/api/seats")
        if code != 200:
            raise RuntimeError(f"/api/seats: {code}")
        views = {v["seat_id"]: v for v in body["items"]}
        cur: dict[str, tuple[str, str, float]] = {}
        for d in disagreements(views.values(), theirs):
            self.seen += 1
            key = (d.ours, d.asterisk, float(views[d.seat_id]["since"]))
            cur[d.seat_id] = key
            if self._prev.get(d.seat_id) == key:
                self.lasting.append({"at": round(now, 3), **d.as_dict()})
        self._prev = cur
        self.samples += 1

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.once()
            except Exception as exc:   # noted, never fatal
                self.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            stop.wait(self.every)


def pause_churn(stack: BenchStack, seats: list[str], stop: threading.Event, every: float, counts: dict[str, int]) -> None:
    """Pause a random seat through the API for a few seconds, then unpause it: the supervisor's hand."""
    rnd = random.Random(7)

    def count(what: str, code: int) -> None:
        key = what if code == 200 else f"{what}_{code}"
        counts[key] = counts.get(key, 0) + 1

    while not stop.wait(every):
        seat = rnd.choice(seats)
        count("pause", post(stack, f"/api/seats/{seat}/pause", {"reason": "break"})[0])
        stop.wait(rnd.uniform(1.0, 4.0))
        count("unpause", post(stack, f"/api/seats/{seat}/unpause", None)[0])


def post(stack: BenchStack, path: str, body: Any) -> tuple[int, Any]:
    import urllib.error
    import urllib.request
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{stack.api}{path}", data=data, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def wrapup_offers(events: list[tuple[float, dict[str, str]]], resolver: SeatResolver,
                  wrapup_s: dict[str, int]) -> list[dict[str, Any]]:
    """AgentCalled for a seat within its wrap-up (Asterisk's own events: AgentComplete's time + the queue's wrap-up)."""
    until: dict[str, tuple[float, float]] = {}
    out = []
    for _, h in sorted(events, key=lambda e: float(e[1].get("Timestamp") or 0)):
        seat, t = resolver.seat_of(h), float(h.get("Timestamp") or 0)
        if seat is None:
            continue
        if h.get("Event") == "AgentComplete":
            until[seat] = (t, t + wrapup_s.get(h.get("Queue", ""), 0))
        elif h.get("Event") == "AgentCalled" and seat in until and t < until[seat][1] - 0.05:
            out.append({"seat_id": seat, "called_at": t, "completed_at": until[seat][0],
                        "into_wrapup_s": round(t - until[seat][0], 3)})
    return out


def lag_summary(events: list[tuple[float, dict[str, str]]], shown: dict[str, list[tuple[float, str]]],
                resolver: SeatResolver, wrapup_s: dict[str, int]) -> dict[str, Any]:
    exps = []
    for _, h in events:
        states = expected_states(h, wrapup_s)
        seat = resolver.seat_of(h)
        if states is not None and seat is not None and h.get("Timestamp"):
            exps.append(Expectation(float(h["Timestamp"]), seat, states, h["Event"]))
    rep = state_lags(exps, shown)
    by_event: dict[str, int] = {}
    for e in exps:
        by_event[e.event] = by_event.get(e.event, 0) + 1
    lags = rep.lags
    return {"expectations": len(exps), "by_event": by_event, "matched": len(lags), "missed": len(rep.missed),
            "missed_examples": [{"seat_id": e.seat_id, "event": e.event, "at": e.at, "states": sorted(e.states)}
                                for e in rep.missed[:10]],
            "lag_p50_s": round(percentile(lags, 50), 4) if lags else None,
            "lag_p99_s": round(percentile(lags, 99), 4) if lags else None,
            "lag_max_s": round(max(lags), 4) if lags else None,
            "worst": [{"lag_s": round(lag, 3), "seat_id": e.seat_id, "event": e.event} for lag, e in rep.worst]}


def run(a: argparse.Namespace) -> dict[str, Any]:
    use_ports(bench_ports(SLOT))
    raise_nofile()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    site_d = site_for(a.seats, a.wrapup)
    stack = BenchStack(name="seat-truth", state_dir=WORK / "state", log_dir=WORK / "log", seats=a.seats, full=True,
                       site=site_d, say=log)
    res: dict[str, Any] = {"run_id": stamp, "machine": machine_info(), "git": git_info(), "parameters": vars(a),
                           "slot": SLOT, "targets": TARGETS}
    stop = threading.Event()
    ami = live = None
    try:
        stack.build()
        stack.start_controller()
        stack.start_seats(scenario="seat_uas.xml")
        assert stack.paths is not None and stack.site_file is not None
        import yaml
        site = parse_site(yaml.safe_load(stack.site_file.read_text()), str(stack.site_file))
        resolver, wrapup_s = SeatResolver(site), {q.name: q.wrapup for q in site.queues}
        ami = AmiWatch(benchrig.AMI_PORT, "hotline", stack.paths.ami_secret())
        live = LiveWatch(stack.api)
        sampler = Sampler(stack, site)
        churn: dict[str, int] = {}
        threads = [threading.Thread(target=sampler.run, args=(stop,), daemon=True),
                   threading.Thread(target=pause_churn, args=(stack, [s.id for s in site.seats], stop, a.pause_every,
                                                              churn), daemon=True)]
        for t in threads:
            t.start()
        log(f"load: {a.rate:g} calls/s for {a.seconds:g} s, talk {a.talk_ms} ms, {a.seats} seats, wrap-up {a.wrapup} s")
        res["calls"] = stack.run_calls("load", a.rate, a.seconds, a.talk_ms, "13900000000")
        stop.set()
        for t in threads:
            t.join(15)
        stack.wait_idle(120)
        time.sleep(a.wrapup + 1.5)   # every wrap-up over: the check that follows has no call state left
        stuck = seat_check(site, benchrig.AMI_PORT, "hotline", stack.paths.ami_secret(),
                           lambda: http_json("GET", f"{stack.api}/api/seats")[1]["items"])
        events = ami.take(AGENT_EVENTS)
        res.update({
            "lag": lag_summary(events, live.take(), resolver, wrapup_s),
            "samples": sampler.samples, "disagreements_seen": sampler.seen,
            "lasting_disagreements": len(sampler.lasting), "lasting_examples": sampler.lasting[:20],
            "sampler_errors": sampler.errors[:10], "pause_churn": churn,
            "wrapup_offers": wrapup_offers(events, resolver, wrapup_s),
            "stuck_seats": [d.as_dict() for d in stuck],
            "agent_events": len(events), "ami_error": ami.error, "live_error": live.error,
        })
        res["verdict"] = verdict(res)
    finally:
        stop.set()
        for w in (ami, live):
            if w is not None:
                w.close()
        stack.copy_asterisk_logs()
        stack.close()
    return res


def verdict(res: dict[str, Any]) -> list[dict[str, Any]]:
    lag = res["lag"]["lag_p99_s"]
    rows = [("lag_p99_s", lag, lag is not None and lag <= TARGETS["lag_p99_s"] and res["lag"]["missed"] == 0),
            ("lasting_disagreements", res["lasting_disagreements"], res["lasting_disagreements"] == 0),
            ("wrapup_offers", len(res["wrapup_offers"]), not res["wrapup_offers"]),
            ("stuck_seats", len(res["stuck_seats"]), not res["stuck_seats"])]
    return [{"name": n, "value": v, "target": TARGETS[n], "result": "PASS" if ok else "FAIL"} for n, v, ok in rows]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seats", type=int, default=20)
    ap.add_argument("--rate", type=float, default=3.0, help="calls per second")
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--talk-ms", type=int, default=8000, help="the caller hangs up this long after Asterisk answers")
    ap.add_argument("--wrapup", type=int, default=2, help="the queue's wrap-up, seconds")
    ap.add_argument("--pause-every", type=float, default=3.0, help="a seat paused through the API this often (s)")
    a = ap.parse_args(argv)
    res = run(a)
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(res, indent=1, ensure_ascii=False, default=str)
    for f in (RESULTS / f"{res['run_id']}-seat_truth.json", RESULTS / "latest-seat_truth.json"):
        f.write_text(text)
    for v in res.get("verdict", []):
        log(f"{v['result']:>4}  {v['name']}: {v['value']} (target {v['target']})")
    log(f"lag p50 {res['lag']['lag_p50_s']} s, p99 {res['lag']['lag_p99_s']} s, missed {res['lag']['missed']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
