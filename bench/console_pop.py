"""Ring -> screen pop in the seat console, measured in the browser (issue 13: p95 within 300 ms).

Runs the Chromium test ``tests/integration/test_console_webrtc.py::test_ring_to_pop_measured_in_the_browser``
(real Asterisk, controller, sipp caller, headless Chromium with the WebRTC phone) for ``--rings``
rings and reads the page's own measurements (``performance.now()`` in the page):

* ``ring_to_incoming_ms``: the phone's INVITE arrives (SIP.js ``onCallReceived``) -> 来电 shown;
* ``ring_to_pop_ms``: the same moment -> the screen-pop panel filled from ``GET /api/seats/{seat}/pop``
  (while that route is not merged, it answers 404 and the panel shows 无来电信息: the figure is then
  the round trip of the page's request, not of a real pop).

Writes ``bench/results/console_pop-<UTC time>.json`` and ``console_pop-latest.json``; prints p50/p95/max.
A benchmark: it reports, never asserts. Root, like the integration tests; ``--slot`` picks the
integration slot's ports (HOTLINE_IT_SLOT).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEST = "tests/integration/test_console_webrtc.py::test_ring_to_pop_measured_in_the_browser"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))   # nearest rank
    return ordered[rank]


def summary(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": round(percentile(values, 50), 1), "p95": round(percentile(values, 95), 1),
            "max": round(max(values), 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rings", type=int, default=30)
    ap.add_argument("--slot", default=os.environ.get("HOTLINE_IT_SLOT", "0"))
    ap.add_argument("--results-dir", type=Path, default=REPO / "bench" / "results")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "timings.json"
        env = dict(os.environ, HOTLINE_IT_SLOT=str(args.slot), HOTLINE_CONSOLE_RINGS=str(args.rings),
                   HOTLINE_CONSOLE_TIMINGS=str(out))
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST], cwd=REPO,
                             env=env, capture_output=True, text=True)
        if run.returncode != 0 or not out.exists():
            print(run.stdout[-4000:], run.stderr[-2000:], sep="\n")
            return 1
        timings = json.loads(out.read_text())
    incoming = [t["ring_to_incoming_ms"] for t in timings if "ring_to_incoming_ms" in t]
    pops = [t["ring_to_pop_ms"] for t in timings if "ring_to_pop_ms" in t]
    statuses = sorted({t["pop_status"] for t in timings if "pop_status" in t})
    result = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "rings": args.rings,
        "ring_to_incoming_ms": summary(incoming), "ring_to_pop_ms": summary(pops), "pop_statuses": statuses,
        "pop_route": "answered" if 200 in statuses else "absent (404): ring -> panel shows 无来电信息",
        "target_p95_ms": 300, "machine": {"cpus": os.cpu_count()},
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for name in (f"console_pop-{stamp}.json", "console_pop-latest.json"):
        (args.results_dir / name).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
