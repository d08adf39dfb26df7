"""A full disk on the live stack: the hotline keeps answering, the alarm says why, and the
records written while the disk was full land exactly once when space returns.

Each test mounts a small tmpfs of its own (root) over one of the stack's directories, fills it
and unmounts it afterwards, copying what the stack wrote there back onto the real directory.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hotline.config.site import Retention
from hotline.disk.janitor import DAY, Janitor, rotated, rules

from .groundtruth import assert_exactly_once
from .rig import SEATS, Stack, http_json, wait_for


def _run(*argv: str) -> None:
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"{' '.join(argv)}: {r.stderr.strip()}"


def _du(path: Path) -> int:
    return sum(f.lstat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


@contextmanager
def small_disk(directory: Path, size_bytes: int, *, carry: bool = True) -> Iterator[Path]:
    """``directory`` on a tmpfs of ``size_bytes``; with ``carry`` it starts with a copy of what
    the directory held, and what was written there is copied back onto the real directory
    afterwards (without, the directory's files are only hidden meanwhile). Whoever keeps files
    open there must be stopped around this (they would keep the tmpfs busy)."""
    keep = Path(tempfile.mkdtemp(prefix="hotline-it-disk-"))
    if carry:
        shutil.copytree(directory, keep, symlinks=True, dirs_exist_ok=True)
    _run("mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0755", "hotline-it-disk", str(directory))
    try:
        if carry:
            shutil.copytree(keep, directory, symlinks=True, dirs_exist_ok=True)
        yield directory
        if not carry:
            return
        shutil.rmtree(keep)
        shutil.copytree(directory, keep, symlinks=True)
    finally:
        for argv in (("umount", str(directory)), ("umount", "-l", str(directory))):
            if subprocess.run(argv, capture_output=True).returncode == 0:
                break
        shutil.copytree(keep, directory, symlinks=True, dirs_exist_ok=True)
        shutil.rmtree(keep, ignore_errors=True)


def fill(directory: Path) -> Path:
    """Write one file until the file system says ENOSPC; returns it (delete it to free the space)."""
    filler = directory / "filler.bin"
    chunk = b"\0" * (1024 * 1024)
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        try:   # the last partial pages
            while True:
                f.write(b"\0" * 512)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    st = os.statvfs(directory)
    assert st.f_bavail * st.f_frsize < 64 * 1024, "the file system is not full"
    return filler


def disk(stack: Stack) -> dict:
    return stack.status()["disk"]


def answered_by_a_seat(record: dict) -> bool:
    return record["outcome"] == "answered" and record["seat"] in SEATS


def test_a_call_is_answered_when_its_recording_cannot_be_written(stack: Stack) -> None:
    """MixMonitor on a full disk fails to write the recording; the call goes on to a seat."""
    recordings = stack.runtime.recordings_dir
    recordings.mkdir(parents=True, exist_ok=True)
    with small_disk(recordings, 4 * 1024 * 1024, carry=False):
        filler = fill(recordings)
        status = wait_for("the disk alarm on the recordings", lambda: (d := disk(stack))["alarm"] == "critical"
                          and "recordings" in d["reason"] and d)
        assert "calls are still answered" in status["reason"]
        r = stack.call("12345", "13900000801", talk_ms=1500)
        assert r.returncode == 0, r.stdout[-800:]
        record = stack.record_for("13900000801")
        assert answered_by_a_seat(record), record
        written = recordings / record["recording"]
        assert not written.exists() or written.stat().st_size <= 44   # nothing beyond a WAV header
        filler.unlink()
    wait_for("the recordings alarm cleared",
             lambda: not any(v["alarm"] for v in disk(stack)["volumes"] if v["role"] == "recordings"))


@pytest.fixture
def state_on_a_small_disk(stack: Stack) -> Iterator[Path]:
    """The controller's state directory (journal, SQLite store, CEL offset) on a tmpfs with 48 MB
    free; the controller is restarted onto it and back."""
    state = stack.paths.state_dir
    stack.stop_controller()
    try:
        with small_disk(state, _du(state) + 48 * 1024 * 1024):
            try:
                stack.start_controller()
                wait_for("the controller up on the small disk", lambda: stack.status().get("ami", {}).get("ok"),
                         timeout=30)
                for seat in SEATS:
                    stack.login_seat(seat)
                yield state
            finally:
                stack.stop_controller()
    finally:
        stack.start_controller()
        wait_for("the controller back", lambda: stack.status().get("ami", {}).get("ok"), timeout=30)
        for seat in SEATS:
            stack.login_seat(seat)


# Needs the journal fix of issue 8 (branch h-journal): on main a journal append that fails with
# ENOSPC drops its records, and the reconciler skips them as "recorded live" (record-loss path 2).
def test_with_the_state_disk_full_calls_are_answered_and_records_land_once_space_returns(
        stack: Stack, state_on_a_small_disk: Path) -> None:
    filler = fill(state_on_a_small_disk)
    status = wait_for("the disk alarm on the state directory",
                      lambda: (d := disk(stack))["alarm"] == "critical" and d["reason"].startswith("state") and d)
    assert status["ok"] is False and status["free_bytes"] < 64 * 1024
    assert "records wait" in status["reason"]

    callers = [f"1390000090{i}" for i in range(3)]
    t0 = time.time()
    for caller in callers:
        r = stack.call("12345", caller, talk_ms=1500)
        assert r.returncode == 0, r.stdout[-800:]
    wait_for("the records held back", lambda: stack.status()["journal"]["ok"] is False)
    # Not in the store yet; reading it may itself fail while SQLite cannot grow its WAL index:
    # then the API says so (503 store-unavailable), it does not hang or crash.
    code, body = http_json("GET", f"{stack.api}/api/calls?limit=500")
    if code == 200:
        assert not {c["caller_number"] for c in body["items"]} & set(callers)
    else:
        assert code == 503 and body["error_id"] == "store-unavailable", (code, body)

    filler.unlink()
    wait_for("the disk alarm cleared", lambda: disk(stack)["alarm"] is None)
    records = [stack.record_for(caller, timeout=60) for caller in callers]
    assert all(answered_by_a_seat(r) for r in records), records
    wait_for("the journal drained", lambda: stack.status()["journal"]["pending"] == 0)
    ids = [c["call_id"] for c in stack.calls()]
    assert all(ids.count(r["call_id"]) == 1 for r in records)
    assert_exactly_once(stack, t0, len(callers))   # the fault matrix's count: records == CEL CHAN_STARTs


def test_asterisk_logs_are_bounded_and_no_unread_files_are_written(stack: Stack) -> None:
    """``logger rotate`` (what the janitor runs past asterisk_log_max_mb) gives messages.log a name
    the janitor ages out; Asterisk writes a queue_log (app_queue's own account of the calls, read by
    the reconciliation report; its rotations are kept ``cel_days``: tests/unit/test_disk_janitor.py,
    not here, where deleting one would take other tests' calls out of the reconciliation) and no
    CSV CDRs (Master.csv): the CDRs go to the cdr-custom log the reconciliation reads."""
    log_dir = stack.runtime.log_dir
    before = {p.name for p in log_dir.iterdir()}
    r = stack.call("12345", "13900000811", talk_ms=500)
    assert r.returncode == 0, r.stdout[-800:]
    stack.record_for("13900000811")
    stack.cli("logger rotate")
    pattern = rotated("messages.log")
    new = wait_for("a rotated messages.log", lambda: [p for p in log_dir.iterdir()
                                                       if pattern.match(p.name) and p.name not in before])
    assert (log_dir / "messages.log").exists()
    old = time.time() - 2 * DAY
    os.utime(new[0], (old, old))
    janitor = Janitor(Retention(logs_days=1), rules(Retention(logs_days=1), state_dir=stack.paths.state_dir,
                                                    journal_name="records.journal", recordings_dir=None, cel_log=None,
                                                    asterisk_log_dir=log_dir))
    assert janitor.run().deleted["asterisk_logs"] >= 1 and not new[0].exists()
    assert not list(log_dir.rglob("Master.csv"))
    assert (log_dir / "queue_log").exists()   # the call's ENTERQUEUE/CONNECT..., read by the reconciliation
