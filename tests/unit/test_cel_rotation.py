"""The CEL log rotated, truncated or replaced while the controller is down (issue 8, item 4):
every call read exactly once, by the reconciler and the tail started where it stopped."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hotline.calls.assemble import Directory
from hotline.records.call import CallRecord
from hotline.calls.services import Reconciler
from hotline.calls.tail import CelTail

CEL_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "cel"
DIRECTORY = Directory(trunks=frozenset({"trunk-carrier"}), seats=frozenset({"1001", "1002"}))
# In time order (their uniqueid sequences grow with time, as in one Asterisk process).
A, B1, B2, B3 = "no_seat_caller_hangs_up", "answered_merged_call", "synthetic_abandoned_before_queue", \
    "synthetic_queue_timeout"
IDS = {A: "1795444539.0", B1: "1795444596.1", B2: "1795444620.4", B3: "1795444650.5"}


def call(name: str) -> bytes:
    return (CEL_DIR / f"{name}.jsonl").read_bytes()


class Saved:
    """The position file: whatever the reconciler saved, given back on the next start."""

    def __init__(self) -> None:
        self.value: Any = 0

    def load(self) -> Any:
        return self.value

    def save(self, value: Any) -> None:
        self.value = value


def run_once(log: Path, saved: Saved) -> list[CallRecord]:
    """A controller start: a fresh reconciler from the saved position."""
    sink: list[CallRecord] = []
    Reconciler(log, DIRECTORY, sink.append, saved.load, saved.save).run()
    return sink


def tail_events(log: Path, saved: Saved) -> list[str]:
    got: list[str] = []
    tail = CelTail(log, lambda evs: got.extend(e.linkedid for e in evs))
    tail.seek(saved.load())
    tail.poll()
    tail.stop()
    return got


def first_run(tmp_path: Path) -> tuple[Path, Saved]:
    log = tmp_path / "hotline-cel.json"
    log.write_bytes(call(A))
    saved = Saved()
    assert [r.call_id for r in run_once(log, saved)] == [IDS[A]]
    return log, saved


def assert_exactly(records: list[CallRecord], *names: str) -> None:
    ids = [r.call_id for r in records]
    assert sorted(ids) == sorted(IDS[n] for n in names), ids


def test_rotated_while_down_reads_the_old_file_to_its_end_then_the_new_one(tmp_path: Path) -> None:
    log, saved = first_run(tmp_path)
    with log.open("ab") as fh:
        fh.write(call(B1))                 # the controller is down: written to the old file
    log.rename(log.with_name(log.name + ".1"))   # logrotate: a plain rename
    log.write_bytes(call(B2) + call(B3))   # Asterisk's next records start a new file
    assert_exactly(run_once(log, saved), B1, B2, B3)
    assert run_once(log, saved) == []      # nothing twice
    assert tail_events(log, saved) == []   # the tail starts where the reconciler stopped


def test_rotated_twice_while_down(tmp_path: Path) -> None:
    log, saved = first_run(tmp_path)
    with log.open("ab") as fh:
        fh.write(call(B1))
    rotated1, rotated2 = log.with_name(log.name + ".1"), log.with_name(log.name + ".2")
    log.rename(rotated1)
    log.write_bytes(call(B2))
    os.utime(rotated1, (1, 1))             # older than what follows it
    rotated1.rename(rotated2)
    log.rename(rotated1)
    log.write_bytes(call(B3))
    assert_exactly(run_once(log, saved), B1, B2, B3)
    assert run_once(log, saved) == []


def test_truncated_in_place_while_down_is_read_from_the_start(tmp_path: Path) -> None:
    log, saved = first_run(tmp_path)
    inode = log.stat().st_ino
    with log.open("r+b") as fh:            # same file, emptied, then written again past the old offset
        fh.truncate(0)
        fh.write(call(B1) + call(B2) + call(B3))
    assert log.stat().st_ino == inode and log.stat().st_size > len(call(A))
    assert_exactly(run_once(log, saved), B1, B2, B3)
    assert run_once(log, saved) == []
    assert tail_events(log, saved) == []


def test_replaced_while_down_is_read_from_the_start(tmp_path: Path) -> None:
    log, saved = first_run(tmp_path)
    log.unlink()
    log.write_bytes(call(B1) + call(B2) + call(B3))
    assert_exactly(run_once(log, saved), B1, B2, B3)
    assert run_once(log, saved) == []


def test_a_conversation_open_across_the_rotation_is_read_whole(tmp_path: Path) -> None:
    log, saved = first_run(tmp_path)
    lines = call(B3).splitlines(keepends=True)
    with log.open("ab") as fh:
        fh.write(b"".join(lines[:5]))      # begun before the rotation ...
    assert run_once(log, saved) == []      # still open: holds the position in the old file
    log.rename(log.with_name(log.name + ".1"))
    log.write_bytes(b"".join(lines[5:]))   # ... ended after it
    records = run_once(log, saved)
    assert_exactly(records, B3)
    assert records[0].queued_at is not None   # its start, read from the rotated file


def test_tail_follows_a_rotation_live(tmp_path: Path) -> None:
    log, saved = first_run(tmp_path)
    got: list[str] = []
    tail = CelTail(log, lambda evs: got.extend(e.linkedid for e in evs))
    tail.seek(saved.load())
    with log.open("ab") as fh:
        fh.write(call(B1))
    log.rename(log.with_name(log.name + ".1"))
    assert tail.poll() > 0                 # the renamed file, read to its end through the open handle
    log.write_bytes(call(B2))
    tail.poll()
    with log.open("ab") as fh:
        fh.write(call(B3))
    tail.poll()
    tail.stop()
    assert sorted(set(got)) == sorted(IDS[n] for n in (B1, B2, B3))
    assert got.count(IDS[B1]) == call(B1).count(b"\n")   # every event once
    assert tail.rotations == 1


def test_a_position_saved_as_a_bare_offset_is_still_read(tmp_path: Path) -> None:
    log = tmp_path / "hotline-cel.json"
    log.write_bytes(call(A) + call(B1))
    saved = Saved()
    saved.value = len(call(A))             # the format before identities
    assert_exactly(run_once(log, saved), B1)


def test_rotated_before_the_controller_ever_read_it(tmp_path: Path) -> None:
    log = tmp_path / "hotline-cel.json"
    log.write_bytes(call(A))
    log.rename(log.with_name(log.name + ".1"))
    log.write_bytes(call(B1))
    saved = Saved()                        # no position saved yet (a new state directory)
    assert_exactly(run_once(log, saved), A, B1)
    assert run_once(log, saved) == []
