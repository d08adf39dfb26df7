"""The janitor: deletes what the site's retention says is old enough, and nothing else.

Each rule is a directory, a file-name pattern and an age in days (0: keep forever). Only
regular files directly in the directory whose name matches are candidates: symbolic links
are never followed nor deleted, subdirectories are never entered, and the age is the file's
own modification time (``lstat``). Recordings of calls still in progress are never touched,
whatever their age. Every deletion is counted by rule; a file that cannot be deleted is
counted as an error and logged (rate-limited to one line per rule and pass).

Asterisk's ``messages.log`` is bounded by size: past ``asterisk_log_max_mb`` the janitor asks
Asterisk to rotate its logs (``logger rotate``; ``rotatestrategy = timestamp`` in
``asterisk/static/logger.conf``), and the rotated files age out after ``logs_days``. The same
rotation is asked for when app_queue's ``queue_log`` passes 256 MB; Asterisk's own accounts of the
calls (the rotated ``queue_log.<unix time>`` and CDR logs, read by the reconciliation report) are
kept as long as the CEL log's (``cel_days``).
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from hotline.config.site import Retention
from hotline.spine.ids import CALL_ID_PLAIN

log = logging.getLogger(__name__)

DAY = 86400.0

RECORDING = re.compile(rf"^(?P<call_id>{CALL_ID_PLAIN})(?:-message)?\.wav$")
"""``<call_id>.wav`` and ``<call_id>-message.wav``, the call id an Asterisk Linkedid
(``[systemname-]epoch.sequence``): the names the dialplan gives recordings, nothing else."""

_COMPRESSED = r"(?:\.gz|\.xz|\.bz2|\.zst)?"
ASTERISK_LOGS = ("messages.log", "console.log", "full")
QUEUE_LOG = "queue_log"
QUEUE_LOG_MAX_BYTES = 256 * 1024 * 1024   # as the CEL log's logrotate rule (maxsize 256M)


def rotated(name: str) -> re.Pattern[str]:
    """Rotated copies of the log ``name`` (never ``name`` itself): ``name.1``, ``name.2.gz``
    (logrotate), ``name-20250101``, ``name-2025-01-01.gz`` (dateext), ``name.1735689600``
    (Asterisk's ``timestamp`` strategy)."""
    return re.compile(rf"^{re.escape(name)}[.-][0-9][0-9_T:-]*{_COMPRESSED}$")


@dataclass
class Rule:
    kind: str                                  # what /status counts it as
    directory: Path
    matches: Callable[[str], str | None]       # name -> the key checked against ``keep`` ("" if none)
    days: int                                  # 0: keep forever


@dataclass
class Counts:
    deleted: dict[str, int] = field(default_factory=dict)
    freed_bytes: int = 0
    errors: int = 0

    def add(self, other: "Counts") -> None:
        for k, v in other.deleted.items():
            self.deleted[k] = self.deleted.get(k, 0) + v
        self.freed_bytes += other.freed_bytes
        self.errors += other.errors


def _by_pattern(pattern: re.Pattern[str]) -> Callable[[str], str | None]:
    return lambda name: "" if pattern.match(name) else None


def _recording(name: str) -> str | None:
    m = RECORDING.match(name)
    return m.group("call_id") if m else None


def rules(r: Retention, *, state_dir: Path, journal_name: str, recordings_dir: Path | None,
          cel_log: Path | None, asterisk_log_dir: Path | None, cdr_log: Path | None = None) -> list[Rule]:
    out = [Rule("rejected", state_dir, _by_pattern(re.compile(rf"^{re.escape(journal_name)}\.rejected(?:[.-].+)?$")),
                r.rejected_days)]
    if recordings_dir is not None:
        out.append(Rule("recordings", recordings_dir, _recording, r.recordings_days))
    if cel_log is not None:
        out.append(Rule("cel_log", cel_log.parent, _by_pattern(rotated(cel_log.name)), r.cel_days))
    if asterisk_log_dir is not None:
        pattern = re.compile("|".join(rotated(n).pattern for n in ASTERISK_LOGS))
        out.append(Rule("asterisk_logs", asterisk_log_dir, _by_pattern(pattern), r.logs_days))
        out.append(Rule("queue_log", asterisk_log_dir, _by_pattern(rotated(QUEUE_LOG)), r.cel_days))
    if cdr_log is not None:
        out.append(Rule("cdr_log", cdr_log.parent, _by_pattern(rotated(cdr_log.name)), r.cel_days))
    return out


def sweep(rule: Rule, now: float, keep: Iterable[str] = ()) -> Counts:
    """Delete the files of ``rule`` older than its days; ``keep``: call ids still in progress."""
    counts = Counts(deleted={rule.kind: 0})
    if rule.days <= 0:
        return counts
    cutoff = now - rule.days * DAY
    live = set(keep)
    first_error: str | None = None
    try:
        entries = list(os.scandir(rule.directory))
    except FileNotFoundError:
        return counts
    except OSError as exc:
        log.warning("janitor: cannot list %s (%s): %s", rule.directory, rule.kind, exc)
        counts.errors += 1
        return counts
    for entry in entries:
        key = rule.matches(entry.name)
        if key is None or (key and key in live):
            continue
        try:
            if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
                continue
            st = entry.stat(follow_symlinks=False)
            if st.st_mtime >= cutoff:
                continue
            os.unlink(entry.path)   # a name swapped for a link meanwhile: the link goes, never its target
        except FileNotFoundError:
            continue
        except OSError as exc:
            counts.errors += 1
            first_error = first_error or f"{entry.path}: {exc.strerror or exc}"
            continue
        counts.deleted[rule.kind] += 1
        counts.freed_bytes += st.st_size
    if first_error:
        log.warning("janitor: %d %s file(s) could not be deleted, first: %s", counts.errors, rule.kind, first_error)
    return counts


class Janitor:
    """One pass over every rule, plus the size bound of Asterisk's messages.log."""

    def __init__(self, retention: Retention, rule_list: list[Rule], *, asterisk_log_dir: Path | None = None,
                 rotate_asterisk_logs: Callable[[], object] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._r = retention
        self._rules = rule_list
        self._log_dir = asterisk_log_dir
        self._rotate = rotate_asterisk_logs
        self._clock = clock
        self.totals = Counts(deleted={rule.kind: 0 for rule in rule_list})
        self.runs = 0
        self.rotations = 0
        self.last_run: float | None = None

    def run(self, keep: Iterable[str] = ()) -> Counts:
        """From a worker thread: never on the event loop."""
        live = set(keep)
        now = self._clock()
        counts = Counts()
        self._bound_asterisk_log()
        for rule in self._rules:
            try:
                counts.add(sweep(rule, now, live))
            except Exception:   # one rule's failure must not stop the others
                log.exception("janitor: rule %s failed", rule.kind)
                counts.errors += 1
        self.totals.add(counts)
        self.runs += 1
        self.last_run = now
        if any(counts.deleted.values()):
            log.info("janitor: deleted %s (%d bytes)", counts.deleted, counts.freed_bytes)
        return counts

    def _bound_asterisk_log(self) -> None:
        if self._log_dir is None or self._rotate is None:
            return
        size = _size(self._log_dir / "messages.log")
        if size > self._r.asterisk_log_max_mb * 1024 * 1024 or _size(self._log_dir / QUEUE_LOG) > QUEUE_LOG_MAX_BYTES:
            try:
                self._rotate()
                self.rotations += 1
                log.info("janitor: Asterisk's messages.log was %d bytes (or the queue_log past 256 MB): logs rotated",
                         size)
            except Exception as exc:
                log.warning("janitor: rotating Asterisk's logs failed: %s", exc)
                self.totals.errors += 1

    def status(self) -> dict[str, object]:
        return {"runs": self.runs, "last_run": self.last_run, "deleted": dict(self.totals.deleted),
                "freed_bytes": self.totals.freed_bytes, "errors": self.totals.errors,
                "log_rotations": self.rotations}


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0
