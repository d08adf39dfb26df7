"""How long the SIP edge takes to notice a dead Asterisk node, and a node that is back.

Uses the namespace rig of the integration tests (tests/integration/edge_rig.py: Kamailio and two
Asterisk nodes, each in its own network namespace). Each round kills node-b with SIGKILL while
no call is running (only the OPTIONS probes can notice it), times until the edge takes it out,
starts it again and times until the edge puts it back (from "Asterisk fully booted"). Prints the
figures and writes bench/results/<UTC>-edge-failover.json. A benchmark: it asserts nothing.

    .venv/bin/python bench/edge_failover.py [--rounds 5]      # as root, needs kamailio
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.edge_rig import Rig, rig_tag, sweep_stale, wait_for, why_not  # noqa: E402


def measure(rounds: int) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="hotline-edge-bench-"))
    workdir.chmod(0o755)
    sweep_stale()
    rig = Rig(tag=rig_tag(), workdir=workdir)
    out_s: list[float] = []
    back_s: list[float] = []
    try:
        rig.build_network()
        rig.start_nodes()
        rig.start_edge()
        wait_for(lambda: rig.in_rotation() == {"node-a", "node-b"}, 30, "both nodes in rotation")
        node = rig.nodes["node-b"]
        for _ in range(rounds):
            node.kill()
            t0 = time.monotonic()
            wait_for(lambda: "node-b" not in rig.in_rotation(), 30, "node-b out")
            out_s.append(time.monotonic() - t0)
            node.start()
            t1 = time.monotonic()
            wait_for(lambda: "node-b" in rig.in_rotation(), 30, "node-b back")
            back_s.append(time.monotonic() - t1)
    finally:
        rig.close()
        shutil.rmtree(workdir, ignore_errors=True)
    assert rig.site is not None and rig.site.edge is not None
    e = rig.site.edge
    return {"rounds": rounds, "probe_interval_s": e.probe_interval, "reply_timeout_ms": e.reply_timeout_ms,
            "dead_node_out_s": [round(x, 3) for x in out_s], "dead_node_out_max_s": round(max(out_s), 3),
            "dead_node_out_median_s": round(statistics.median(out_s), 3),
            "node_back_after_boot_s": [round(x, 3) for x in back_s],
            "node_back_after_boot_max_s": round(max(back_s), 3)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    why = why_not()
    if why:
        print(f"edge_failover: cannot run: {why}", file=sys.stderr)
        return 2
    write_result(measure(args.rounds), "edge-failover")
    return 0


def write_result(result: dict[str, object], name: str, echo: bool = True) -> Path:
    """Print ``result`` (unless not ``echo``) and write it to bench/results/<UTC>-<name>.json."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = REPO / "bench" / "results" / f"{stamp}-{name}.json"
    target.write_text(json.dumps(result, indent=1) + "\n")
    if echo:
        print(json.dumps(result, indent=1))
    print(f"written: {target.relative_to(REPO)}")
    return target


if __name__ == "__main__":
    sys.exit(main())
