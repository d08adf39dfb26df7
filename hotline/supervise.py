"""A small supervisor for hosts without systemd: runs a systemd unit's ``ExecStart`` and restarts it
as the unit's ``Restart=`` says (``hotline supervise UNIT_FILE``).

On a Debian server systemd itself runs the units in ``packaging/systemd`` and this module is not
used. Containers and CI machines have no systemd as PID 1; there the same unit file is run by this
supervisor, so what the tests prove (a killed controller comes back) is the unit's behaviour, not
a test helper's. Honoured keys of ``[Service]``: ``ExecStartPre`` (each, in order, before every
start, as systemd runs them: ``+`` without ``User=``/``Group=``, ``-`` failure ignored; another
failure fails that start), ``ExecStart`` (one command), ``Restart``
(``always``, ``on-failure``, ``no``), ``RestartSec``, ``User``, ``Group``, ``UMask``,
``WorkingDirectory``, ``Environment``; the sandboxing keys (``ProtectSystem``…) need systemd and are
ignored here.
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from hotline.exceptions import InvalidRequest

log = logging.getLogger(__name__)
EXIT_EXEC = 203   # systemd's exit status when the command cannot be executed


@dataclass(frozen=True)
class Command:
    argv: list[str]
    privileged: bool = False      # "+": User=/Group= not applied
    ignore_failure: bool = False  # "-": a non-zero exit is not a failure


def _command(line: str) -> Command:
    prefix = line[: len(line) - len(line.lstrip("-@+!:"))]
    return Command(argv=shlex.split(line[len(prefix):]), privileged="+" in prefix, ignore_failure="-" in prefix)


@dataclass(frozen=True)
class ServiceSpec:
    argv: list[str]
    pre: list[Command] = field(default_factory=list)
    privileged: bool = False   # ExecStart=+…: run without User=/Group= (ExecStartPre still has them)
    restart: str = "no"
    restart_sec: float = 0.1
    user: str | None = None
    group: str | None = None
    umask: int | None = None
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def parse_unit(path: Path) -> ServiceSpec:
    """The ``[Service]`` section of a unit file (a clear error names the file and the key)."""
    section, keys = "", {}
    env: dict[str, str] = {}
    pre: list[Command] = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section != "Service" or "=" not in line:
            continue
        key, value = (s.strip() for s in line.split("=", 1))
        if key == "Environment":
            for item in shlex.split(value):
                k, _, v = item.partition("=")
                env[k] = v
        elif key == "ExecStartPre":
            if not value:   # systemd: an empty assignment resets the list
                pre.clear()
            else:
                pre.append(_command(value))
        else:
            keys[key] = value
    if not keys.get("ExecStart"):
        raise InvalidRequest(f"{path}: ExecStart", "[Service] has no ExecStart")
    start = _command(keys["ExecStart"])
    privileged = start.privileged   # systemd: full privileges, User=/Group= not applied
    argv = start.argv
    restart = keys.get("Restart", "no")
    if restart not in ("always", "on-failure", "no"):
        raise InvalidRequest(f"{path}: Restart", "supported here: always, on-failure, no", value=restart)
    return ServiceSpec(argv=argv, pre=pre, privileged=privileged, restart=restart,
                       restart_sec=_seconds(keys.get("RestartSec", "0.1")),
                       user=keys.get("User"), group=keys.get("Group"),
                       umask=int(keys["UMask"], 8) if "UMask" in keys else None,
                       cwd=keys.get("WorkingDirectory"), env=env)


def _seconds(text: str) -> float:
    text = text.strip()
    for suffix, factor in (("ms", 0.001), ("s", 1.0), ("min", 60.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


class Supervisor:
    def __init__(self, spec: ServiceSpec, pid_file: Path | None = None) -> None:
        self.spec = spec
        self.pid_file = pid_file
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self.starts = 0

    def _popen(self, command: Command) -> subprocess.Popen[bytes]:
        s = self.spec
        return subprocess.Popen(command.argv, cwd=s.cwd, env={**os.environ, **s.env},
                                user=None if command.privileged else s.user,
                                group=None if command.privileged else s.group,
                                umask=-1 if s.umask is None else s.umask)

    def _run(self, command: Command) -> int:
        """Start ``command``; one that cannot be executed fails like systemd's 203/EXEC."""
        try:
            self.child = self._popen(command)
        except OSError as exc:
            log.error("supervise: cannot execute %s: %s", command.argv[0], exc)
            self.child = None
            return EXIT_EXEC
        return 0

    def _pre(self) -> int:
        """ExecStartPre=, in order: the first failure (not ``-``) fails this start."""
        for command in self.spec.pre:
            code = self._run(command)
            if code == 0:
                assert self.child is not None
                code = self.child.wait()
            if self.stopping:
                return 0
            if code != 0 and not command.ignore_failure:
                log.warning("supervise: ExecStartPre %s exited with %d", command.argv[0], code)
                return code
        return 0

    def _spawn(self) -> int:
        s = self.spec
        code = self._run(Command(argv=s.argv, privileged=s.privileged))
        self.starts += 1
        if code:
            return code
        assert self.child is not None
        if self.pid_file is not None:
            tmp = self.pid_file.with_name(self.pid_file.name + ".tmp")
            tmp.write_text(f"{self.child.pid}\n")
            tmp.replace(self.pid_file)
        log.info("supervise: started %s (pid %d, start %d)", s.argv[0], self.child.pid, self.starts)
        return 0

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        while True:
            code = self._pre()
            if code == 0 and not self.stopping:
                code = self._spawn()
                if code == 0:
                    assert self.child is not None
                    code = self.child.wait()
            if self.stopping:
                return 0
            wanted = self.spec.restart == "always" or (self.spec.restart == "on-failure" and code != 0)
            if not wanted:
                return code
            log.warning("supervise: %s exited with %d; restarting in %.1f s", self.spec.argv[0], code,
                        self.spec.restart_sec)
            time.sleep(self.spec.restart_sec)
            if self.stopping:
                return 0
