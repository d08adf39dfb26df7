#!/usr/bin/env python3
"""A 回访 campaign while inbound calls are served: does it lower the inbound 15 s answer rate?

    .venv/bin/python bench/revisit_campaign.py                  # 50 回访 calls, cap 5, 300 s of inbound load twice
    .venv/bin/python bench/revisit_campaign.py --seconds 60 --orders 10   # a short check of the script

One Asterisk and controller (ports from HOTLINE_IT_SLOT, bench/seat_truth.py's ``bench_ports``),
seats answering through one sipp UAS (talk ``--talk-min-ms``..``--talk-max-ms``), and the same
inbound load twice: callers to 12345 from the carrier trunk, one every ``--every-ms`` for
``--seconds``, each from its own number, waiting until a seat hangs up (no abandon).

1. **baseline**: the inbound load alone;
2. from its answered calls, ``--orders`` orders are filed, dispatched, signed and replied to (the API,
   as a seat and a unit user): no task yet (a task follows ``verify``);
3. **campaign**: the same inbound load again; after ``--warmup`` s the orders are verified at once,
   so the controller's 回访 service (``revisits.enabled``, ``max_concurrent`` = ``--cap``, ``tries``
   = ``--tries`` ``spacing_minutes`` apart, on the real clock, quiet hours all day) makes 50 tasks
   and dials them. One sipp UAS on the trunk's contact (``tests/sipp/revisit_phones_by_number.xml``)
   is every caller's phone; the last digit of the number dialled picks its answer: 9 busy (every
   try), 0 presses 0 (a seat: the seat's rating is then recorded by hand through the API),
   1-4/5-6/7-8 press 1/2/3.

Measured: the inbound KPIs of each phase from the controller's records (``GET /api/metrics`` over the
phase and, as a check, recomputed from ``GET /api/calls``: calls with ``queued_at``, 回访 tries
have none); the campaign's concurrency, sampled from Asterisk every 0.25 s (channels whose
accountcode starts ``rv-``) and computed from the tries' records (overlap of their start..end); each
task's status, tries and results. Writes bench/results/<stamp>-revisit_campaign.json and
latest-revisit_campaign.json; never asserts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import benchrig  # noqa: E402
from benchrig import SIPP_DIR, BenchStack, raise_nofile, wait_for  # noqa: E402
from run_bench import git_info, machine_info  # noqa: E402
from seat_truth import SLOT, bench_ports, log, site_for as base_site, use_ports  # noqa: E402

from hotline.auth.passwords import hash_password  # noqa: E402
from hotline.config import parse_site  # noqa: E402
from hotline.deploy import generate_config  # noqa: E402

RESULTS = HERE / "results"
WORK = HERE / "work" / "revisit_campaign"
USERS = {"admin": ("admin", None, "bench-admin"), "seat7000": ("seat", "7000", "bench-seat"),
         "renshe1": ("unit", None, "bench-unit")}
BASE_NUMBERS = {"baseline": 13911000000, "campaign": 13922000000}
PHONES = "revisit_phones_by_number.xml"


class Api:
    """JSON over HTTP as one of USERS (logged in on first use)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.tokens: dict[str, str] = {}

    def raw(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def __call__(self, method: str, path: str, body: Any = None, user: str = "admin", expect: int = 200) -> Any:
        if user not in self.tokens:
            code, session = self.raw("POST", "/api/login", {"name": user, "password": USERS[user][2]})
            if code != 200:
                raise RuntimeError(f"login as {user}: {code} {session}")
            self.tokens[user] = session["token"]
        code, answer = self.raw(method, path, body, self.tokens[user])
        if code != expect:
            raise RuntimeError(f"{method} {path} as {user}: {code} {answer}")
        return answer


def site_for(a: argparse.Namespace) -> dict[str, Any]:
    site = base_site(a.seats, wrapup=0)
    site["site"].update(name="revisit-campaign", timezone="Asia/Shanghai")
    site["queues"][0].update(ring_timeout=10)
    site["repeat_caller"] = {"priority": 0}
    site["users"] = [{"name": name, "role": role, **({"seat": seat} if seat else {}), **({"unit": "renshe"}
                      if role == "unit" else {}), "password_hash": hash_password(pw, iterations=1000)}
                     for name, (role, seat, pw) in USERS.items()]
    site["orders"] = {"units": [{"id": "renshe", "name": "人社局", "leader": {"name": "王局长", "phone": "13800000001"}}]}
    site["revisits"] = {"enabled": True, "hours": {"start": "00:00", "end": "23:59"}, "max_concurrent": a.cap,
                        "tries": a.tries, "spacing_minutes": a.spacing_minutes, "ring_seconds": 10,
                        "queue": "hotline", "dtmf_timeout_seconds": 5}
    return site


def build(stack: BenchStack) -> None:
    """BenchStack.build with the prompts (the 回访 survey's too) rendered and deployed."""
    stack.build()
    assert stack.paths is not None and stack.runtime is not None and stack.site_file is not None
    site = parse_site(yaml.safe_load(stack.site_file.read_text()), str(stack.site_file))
    generate_config(site, stack.paths)
    stack.runtime.deploy(stack.paths.generated_dir, stack.paths.sounds_dir, systemname=site.site.node)
    stack.cli("dialplan reload")
    stack.cli("module reload res_pjsip.so")


def callers(stack: BenchStack, phase: str, count: int) -> tuple[Path, Path]:
    """caller_waits.xml calling from [field0], and the injection file of ``count`` numbers."""
    text = (SIPP_DIR / "caller_waits.xml").read_text().replace("[caller]", "[field0]")
    scenario = stack.log_dir / "caller_waits_numbered.xml"
    scenario.write_text(text)
    inf = stack.log_dir / f"callers-{phase}.csv"
    inf.write_text("SEQUENTIAL\n" + "".join(f"{BASE_NUMBERS[phase] + i};\n" for i in range(1, count + 1)))
    return scenario, inf


def inbound(stack: BenchStack, a: argparse.Namespace, phase: str) -> subprocess.Popen[bytes]:
    count = max(1, int(a.seconds * 1000 // a.every_ms))
    scenario, inf = callers(stack, phase, count)
    return subprocess.Popen(
        ["sipp", "-sf", str(scenario), "-inf", str(inf), "-i", benchrig.TRUNK_IP, "-p", str(benchrig.TRUNK_PORT + 1),
         "-mp", str(benchrig.CALLER_MEDIA), "-s", benchrig.HOTLINE_NUMBER, "-r", "1", "-rp", str(a.every_ms),
         "-m", str(count), "-l", "200", "-nostdin", "-cp", str(benchrig.CONTROL_PORT_BASE + 50),
         "-timeout", str(int(a.seconds) + 600), "-trace_err", "-error_file", str(stack.log_dir / f"inbound-{phase}.err"),
         "-trace_stat", "-stf", str(stack.log_dir / f"inbound-{phase}.csv"), "-fd", "5",
         f"127.0.0.1:{benchrig.SIP_PORT}"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=stack.log_dir)


def phones(stack: BenchStack) -> subprocess.Popen[bytes]:
    p = subprocess.Popen(["sipp", "-sf", str(SIPP_DIR / PHONES), "-i", benchrig.TRUNK_IP, "-p", str(benchrig.TRUNK_PORT),
                          "-mp", str(benchrig.CALLER_MEDIA + 300), "-rtp_echo", "-nostdin",
                          "-cp", str(benchrig.CONTROL_PORT_BASE + 60), "-trace_err",
                          "-error_file", str(stack.log_dir / "phones.err")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=stack.log_dir)
    time.sleep(0.5)
    if p.poll() is not None:
        raise RuntimeError(f"the 回访 phones' UAS exited with {p.returncode}; see {stack.log_dir}/phones.err")
    return p


class Concurrency:
    """Asterisk's channels of 回访 tries (accountcode rv-…), sampled every ``every`` s."""

    def __init__(self, stack: BenchStack, every: float = 0.25) -> None:
        self.stack, self.every = stack, every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            out = self.stack.cli("core show channels concise")
            tries = {m.group(1) for m in re.finditer(r"!(rv-\d+-\d+)-\d+!", out)}
            self.samples.append((time.time(), len(tries)))

    def __enter__(self) -> "Concurrency":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(10)


def records(api: Api, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    q = urllib.parse.urlencode({"start": start.isoformat(), "end": end.isoformat(), "limit": 500})
    items: list[dict[str, Any]] = []
    while True:
        body = api("GET", f"/api/calls?{q}&offset={len(items)}")
        items += body["items"]
        if not body["items"] or len(items) >= body["total"]:
            return items


def inbound_kpis(api: Api, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    q = urllib.parse.urlencode({"start": start.isoformat(), "end": end.isoformat(), "by": "all"})
    metrics = api("GET", f"/api/metrics?{q}")
    mine = [r for r in records(api, start, end) if r.get("queued_at")]
    answered = [r for r in mine if r.get("answered_at")]
    waits = sorted(float(r.get("wait_seconds") or 0) for r in answered)
    return {"metrics": metrics, "offered": len(mine), "answered": len(answered),
            "answered_in_15s": sum(1 for w in waits if w <= 15),
            "answer_rate_15s": round(sum(1 for w in waits if w <= 15) / len(mine), 4) if mine else None,
            "wait_p50_s": waits[len(waits) // 2] if waits else None, "wait_max_s": waits[-1] if waits else None}


def phase(stack: BenchStack, api: Api, a: argparse.Namespace, name: str, orders: list[str] | None = None) -> dict[str, Any]:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    log(f"[{name}] inbound: a call every {a.every_ms} ms for {a.seconds:g} s")
    caller = inbound(stack, a, name)
    out: dict[str, Any] = {}
    if orders:
        time.sleep(a.warmup)
        t0 = time.time()
        for oid in orders:
            api("POST", f"/api/work-orders/{oid}/verify", {})
        log(f"[{name}] {len(orders)} orders verified: the campaign starts")
        done = wait_for("the campaign's tasks closed", lambda: campaign_done(api, orders), timeout=a.seconds + 900,
                        interval=2)
        out["campaign_seconds"] = round(time.time() - t0, 1)
        log(f"[{name}] campaign over in {out['campaign_seconds']} s: {Counter(t['status'] for t in done)}")
    caller.wait(a.seconds + 900)
    stack.wait_idle(120)
    end = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    out["inbound"] = inbound_kpis(api, start, end)
    out["inbound"]["sipp"] = benchrig.parse_stat_csv(stack.log_dir / f"inbound-{name}.csv")
    out["window"] = [start.isoformat(), end.isoformat()]
    log(f"[{name}] inbound 15 s answer rate {out['inbound']['answer_rate_15s']} "
        f"({out['inbound']['answered_in_15s']}/{out['inbound']['offered']}), wait p50 {out['inbound']['wait_p50_s']} s")
    return out


def campaign_done(api: Api, orders: list[str]) -> list[dict[str, Any]] | None:
    """The orders' tasks once none is pending or dialling (with_seat ones rated by the seat here)."""
    tasks = [t for t in api("GET", "/api/revisits?limit=500")["items"] if t["work_order_id"] in set(orders)]
    for t in tasks:
        if t["status"] == "with_seat":
            rating = "basically_satisfied"
            api("POST", f"/api/revisits/{t['id']}/rating", {"rating": rating}, user="seat7000")
    if len(tasks) < len(orders) or any(t["status"] in ("pending", "dialling", "with_seat") for t in tasks):
        return None
    return tasks


def replied_orders(api: Api, recs: list[dict[str, Any]], n: int) -> list[str]:
    """``n`` orders from answered inbound calls, each of another caller, up to ``reply``."""
    chosen = sorted((r for r in recs if r.get("answered_at")), key=lambda r: r["caller_number"])[:n]
    ids = []
    for r in chosen:
        filed = api("POST", "/api/work-orders", {"call_ids": [r["call_id"]], "title": "路灯不亮", "description": "小区路灯不亮",
                                                 "category": "help", "created_by": "7000", "urgency": "normal"},
                    user="seat7000", expect=201)
        oid = str(filed["id"])
        api("POST", f"/api/work-orders/{oid}/dispatch", {"unit": "renshe"})
        api("POST", f"/api/work-orders/{oid}/sign", {}, user="renshe1")
        api("POST", f"/api/work-orders/{oid}/reply", {"result": "已修复"}, user="renshe1")
        ids.append(oid)
    return ids


def summary(api: Api, orders: list[str], recs: list[dict[str, Any]], samples: list[tuple[float, int]],
            cap: int) -> dict[str, Any]:
    tasks = [t for t in api("GET", "/api/revisits?limit=500")["items"] if t["work_order_id"] in set(orders)]
    tries = [x for t in tasks for x in t["tries"]]
    by_id = {r["call_id"]: r for r in recs}
    spans = [(by_id[x["call_id"]]["arrived_at"], by_id[x["call_id"]]["ended_at"]) for x in tries
             if x["call_id"] in by_id and by_id[x["call_id"]].get("ended_at")]
    edges = sorted([(dt.datetime.fromisoformat(s), 1) for s, _ in spans]
                   + [(dt.datetime.fromisoformat(e), -1) for _, e in spans], key=lambda p: (p[0], p[1]))
    level = peak = 0
    for _, step in edges:
        level += step
        peak = max(peak, level)
    sampled = max((n for _, n in samples), default=0)
    return {"tasks": len(tasks), "status": dict(Counter(t["status"] for t in tasks)),
            "ratings": dict(Counter(t["rating"] for t in tasks if t["rating"])),
            "rated_by_seat": sum(1 for t in tasks if t["seat"]),
            "tries": len(tries), "tries_per_task": dict(Counter(str(t["attempts"]) for t in tasks)),
            "try_results": dict(Counter(x["result"] for x in tries)),
            "try_records_found": len(spans), "cap": cap, "peak_concurrent_sampled": sampled,
            "peak_concurrent_from_records": peak, "samples": len(samples),
            "over_cap": sampled > cap or peak > cap}


def run(a: argparse.Namespace) -> dict[str, Any]:
    use_ports(bench_ports(SLOT))
    raise_nofile()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    res: dict[str, Any] = {"run_id": stamp, "machine": machine_info(), "git": git_info(), "parameters": vars(a),
                           "slot": SLOT}
    stack = BenchStack(name="revisit-campaign", state_dir=WORK / "state", log_dir=WORK / "log", seats=a.seats,
                       full=True, site=site_for(a), say=log)
    phone: subprocess.Popen[bytes] | None = None
    try:
        build(stack)
        stack.start_controller()
        api = Api(stack.api)
        api("GET", "/api/seats")
        stack.start_seats(scenario=str(seat_scenario(stack, a)), wait_members=False)
        for seat in benchrig.seat_ids(a.seats):
            api("POST", f"/api/seats/{seat}/login")
        wait_for("seats in the queue", lambda: stack.cli("queue show hotline").count("(Not in use)") >= a.seats,
                 timeout=60, interval=1)
        res["baseline"] = phase(stack, api, a, "baseline")
        start, end = (dt.datetime.fromisoformat(x) for x in res["baseline"]["window"])
        orders = replied_orders(api, records(api, start, end), a.orders)
        log(f"{len(orders)} orders replied to (waiting for verify)")
        phone = phones(stack)
        with Concurrency(stack) as conc:
            res["campaign"] = phase(stack, api, a, "campaign", orders)
        start, end = (dt.datetime.fromisoformat(x) for x in res["campaign"]["window"])
        res["campaign"]["revisits"] = summary(api, orders, records(api, start, end), conc.samples, a.cap)
        res["status"] = stack.status().get("revisits")
    finally:
        if phone is not None and phone.poll() is None:
            phone.terminate()
            phone.wait(10)
        stack.copy_asterisk_logs()
        stack.close()
    b, c = res["baseline"]["inbound"], res["campaign"]["inbound"]
    res["answer_rate_15s"] = {"baseline": b["answer_rate_15s"], "campaign": c["answer_rate_15s"]}
    return res


def seat_scenario(stack: BenchStack, a: argparse.Namespace) -> Path:
    text = (SIPP_DIR / "seat_talks_uas.xml").read_text()
    text = re.sub(r'<pause distribution="uniform" min="\d+" max="\d+"/>',
                  f'<pause distribution="uniform" min="{a.talk_min_ms}" max="{a.talk_max_ms}"/>', text)
    stack.log_dir.mkdir(parents=True, exist_ok=True)
    out = stack.log_dir / "seat_talks.xml"
    out.write_text(text)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seats", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=300.0, help="each phase's inbound load")
    ap.add_argument("--every-ms", type=int, default=1900, help="an inbound call this often")
    ap.add_argument("--talk-min-ms", type=int, default=4000)
    ap.add_argument("--talk-max-ms", type=int, default=8000)
    ap.add_argument("--orders", type=int, default=50)
    ap.add_argument("--cap", type=int, default=5, help="revisits.max_concurrent")
    ap.add_argument("--tries", type=int, default=2)
    ap.add_argument("--spacing-minutes", type=int, default=1)
    ap.add_argument("--warmup", type=float, default=10.0, help="s of inbound load before the campaign starts")
    a = ap.parse_args(argv)
    res = run(a)
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(res, indent=1, ensure_ascii=False, default=str)
    for f in (RESULTS / f"{res['run_id']}-revisit_campaign.json", RESULTS / "latest-revisit_campaign.json"):
        f.write_text(text)
    rv = res["campaign"]["revisits"]
    log(f"inbound 15 s answer rate: baseline {res['answer_rate_15s']['baseline']}, campaign "
        f"{res['answer_rate_15s']['campaign']}; campaign peak {rv['peak_concurrent_sampled']} sampled / "
        f"{rv['peak_concurrent_from_records']} from records (cap {rv['cap']}); {rv['status']}, tries {rv['try_results']}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
