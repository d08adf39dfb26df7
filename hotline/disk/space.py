"""Free space of the file systems the hotline writes to, and the alarm level (pure but for statvfs).

A volume is a role (``state``, ``recordings``, ``cel_log``, ``asterisk_logs``) and a directory.
Free space is what an unprivileged writer could still use (``f_bavail``), the conservative
figure. The alarm is ``low`` under the warning thresholds, ``critical`` under the minimum ones
(either the percentage or the absolute figure; see :class:`hotline.config.site.Retention`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from hotline.config.site import Retention

MB = 1024 * 1024

# What a full file system costs, by role: the alarm's reason says it.
CONSEQUENCE = {
    "state": "the record journal and the SQLite store cannot grow: new records wait in the controller's memory "
             "and are written when space returns",
    "recordings": "new recordings are not written (calls are still answered and recorded as records)",
    "cel_log": "Asterisk cannot append to the CEL log, the source of every call record",
    "asterisk_logs": "Asterisk's own logs stop",
}


@dataclass(frozen=True)
class Sample:
    role: str
    path: str
    free_bytes: int | None = None
    total_bytes: int | None = None
    alarm: str | None = None          # None, "low" or "critical"
    error: str | None = None          # statvfs failed: the reason

    @property
    def free_percent(self) -> float | None:
        if self.free_bytes is None or not self.total_bytes:
            return None
        return round(100.0 * self.free_bytes / self.total_bytes, 2)

    def as_dict(self) -> dict[str, object]:
        return {"role": self.role, "path": self.path, "free_bytes": self.free_bytes,
                "total_bytes": self.total_bytes, "free_percent": self.free_percent, "alarm": self.alarm,
                "error": self.error}


def level(free_bytes: int, total_bytes: int, r: Retention) -> str | None:
    """The alarm for a file system with ``free_bytes`` of ``total_bytes`` free."""
    percent = 100.0 * free_bytes / total_bytes if total_bytes else 0.0
    if free_bytes < r.min_free_mb * MB or percent < r.min_free_percent:
        return "critical"
    if free_bytes < r.warn_free_mb * MB or percent < r.warn_free_percent:
        return "low"
    return None


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing parent (a directory not created yet is on its parent's disk)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return path


def sample(role: str, path: Path, r: Retention,
           statvfs: Callable[[Path], os.statvfs_result] = os.statvfs) -> Sample:
    try:
        st = statvfs(_existing(path))
    except OSError as exc:
        return Sample(role, str(path), error=f"statvfs failed: {exc.strerror or exc}")
    free, total = st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize
    return Sample(role, str(path), free, total, level(free, total, r))


_RANK = {None: 0, "low": 1, "critical": 2}


def summary(samples: list[Sample], r: Retention) -> dict[str, object]:
    """``/status``'s ``disk``: the worst volume decides; ``reason`` names it, its free space and
    the threshold crossed, and what a full one costs. ``ok`` is false only when critical."""
    measured = [s for s in samples if s.free_bytes is not None]
    worst = max(measured, key=lambda s: (_RANK[s.alarm], -(s.free_percent or 0.0)), default=None)
    alarm = worst.alarm if worst else None
    reason = None
    if worst is not None and alarm is not None:
        bad = [s for s in measured if s.alarm == alarm]
        roles = ", ".join(s.role for s in bad)
        limit = (f"min_free_mb {r.min_free_mb} MB / min_free_percent {r.min_free_percent}%" if alarm == "critical"
                 else f"warn_free_mb {r.warn_free_mb} MB / warn_free_percent {r.warn_free_percent}%")
        reason = (f"{roles}: {_human(worst.free_bytes or 0)} free ({worst.free_percent}%), under {limit}; "
                  f"when full: {'; '.join(CONSEQUENCE.get(s.role, s.role) for s in bad)}")
    errors = [f"{s.role}: {s.error}" for s in samples if s.error]
    return {"ok": alarm != "critical", "alarm": alarm, "reason": reason,
            "free_bytes": worst.free_bytes if worst else None,
            "free_percent": worst.free_percent if worst else None,
            "errors": errors, "volumes": [s.as_dict() for s in samples]}


def _human(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"
