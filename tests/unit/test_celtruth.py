"""bench/celtruth.py: "a call entered", counted the same by the benchmarks (soak_measure) and the
integration tests' ground truth (tests/integration/groundtruth.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

import celtruth  # noqa: E402
import soak_measure  # noqa: E402

CEL_DIR = REPO / "tests" / "fixtures" / "cel"


def _fixture_log(tmp_path: Path) -> tuple[Path, set[str]]:
    """Every captured conversation in one CEL log, the older half in a rotated copy, with a
    broken line; and the Linkedids of the ones that came in through a trunk."""
    lines: list[str] = []
    for f in sorted(CEL_DIR.glob("*.jsonl")):
        lines += f.read_text().splitlines()
    trunk_calls = {json.loads(raw)["linkedid"] for raw in lines
                   if json.loads(raw)["eventtype"] == "CHAN_START"
                   and json.loads(raw)["context"].startswith("from-trunk-")
                   and json.loads(raw)["uniqueid"] == json.loads(raw)["linkedid"]}
    log = tmp_path / "hotline-cel.json"
    half = len(lines) // 2
    (tmp_path / "hotline-cel.json.1").write_text("\n".join(lines[:half]) + "\n{not json\n")
    log.write_text("\n".join(lines[half:]) + "\n")
    return log, trunk_calls


def test_is_entry() -> None:
    assert celtruth.is_entry("CHAN_START", "from-trunk-carrier", "1.2", "1.2")
    assert celtruth.is_entry("CHAN_START", "from-trunk-carrier", "node01-1.2", "node01-1.2")
    assert not celtruth.is_entry("CHAN_START", "from-trunk-carrier", "1.3", "1.2")   # a later leg
    assert not celtruth.is_entry("CHAN_START", "hotline-seats", "1.2", "1.2")        # not from a trunk
    assert not celtruth.is_entry("ANSWER", "from-trunk-carrier", "1.2", "1.2")
    assert not celtruth.is_entry("CHAN_START", "from-trunk-carrier", "", "")


def test_ground_truth_and_soak_count_the_same_calls(tmp_path: Path) -> None:
    log, trunk_calls = _fixture_log(tmp_path)
    assert len(trunk_calls) >= 20
    entered = celtruth.entered_calls(log, since=0)
    assert set(entered) == trunk_calls   # (the synthetic fixtures reuse the captured calls' ids)
    assert celtruth.entered_calls(log, since=4e9) == []
    # the soak benchmark reads the current log incrementally: the same rule on the same lines
    rotated = soak_measure.CelTracker(tmp_path / "hotline-cel.json.1")
    current = soak_measure.CelTracker(log)
    rotated.poll()
    current.poll()
    assert set(rotated.calls) | set(current.calls) == trunk_calls
    assert rotated.unparsed == 1   # the broken line, skipped by both
