"""File modes of everything the product writes: never world-readable, never by luck.

The state directory holds every caller's number (``hotline.db``, the journal, recordings) and
secrets (``ami.secret``, ``auth.key``, the generated ``pjsip.conf`` and ``manager.conf``). The
product sets its own umask at start (:data:`UMASK`, group may read, others nothing), passes it to
the Asterisk it starts, and creates the files that matter with explicit modes:

* :data:`PRIVATE` (0600): secrets only the controller reads (``ami.secret``, ``auth.key``, the
  journal and its ``.rejected`` file);
* :data:`GROUP_READ` (0640): files a second service account reads through the group (the generated
  Asterisk configuration, the SQLite database, recordings);
* :data:`DIRECTORY` (0750).
"""

from __future__ import annotations

import os
from pathlib import Path

UMASK = 0o027
PRIVATE = 0o600
GROUP_READ = 0o640
DIRECTORY = 0o750


def apply_umask() -> int:
    """Set the product's umask for this process and its children; returns the previous one."""
    return os.umask(UMASK)


def ensure_file(path: Path, mode: int) -> None:
    """Create ``path`` empty with ``mode`` when missing; an existing file loses every permission
    bit beyond ``mode`` (a database created world-readable by an older release is tightened)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, mode)
    try:
        current = os.fstat(fd).st_mode & 0o777
        if current & ~mode:
            os.fchmod(fd, current & mode)
    finally:
        os.close(fd)


def write_file(path: Path, text: str, mode: int) -> None:
    """Write ``text`` to ``path`` (created or truncated) with exactly ``mode``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", closefd=False) as fh:
            fh.write(text)
    finally:
        os.close(fd)


def ensure_dir(path: Path, mode: int = DIRECTORY) -> None:
    """``mkdir -p`` whose new directories get ``mode`` (not the umask's default)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir(mode=mode, exist_ok=True)
        os.chmod(d, mode)


def write_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically with ``data``, fsynced (file and directory): after a crash or a
    power cut it holds the old bytes or the new ones, never a torn mix."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
