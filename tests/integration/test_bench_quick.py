"""The headline benchmark's quick mode runs to the end, so the benchmark cannot rot unseen (issue 8).

It starts its own Asterisk (static dialplan, then the full stack) on the benchmark's ports, apart
from the test rig's. Only completion and the record count are checked: a benchmark reports timing,
the suite never asserts it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .rig import have_tools

REPO = Path(__file__).resolve().parents[2]


def test_run_bench_quick_completes_with_a_record_per_call(tmp_path: Path) -> None:
    why = have_tools()
    if why:
        pytest.skip(why)
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "run_bench.py"), "--quick", "--no-readme",
                           "--wait-quiet", "0", "--results-dir", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, PYTHONUNBUFFERED="1"))
    out = proc.stdout[-6000:] + proc.stderr[-3000:]
    assert proc.returncode == 0, out
    files = sorted(tmp_path.glob("*-quick.json"))
    assert [f.name for f in files if f.name != "latest-quick.json"], out
    res = json.loads((tmp_path / "latest-quick.json").read_text())
    assert "error" not in res and not res.get("interrupted"), res.get("error")
    for config in ("static", "full"):
        assert "error" not in res[config], res[config]["error"]
        assert res[config]["calls_placed"] > 0
        assert res[config]["steps"], f"{config}: no load step ran"
    records = res["full"]["records"]
    assert records["records_total"] == records["calls_placed"] == res["full"]["calls_placed"], records
    assert records["distinct_call_ids"] == records["records_listed"] == records["records_total"], records
