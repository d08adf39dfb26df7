"""The janitor deletes exactly what the retention says: old files of our own names, never a
link, never a live call's recording, nothing when a limit is 0 (keep forever)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hotline.config.site import Retention
from hotline.disk.janitor import DAY, RECORDING, Janitor, rotated, rules, sweep

NOW = 1_800_000_000.0


def touch(path: Path, age_days: float, size: int = 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, (NOW - age_days * DAY, NOW - age_days * DAY), follow_symlinks=False)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    d = {"state": tmp_path / "state", "rec": tmp_path / "spool" / "monitor", "cel": tmp_path / "log" / "cel-custom",
         "log": tmp_path / "log", "cdr": tmp_path / "log" / "cdr-custom"}
    for p in d.values():
        p.mkdir(parents=True, exist_ok=True)
    return d


def janitor_for(tree: dict[str, Path], r: Retention, **kw: object) -> Janitor:
    return Janitor(r, rules(r, state_dir=tree["state"], journal_name="records.journal", recordings_dir=tree["rec"],
                            cel_log=tree["cel"] / "hotline-cel.json", asterisk_log_dir=tree["log"],
                            cdr_log=tree["cdr"] / "hotline-cdr.json"),
                   asterisk_log_dir=tree["log"], clock=lambda: NOW, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("name, call_id", [
    ("1712345678.42.wav", "1712345678.42"), ("1712345678.42-message.wav", "1712345678.42"),
    ("pbx-a-1712345678.42.wav", "pbx-a-1712345678.42"),
    ("prompt.wav", None), ("1712345678.42.wav.bak", None), ("../1.2.wav", None), (".1.2.wav", None),
    ("1712345678.wav", None), ("1.2.mp3", None),
])
def test_only_our_recording_names(name: str, call_id: str | None) -> None:
    m = RECORDING.match(name)
    assert (m.group("call_id") if m else None) == call_id


@pytest.mark.parametrize("name, hit", [
    ("hotline-cel.json", False), ("hotline-cel.json.1", True), ("hotline-cel.json.2.gz", True),
    ("hotline-cel.json-20250101", True), ("hotline-cel.json-2025-01-01.xz", True),
    ("hotline-cel.json.offset", False), ("hotline-cel.jsonx.1", False), ("other.json.1", False),
])
def test_rotated_names(name: str, hit: bool) -> None:
    assert bool(rotated("hotline-cel.json").match(name)) is hit


def test_old_recordings_go_new_and_live_ones_stay(tree: dict[str, Path]) -> None:
    r = Retention(recordings_days=10)
    old = touch(tree["rec"] / "1700000000.1.wav", 11, size=1000)
    old_msg = touch(tree["rec"] / "1700000000.2-message.wav", 30, size=500)
    live = touch(tree["rec"] / "1700000000.3.wav", 400)            # a call still in progress
    live_msg = touch(tree["rec"] / "1700000000.3-message.wav", 400)
    new = touch(tree["rec"] / "1700000000.4.wav", 9)
    other = touch(tree["rec"] / "notes.wav", 400)                    # not a name we give
    sub = touch(tree["rec"] / "archive" / "1700000000.5.wav", 400)   # subdirectories are not entered
    counts = janitor_for(tree, r).run(keep={"1700000000.3"})
    assert counts.deleted["recordings"] == 2 and counts.freed_bytes == 1500 and counts.errors == 0
    assert not old.exists() and not old_msg.exists()
    assert all(p.exists() for p in (live, live_msg, new, other, sub))


def test_symlinks_are_never_followed_nor_deleted(tree: dict[str, Path], tmp_path: Path) -> None:
    precious = touch(tmp_path / "elsewhere" / "1700000000.9.wav", 400)
    link = tree["rec"] / "1700000000.8.wav"
    link.symlink_to(precious)
    os.utime(link, (NOW - 400 * DAY, NOW - 400 * DAY), follow_symlinks=False)
    dir_link = tree["rec"] / "1700000000.7.wav"
    dir_link.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    counts = sweep(rules(Retention(recordings_days=1), state_dir=tree["state"], journal_name="records.journal",
                         recordings_dir=tree["rec"], cel_log=None, asterisk_log_dir=None)[1], NOW)
    assert counts.deleted == {"recordings": 0}
    assert precious.exists() and link.is_symlink() and dir_link.is_symlink()


def test_zero_days_keeps_everything(tree: dict[str, Path]) -> None:
    r = Retention(recordings_days=0, cel_days=0, logs_days=0, rejected_days=0)
    files = [touch(tree["rec"] / "1700000000.1.wav", 5000), touch(tree["cel"] / "hotline-cel.json.1", 5000),
             touch(tree["log"] / "messages.log.1700000000", 5000),
             touch(tree["state"] / "records.journal.rejected", 5000)]
    counts = janitor_for(tree, r).run()
    assert sum(counts.deleted.values()) == 0 and all(f.exists() for f in files)


def test_cel_logs_asterisk_logs_and_rejected_records_age_out(tree: dict[str, Path]) -> None:
    r = Retention(cel_days=30, logs_days=7, rejected_days=365)
    current_cel = touch(tree["cel"] / "hotline-cel.json", 100)      # the live log: never, whatever its age
    old_cel = [touch(tree["cel"] / "hotline-cel.json.2.gz", 31), touch(tree["cel"] / "hotline-cel.json-20240101", 90)]
    new_cel = touch(tree["cel"] / "hotline-cel.json.1", 29)
    messages = touch(tree["log"] / "messages.log", 100)
    old_logs = [touch(tree["log"] / "messages.log.1700000000", 8), touch(tree["log"] / "full.1", 8)]
    new_log = touch(tree["log"] / "messages.log.1790000000", 6)
    # Asterisk's own accounts (the reconciliation report reads them) are kept as long as the CEL log
    queue_logs = [touch(tree["log"] / "queue_log", 100), touch(tree["log"] / "queue_log.1790000000", 29)]
    old_accounts = [touch(tree["log"] / "queue_log.1700000000", 31), touch(tree["cdr"] / "hotline-cdr.json.1", 31)]
    cdr_logs = [touch(tree["cdr"] / "hotline-cdr.json", 100), touch(tree["cdr"] / "hotline-cdr.json.2", 29)]
    journal = touch(tree["state"] / "records.journal", 1000)
    rejected = touch(tree["state"] / "records.journal.rejected", 366)
    offset = touch(tree["state"] / "records.journal.offset", 1000)
    janitor = janitor_for(tree, r)
    counts = janitor.run()
    assert counts.deleted == {"rejected": 1, "recordings": 0, "cel_log": 2, "asterisk_logs": 2, "queue_log": 1,
                              "cdr_log": 1}
    assert not any(p.exists() for p in (*old_cel, *old_logs, *old_accounts, rejected))
    assert all(p.exists() for p in (current_cel, new_cel, messages, new_log, journal, offset, *queue_logs,
                                     *cdr_logs))
    assert janitor.status()["deleted"] == counts.deleted and janitor.runs == 1


def test_messages_log_past_its_size_is_rotated(tree: dict[str, Path]) -> None:
    rotations: list[int] = []
    janitor = janitor_for(tree, Retention(asterisk_log_max_mb=1), rotate_asterisk_logs=lambda: rotations.append(1))
    touch(tree["log"] / "messages.log", 0, size=1024 * 1024)
    janitor.run()
    assert rotations == []                        # at the limit: not yet
    touch(tree["log"] / "messages.log", 0, size=1024 * 1024 + 1)
    janitor.run()
    assert rotations == [1] and janitor.status()["log_rotations"] == 1


def test_queue_log_past_256_mb_is_rotated(tree: dict[str, Path]) -> None:
    rotations: list[int] = []
    janitor = janitor_for(tree, Retention(asterisk_log_max_mb=1000), rotate_asterisk_logs=lambda: rotations.append(1))
    queue_log = touch(tree["log"] / "queue_log", 0)
    os.truncate(queue_log, 256 * 1024 * 1024)     # sparse
    janitor.run()
    assert rotations == []                        # at the limit: not yet
    os.truncate(queue_log, 256 * 1024 * 1024 + 1)
    janitor.run()
    assert rotations == [1]


def test_a_file_that_cannot_be_deleted_is_counted_and_the_rest_goes_on(tree: dict[str, Path],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    stuck = touch(tree["rec"] / "1700000000.1.wav", 400)
    gone = touch(tree["cel"] / "hotline-cel.json.1", 400)
    real_unlink = os.unlink

    def unlink(path: str | os.PathLike[str], *a: object, **kw: object) -> None:
        if str(path) == str(stuck):
            raise PermissionError(13, "Permission denied")
        real_unlink(path)
    monkeypatch.setattr(os, "unlink", unlink)
    counts = janitor_for(tree, Retention(recordings_days=1, cel_days=1)).run()
    assert counts.errors == 1 and stuck.exists() and not gone.exists() and counts.deleted["cel_log"] == 1
