"""Issue 8: the controller's record path (journal, feeder, reconciler, CEL offset) loses
nothing when the process dies at any point, and one state directory has one controller.

The controller is built for real (nothing started: no Asterisk, AMI or API needed) on the
CEL fixture of one answered call; "the process dies" is simulated by dropping the
controller with its feeder queue unwritten and building a new one on the same state dir."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hotline.app import Controller, _OffsetFile
from hotline.calls.cellog import read_records
from hotline.config import load_site
from hotline.config.paths import Paths
from hotline.exceptions import StateDirLocked
from hotline.store import journal as journal_mod

REPO = Path(__file__).resolve().parents[2]
CALL_ID = "1795444596.1"

Build = Callable[[], Controller]


@pytest.fixture
def build(controller_paths: Paths) -> Iterator[Build]:
    site = load_site(str(REPO / "examples" / "nantong" / "site.yaml"))
    paths = controller_paths
    built: list[Controller] = []

    def make() -> Controller:
        controller = Controller(site, paths)
        built.append(controller)
        return controller

    yield make
    for controller in built:
        die(controller)


def die(controller: Controller) -> None:
    """What kill -9 leaves: the journal file and offsets on disk, nothing in memory."""
    controller.journal.stop()
    controller.store.close()
    controller.state_lock.release()


def stored(controller: Controller) -> list[str]:
    controller.store.upgrade()
    controller.journal.start()
    assert controller.journal.flush(timeout=15) is True
    return [r.call_id for r in controller.store.list_calls()[0]]


def test_reconciled_records_are_in_the_journal_before_the_offset_moves(build: Build) -> None:
    first = build()
    assert first.reconciler is not None and first.reconciler.run() == 1
    assert first._offsets.load().offset > 0
    die(first)  # the feeder never ran: whatever sat in its queue is gone

    second = build()
    assert second.reconciler is not None and second.reconciler.run() == 0  # past the offset now
    assert stored(second) == [CALL_ID]


def test_a_live_record_still_held_by_the_feeder_is_written_by_the_reconciler(build: Build) -> None:
    controller = build()
    events, _, _ = read_records(controller.reconciler.path, 0)  # type: ignore[union-attr]
    for _, event in events:
        controller.tracker.add(event)
    assert controller.tracker.recorded_live(CALL_ID)
    assert controller.feeder.held() == 1 and not controller.feeder.durable(CALL_ID)

    controller.reconciler.run()  # type: ignore[union-attr]
    assert controller.journal.pending() == 1  # durable although the feeder never wrote it
    die(controller)
    assert stored(build()) == [CALL_ID]


def test_a_failed_append_leaves_the_offset_where_it_was(build: Build, monkeypatch: pytest.MonkeyPatch) -> None:
    controller = build()

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(journal_mod.os, "fsync", full)
        with pytest.raises(OSError):
            controller.reconciler.run()  # type: ignore[union-attr]
    assert controller._offsets.load().offset == 0
    status = controller.journal.status()
    assert status["ok"] is False and "No space" in status["last_error"] and status["append_errors"] == 1

    assert controller.reconciler.run() == 1  # type: ignore[union-attr]
    assert controller._offsets.load().offset > 0 and controller.journal.pending() == 1


def test_a_second_controller_on_the_state_dir_is_refused(build: Build, tmp_path: Path) -> None:
    """Two processes: one holds the state directory, the second is told who holds it."""
    state = tmp_path / "state"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\nfrom hotline.statelock import "
         "StateDirLock\nStateDirLock(Path(sys.argv[1])).acquire()\nprint('held', flush=True)\ntime.sleep(600)",
         str(state)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StateDirLocked) as refused:
            build()
        assert refused.value.error_id == "state-dir-locked"
        assert str(state) in refused.value.message and f"pid {holder.pid}" in refused.value.message
        assert not (state / "records.journal").exists() or (state / "records.journal").stat().st_size == 0
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    build()  # the kernel dropped the dead holder's lock: no stale lock file to clean up


def test_one_process_cannot_build_two_controllers_on_one_state_dir(build: Build) -> None:
    build()
    with pytest.raises(StateDirLocked):
        build()


def test_an_unreadable_offset_file_is_an_error_not_a_full_replay(tmp_path: Path) -> None:
    offsets = _OffsetFile(tmp_path / "cel.offset")
    assert offsets.load().offset == 0  # no file yet: the log's start
    offsets.save(1234)
    assert offsets.load().offset == 1234 and not (tmp_path / "cel.offset.tmp").exists()
    os.unlink(offsets.path)
    offsets.path.mkdir()  # a real read error (EISDIR); as root, chmod would not stop the read
    with pytest.raises(OSError):
        offsets.load()
