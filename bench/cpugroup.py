"""A CPU budget for a process: a cgroup-v1 CPU cgroup with a CFS quota (bench/edge_capacity.py).

``CpuGroup(name, cores).create()`` makes ``/sys/fs/cgroup/cpu/<name>`` with
``cpu.cfs_quota_us = cores × cpu.cfs_period_us``; ``adopt(pid)`` moves a running process there,
every thread (``cgroup.procs`` moves the whole thread group in cgroup v1; each thread is checked
in ``/proc/<pid>/task/<tid>/cgroup`` and any left behind is written to ``tasks``) and its child
processes. Threads and processes it creates later inherit the cgroup. ``remove()`` moves whatever
is left back to the root cgroup and deletes the directory. ``sweep_stale(prefix)`` removes the
groups of a run whose process is gone (named ``<prefix><pid>-...``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from bench.benchrig import descendants

CPU_ROOT = Path(os.environ.get("HOTLINE_CPU_CGROUP_ROOT", "/sys/fs/cgroup/cpu"))


def why_not() -> str | None:
    """Why CPU cgroups (v1) cannot be used here, or None."""
    if not (CPU_ROOT / "cpu.cfs_quota_us").exists():
        return f"no cgroup-v1 CPU controller at {CPU_ROOT} (cpu.cfs_quota_us)"
    if not os.access(CPU_ROOT, os.W_OK):
        return f"{CPU_ROOT} is not writable (run as root)"
    return None


def cpu_cgroup_of(pid: int, tid: int | None = None) -> str | None:
    """The CPU cgroup path of a process (or one of its threads), e.g. '/hle123-node-a'."""
    path = f"/proc/{pid}/task/{tid}/cgroup" if tid is not None else f"/proc/{pid}/cgroup"
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3 and "cpu" in parts[1].split(","):
            return parts[2]
    return None


def _write(path: Path, value: str) -> bool:
    try:
        path.write_text(value)
        return True
    except OSError:   # the task is gone (a thread that ended meanwhile)
        return False


@dataclass
class CpuGroup:
    name: str
    cores: float            # the quota, in cores (0.4: 40 ms of CPU every 100 ms)
    period_us: int = 100_000

    @property
    def path(self) -> Path:
        return CPU_ROOT / self.name

    @property
    def inner(self) -> str:
        return "/" + self.name

    def create(self) -> None:
        self.path.mkdir(exist_ok=True)
        (self.path / "cpu.cfs_period_us").write_text(str(self.period_us))
        (self.path / "cpu.cfs_quota_us").write_text(str(int(self.cores * self.period_us)))

    def adopt(self, pid: int, attempts: int = 20) -> int:
        """Move process ``pid`` (every thread) and its children here; returns the number of
        threads moved. Raises RuntimeError when some thread is still elsewhere after retries."""
        for _ in range(attempts):
            pids = [pid, *descendants(pid)]
            for p in pids:
                _write(self.path / "cgroup.procs", str(p))
            stray = []
            for p in pids:
                for task in Path(f"/proc/{p}/task").glob("*"):
                    group = cpu_cgroup_of(p, int(task.name))
                    if group is not None and group != self.inner:
                        _write(self.path / "tasks", task.name)
                        stray.append(task.name)
            if not stray:
                return sum(len(list(Path(f"/proc/{p}/task").glob("*"))) for p in pids)
            time.sleep(0.05)
        raise RuntimeError(f"threads of {pid} still outside {self.path} after {attempts} attempts")

    def outside(self, pid: int) -> int:
        """Threads of ``pid`` and its children that are not in this group (0 when confined)."""
        return sum(1 for p in [pid, *descendants(pid)] for task in Path(f"/proc/{p}/task").glob("*")
                   if cpu_cgroup_of(p, int(task.name)) not in (None, self.inner))

    def stat(self) -> dict[str, int]:
        """cpu.stat: nr_periods, nr_throttled, throttled_time (ns)."""
        try:
            text = (self.path / "cpu.stat").read_text()
        except OSError:
            return {}
        return {k: int(v) for k, v in (line.split() for line in text.splitlines() if len(line.split()) == 2)}

    def remove(self) -> bool:
        """Back to the root cgroup with whatever is left here, and delete the group."""
        if not self.path.exists():
            return True
        for _ in range(50):
            try:
                tids = (self.path / "tasks").read_text().split()
            except OSError:
                tids = []
            for tid in tids:
                _write(CPU_ROOT / "tasks", tid)
            try:
                self.path.rmdir()
                return True
            except OSError:
                time.sleep(0.1)
        return not self.path.exists()


def sweep_stale(prefix: str) -> list[str]:
    """Remove the groups named <prefix><pid>-... whose pid is gone (a run that was killed)."""
    removed = []
    for d in CPU_ROOT.glob(f"{prefix}*") if CPU_ROOT.is_dir() else []:
        owner = d.name[len(prefix):].split("-", 1)[0]
        if d.is_dir() and owner.isdigit() and not Path(f"/proc/{owner}").exists():
            if CpuGroup(d.name, 0).remove():
                removed.append(d.name)
    return removed
