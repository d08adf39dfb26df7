"""Following the CEL JSON log (hotline.calls.tail.CelTail), with the real fixture lines."""

from __future__ import annotations

import errno
import logging
import time
from pathlib import Path

import pytest

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


def test_tail_read_errors_are_logged_rate_limited_and_resume_where_it_stopped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 8: an unreadable log logged a traceback every 20 ms, and must not be read again from 0."""
    from hotline.calls import tail as tail_mod

    lines = FIXTURE.read_bytes().splitlines(keepends=True)
    log = tmp_path / "hotline-cel.json"
    log.write_bytes(b"".join(lines[:3]))
    got: list[str] = []
    tail = CelTail(log, lambda evs: got.extend(e.name for e in evs), interval=0.001)
    assert tail.poll() == 3
    real = tail_mod.read_records
    failures: list[int] = []

    def unreadable(path: Path, offset: int):  # type: ignore[no-untyped-def]
        if len(failures) < 200:
            failures.append(offset)
            raise OSError(errno.EIO, "Input/output error", str(path))
        return real(path, offset)

    monkeypatch.setattr(tail_mod, "read_records", unreadable)
    with log.open("ab") as fh:
        fh.write(b"".join(lines[3:]))
    with caplog.at_level(logging.WARNING, logger="hotline.calls.tail"):
        tail.start(tail.pos)
        try:
            deadline = time.monotonic() + 30
            while len(got) < len(lines) or tail.status()["ok"] is not True:
                assert time.monotonic() < deadline, "the tail did not recover"
                time.sleep(0.01)
            recovered = tail.status()
        finally:
            tail.stop()
    assert len(failures) == 200 and set(failures) == {failures[0]}  # always from where it stopped
    assert len(got) == len(lines) and got[-1] == "LINKEDID_END"  # nothing read twice
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "Input/output error" in errors[0].getMessage()
    assert any("again" in r.getMessage() and "200 failure" in r.getMessage() for r in caplog.records)
    assert recovered["read_errors"] == 200 and recovered["ok"] is True
