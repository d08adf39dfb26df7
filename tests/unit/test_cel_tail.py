"""Following the CEL JSON log (hotline.calls.tail.CelTail), with the real fixture lines."""

from __future__ import annotations

from pathlib import Path

from hotline.calls.tail import CelTail

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cel" / "answered_merged_call.jsonl"


def test_tail_delivers_whole_records_as_they_are_appended(tmp_path: Path) -> None:
    lines = FIXTURE.read_bytes().splitlines(keepends=True)
    log = tmp_path / "hotline-cel.json"
    log.write_bytes(b"")
    got: list[str] = []
    tail = CelTail(log, lambda evs: got.extend(e.name for e in evs))
    tail.pos = 0
    with log.open("ab") as fh:
        fh.write(b"".join(lines[:3]) + lines[3][:20])  # a line Asterisk is still writing
    assert tail.poll() == 3 and len(got) == 3
    with log.open("ab") as fh:
        fh.write(lines[3][20:] + b"".join(lines[4:]))
    assert tail.poll() == len(lines) - 3
    assert got[-1] == "LINKEDID_END" and len(got) == len(lines)
    assert tail.poll() == 0  # nothing new
    assert tail.status()["events"] == len(lines) and "lag_p99_ms" in tail.status()
    tail.stop()


def test_tail_starts_over_when_the_log_is_rotated(tmp_path: Path) -> None:
    lines = FIXTURE.read_bytes().splitlines(keepends=True)
    log = tmp_path / "hotline-cel.json"
    log.write_bytes(b"".join(lines))
    got: list[str] = []
    tail = CelTail(log, lambda evs: got.extend(e.linkedid for e in evs))
    assert tail.poll() == len(lines)
    log.write_bytes(lines[0])  # rotated: a new, shorter file
    assert tail.poll() == 1 and len(got) == len(lines) + 1
    tail.stop()


def test_tail_survives_garbage_and_a_missing_file(tmp_path: Path) -> None:
    log = tmp_path / "absent.json"
    tail = CelTail(log, lambda evs: None)
    assert tail.poll() == 0
    log.write_bytes(b"not json\n" + FIXTURE.read_bytes().splitlines(keepends=True)[0])
    assert tail.poll() == 1 and tail.bad_lines == 1
    tail.stop()
