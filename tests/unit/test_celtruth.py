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
    events = [json.loads(raw) for raw in lines]
    # a three-way call's leg placed out on the trunk (to 110) starts there too, but never entered
    placed_out = {e["uniqueid"] for e in events if e["appname"] in ("AppDial", "AppDial2")}
    trunk_calls = {e["linkedid"] for e in events
                   if e["eventtype"] == "CHAN_START" and e["context"].startswith("from-trunk-")
                   and e["uniqueid"] == e["linkedid"] and e["uniqueid"] not in placed_out}
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


def test_a_leg_placed_out_on_the_trunk_never_entered(tmp_path: Path) -> None:
    """control_three_way_110: the caller's call entered; 110's leg, originated on the trunk into
    the conference, starts in from-trunk-carrier with a Linkedid of its own and is not a call."""
    log = tmp_path / "hotline-cel.json"
    log.write_text((CEL_DIR / "control_three_way_110.jsonl").read_text())
    starts = [json.loads(raw) for raw in log.read_text().splitlines()]
    firsts = [e["linkedid"] for e in starts if celtruth.is_entry(e["eventtype"], e["context"], e["uniqueid"],
                                                                  e["linkedid"])]
    assert len(firsts) == 2   # the CHAN_START rule alone sees two
    entered = celtruth.entered_calls(log, since=0)
    assert len(entered) == 1 and entered[0] == starts[0]["linkedid"]
    tracker = soak_measure.CelTracker(log)
    tracker.poll()
    assert list(tracker.calls) == entered
    assert celtruth.is_outbound("AppDial2", "") and celtruth.is_outbound("", "leg-1.2-110")
    assert not celtruth.is_outbound("Queue", "")


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
