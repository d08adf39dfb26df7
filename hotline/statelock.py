"""One controller per state directory: an exclusive ``flock`` on ``<state>/controller.lock``.

Two controllers on one state directory would append to and truncate the same journal
and save the same CEL offset. The lock is taken before anything in the directory is
opened and held (by an open file descriptor) for the life of the process; the kernel
releases it when the process dies, however it dies, so a stale lock file never blocks
a restart. The holder's pid is written into the file for the error message.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from hotline.exceptions import StateDirLocked

LOCK_NAME = "controller.lock"


class StateDirLock:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_NAME
        self._state_dir = state_dir
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`StateDirLocked` naming the directory and the holder's pid."""
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            finally:
                os.close(fd)
            raise StateDirLocked(str(self._state_dir), holder) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None
