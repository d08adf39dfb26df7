"""Order KPI queries at a city's scale: how long the database takes to count 办结率, 按期办结率,
满意率, 回退率 and 重办率 per unit, subject, area, day and month over a month and over a year.

A benchmark, not a test (never asserts, pytest does not collect it). It builds a store with the
product's migrations (so the product's indexes), bulk-loads one year (2026) of generated orders
into ``work_orders``, ``work_order_assignments`` and ``work_order_kpi_days`` (the rows the KPI
queries read: the event trails are not loaded, the queries never touch them), ``ANALYZE``s, then runs every query
through the product's path (``OrderStore.kpis``: the grouped SQL and the bucket merge) in a
fresh child process: p50/p99 per dimension and period (a month and a year as whole days: the
day counts ``work_order_kpi_days`` are added up; ``-rows``: the same less a minute at each end,
so the assignment rows themselves are counted), the child's peak RSS and the peak Python
allocation of one query (tracemalloc). The daily/monthly report per unit is the unit query of
its period.

    .venv/bin/python bench/order_kpis.py --backend sqlite --orders 1000000
    .venv/bin/python bench/order_kpis.py --backend postgres --orders 3000000 --gen-seconds 600

PostgreSQL: a throwaway server (scripts/pg.sh, fsync off) in ``--pg-dir`` on ``--pg-port``,
unless ``--url`` names one. Writes ``bench/results/<UTC stamp>-order-kpis-<backend>.json`` and
``latest-order-kpis-<backend>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(REPO))

SH = ZoneInfo("Asia/Shanghai")
YEAR = 2026
UNITS = [f"unit{i:02d}" for i in range(60)]
SUBJECTS = [f"subject{i:03d}" for i in range(300)]
AREAS = [f"area{i:02d}" for i in range(12)]
DIMENSIONS = ("unit", "subject", "area", "day", "month")
MINUTE = dt.timedelta(minutes=1)
PERIODS = {"month": (dt.datetime(YEAR, 6, 1, tzinfo=SH), dt.datetime(YEAR, 7, 1, tzinfo=SH)),
           "year": (dt.datetime(YEAR, 1, 1, tzinfo=SH), dt.datetime(YEAR + 1, 1, 1, tzinfo=SH))}
# bounds that are not midnights: the assignment rows are counted, not the day counts
PERIODS |= {f"{k}-rows": (since + MINUTE, until - MINUTE) for k, (since, until) in PERIODS.items()}
COUNTS = ("dispatched", "returned", "closed", "closed_on_time", "evaluated", "satisfied", "reopened")
COLUMNS = ("work_order_id", "unit", "subject", "area", "dispatched_at", "bucket", "returned", "closed", "on_time",
           "rating", "reopened", "last_reply_at")
BATCH = 50_000


def log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def _assignments(rng: random.Random, oid: str, start: float) -> list[tuple[Any, ...]]:
    """One order's assignments: 6 % returned and re-dispatched; of the kept, 85 % closed (90 % of
    them on time), 8 % reopened, ratings 满意 70 % / 基本满意 20 % / 不满意 10 % of the evaluated."""
    at = dt.datetime.fromtimestamp(start + rng.random() * 365 * 86400, dt.UTC)
    subject, area = rng.choice(SUBJECTS), rng.choice(AREAS)
    out = []
    if rng.random() < 0.06:
        out.append((oid, rng.choice(UNITS), subject, area, at, int(at.timestamp()) // 900, True, False, False,
                    None, False, None))
        at += dt.timedelta(hours=rng.randint(2, 30))
    closed = rng.random() < 0.85
    reopened = rng.random() < 0.08
    rating = rng.choices(["satisfied", "basically_satisfied", "unsatisfied", None], [60, 17, 8, 15])[0]
    if reopened and not closed:
        rating = "unsatisfied"
    if closed and rating in (None, "unsatisfied"):
        rating = "satisfied"
    reply = at + dt.timedelta(hours=rng.randint(4, 200)) if closed or rating else None
    out.append((oid, rng.choice(UNITS), subject, area, at, int(at.timestamp()) // 900, False, closed,
                closed and rng.random() < 0.9, rating, reopened, reply))
    return out


def _add_days(totals: dict[tuple[str, str, str], list[int]], rows: list[tuple[Any, ...]]) -> None:
    """The day counts (``work_order_kpi_days``) of the assignments, as the store keeps them."""
    for (_, unit, subject, area, at, _, returned, closed, on_time, rating, reopened, _) in rows:
        kept = not returned
        share = (1, int(returned), int(kept and closed), int(kept and closed and on_time), int(kept and rating is not None),
                 int(kept and rating in ("satisfied", "basically_satisfied")), int(kept and reopened))
        day = at.astimezone(SH).date().isoformat()
        for key in (("unit", day, unit), ("subject", day, subject), ("area", day, area)):
            counts = totals.setdefault(key, [0] * 7)
            for i, n in enumerate(share):
                counts[i] += n


def _batches(orders: int, seed: int) -> Any:
    rng = random.Random(seed)
    start = dt.datetime(YEAR, 1, 1, tzinfo=SH).timestamp()
    made = dt.datetime(YEAR, 1, 1, tzinfo=dt.UTC)
    for first in range(0, orders, BATCH):
        ids = [f"WO-B-{i:08d}" for i in range(first, min(first + BATCH, orders))]
        rows = [a for oid in ids for a in _assignments(rng, oid, start)]
        yield [(i, "t", "d", "help", "open", "bench", False, made, made) for i in ids], rows


def _sqlite_text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return int(value) if isinstance(value, bool) else value


WO_COLUMNS = "id, title, description, category, status, created_by, caller_confidential, created_at, updated_at"


def load(url: str, orders: int, seconds: float, seed: int) -> dict[str, Any]:
    """Bulk-load up to ``orders`` orders, stopping early after ``seconds``; the counts and time."""
    from sqlalchemy import create_engine
    engine = create_engine(url)
    raw = engine.raw_connection()
    began, loaded, rows = time.monotonic(), 0, 0
    totals: dict[tuple[str, str, str], list[int]] = {}
    try:
        cur = raw.cursor()
        for wo, assignments in _batches(orders, seed):
            _add_days(totals, assignments)
            if engine.dialect.name == "sqlite":
                cur.executemany(f"INSERT INTO work_orders ({WO_COLUMNS}) VALUES ({', '.join('?' * 9)})",
                                [tuple(map(_sqlite_text, r)) for r in wo])
                cur.executemany(f"INSERT INTO work_order_assignments ({', '.join(COLUMNS)}) "
                                f"VALUES ({', '.join('?' * len(COLUMNS))})",
                                [tuple(map(_sqlite_text, r)) for r in assignments])
            else:
                with cur.copy(f"COPY work_orders ({WO_COLUMNS}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for r in wo:
                        copy.write_row(r)
                with cur.copy(f"COPY work_order_assignments ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for r in assignments:
                        copy.write_row(r)
            raw.commit()
            loaded, rows = loaded + len(wo), rows + len(assignments)
            if loaded % 500_000 == 0:
                log(f"  {loaded} orders, {rows} assignments, {time.monotonic() - began:.0f} s")
            if time.monotonic() - began > seconds:
                log(f"  generation budget ({seconds:.0f} s) reached")
                break
        days = [(*k, *v) for k, v in totals.items()]
        if engine.dialect.name == "sqlite":
            cur.executemany(f"INSERT INTO work_order_kpi_days VALUES ({', '.join('?' * 10)})", days)
        else:
            with cur.copy("COPY work_order_kpi_days (dimension, day, key, " + ", ".join(COUNTS) + ") FROM STDIN") as copy:  # type: ignore[attr-defined]
                for r in days:
                    copy.write_row(r)
        raw.commit()
        generated = time.monotonic() - began
        if engine.dialect.name == "sqlite":
            cur.execute("ANALYZE")
        else:
            raw.driver_connection.autocommit = True   # type: ignore[union-attr]
            cur.execute("VACUUM ANALYZE work_order_assignments")
            cur.execute("VACUUM ANALYZE work_order_kpi_days")
        return {"orders": loaded, "assignments": rows, "day_count_rows": len(days), "load_seconds": round(generated, 1),
                "analyze_seconds": round(time.monotonic() - began - generated, 1)}
    finally:
        raw.close()
        engine.dispose()


def measure(url: str, repeats: int) -> dict[str, Any]:
    """In this (fresh) process: every dimension × period ``repeats`` times through OrderStore.kpis."""
    from hotline.config.site import Deadlines
    from hotline.store import Store
    from hotline.work_orders.store import OrderStore
    from hotline.work_orders.transitions import Clock
    from hotline.work_orders.workdays import WorkingCalendar
    store = Store(url)
    orders = OrderStore(store, Clock(WorkingCalendar(), Deadlines()))
    out: dict[str, Any] = {}
    for period, (since, until) in PERIODS.items():
        for dimension in DIMENSIONS:
            orders.kpis(dimension, SH, since=since, until=until)   # warm
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                groups = orders.kpis(dimension, SH, since=since, until=until)
                times.append(time.perf_counter() - t)
            tracemalloc.start()
            orders.kpis(dimension, SH, since=since, until=until)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            times.sort()
            out[f"{dimension}/{period}"] = {
                "p50_s": round(statistics.median(times), 4),
                "p99_s": round(times[min(len(times) - 1, round(0.99 * (len(times) - 1)))], 4),
                "max_s": round(times[-1], 4), "runs": repeats, "groups": len(groups),
                "assignments": sum(k.dispatched for k in groups.values()), "python_peak_kib": peak // 1024}
            log(f"  {dimension}/{period}: p50 {out[f'{dimension}/{period}']['p50_s']} s, "
                f"p99 {out[f'{dimension}/{period}']['p99_s']} s, {len(groups)} groups")
    store.close()
    return {"queries": out, "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def _pg_start(directory: Path, port: int) -> str:
    r = subprocess.run(["bash", str(REPO / "scripts" / "pg.sh"), "start", str(directory), str(port)],
                       capture_output=True, text=True, check=True, timeout=120)
    return r.stdout.strip()


def _machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    return {"nproc": os.cpu_count(), "cpu_model": cpu, "python": platform.python_version(),
            "loadavg_at_start": list(os.getloadavg())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--gen-seconds", type=float, default=600.0, help="stop generating after this long")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--url", help="an empty database to use (default: a new SQLite file / throwaway PostgreSQL)")
    ap.add_argument("--work", type=Path, default=HERE / "work" / "order_kpis")
    ap.add_argument("--pg-dir", type=Path, default=Path("/var/tmp/hotline-bench-pg"))
    ap.add_argument("--pg-port", type=int, default=55441)
    ap.add_argument("--measure-only", metavar="URL", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure_only:
        print(json.dumps(measure(args.measure_only, args.repeats)))
        return 0

    from hotline.store import Store
    started = dt.datetime.now(dt.UTC)
    url = args.url
    if url is None and args.backend == "sqlite":
        shutil.rmtree(args.work, ignore_errors=True)
        args.work.mkdir(parents=True)
        url = f"sqlite:///{args.work / 'hotline.db'}"
    elif url is None:
        subprocess.run(["bash", str(REPO / "scripts" / "pg.sh"), "stop", str(args.pg_dir)], check=False)
        shutil.rmtree(args.pg_dir, ignore_errors=True)
        url = _pg_start(args.pg_dir, args.pg_port)
    store = Store(url)
    store.upgrade()
    store.close()
    log(f"loading up to {args.orders} orders into {args.backend}")
    loaded = load(url, args.orders, args.gen_seconds, args.seed)
    log(f"loaded {loaded}; measuring ({args.repeats} runs per query, fresh process)")
    child = subprocess.run([sys.executable, __file__, "--measure-only", url, "--repeats", str(args.repeats)],
                           stdout=subprocess.PIPE, text=True, check=True, cwd=REPO)   # its log: our stderr
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    worst = max(q["p99_s"] for q in measured["queries"].values())
    results = {"bench": "order_kpis", "backend": args.backend, "started_at": started.isoformat(),
               "command": " ".join([Path(sys.executable).name, *sys.argv]), "machine": _machine(),
               "parameters": {"orders_wanted": args.orders, "gen_seconds": args.gen_seconds, "repeats": args.repeats,
                              "seed": args.seed, "units": len(UNITS), "subjects": len(SUBJECTS), "areas": len(AREAS),
                              "periods": {k: [v[0].isoformat(), v[1].isoformat()] for k, v in PERIODS.items()}},
               "load": loaded, **measured, "worst_p99_s": worst, "target_p99_s": 2.0, "pass": worst < 2.0}
    RESULTS.mkdir(exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(results, indent=1, ensure_ascii=False)
    for f in (RESULTS / f"{stamp}-order-kpis-{args.backend}.json", RESULTS / f"latest-order-kpis-{args.backend}.json"):
        f.write_text(text + "\n")
    log(f"worst p99 {worst} s ({'PASS' if worst < 2.0 else 'FAIL'} < 2 s), peak RSS {measured['peak_rss_mib']} MiB; "
        f"{RESULTS / f'{stamp}-order-kpis-{args.backend}.json'}")
    if args.backend == "postgres" and args.url is None:
        subprocess.run(["bash", str(REPO / "scripts" / "pg.sh"), "stop", str(args.pg_dir)], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
