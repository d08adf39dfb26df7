"""A small supervisor for hosts without systemd: runs a systemd unit's ``ExecStart`` and restarts it
as the unit's ``Restart=`` says (``hotline supervise UNIT_FILE``).

On a Debian server systemd itself runs the units in ``packaging/systemd`` and this module is not
used. Containers and CI machines have no systemd as PID 1; there the same unit file is run by this
supervisor, so what the tests prove (a killed controller comes back) is the unit's behaviour, not
a test helper's. Honoured keys of ``[Service]``: ``ExecStart`` (one command), ``Restart``
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


@dataclass(frozen=True)
class ServiceSpec:
    argv: list[str]
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
        else:
            keys[key] = value
    if not keys.get("ExecStart"):
        raise InvalidRequest(f"{path}: ExecStart", "[Service] has no ExecStart")
    command = keys["ExecStart"]
    privileged = command.startswith("+")   # systemd: full privileges, User=/Group= not applied
    argv = shlex.split(command.lstrip("-@+!:"))
    restart = keys.get("Restart", "no")
    if restart not in ("always", "on-failure", "no"):
        raise InvalidRequest(f"{path}: Restart", "supported here: always, on-failure, no", value=restart)
    return ServiceSpec(argv=argv, restart=restart, restart_sec=_seconds(keys.get("RestartSec", "0.1")),
                       user=None if privileged else keys.get("User"),
                       group=None if privileged else keys.get("Group"),
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

    def _spawn(self) -> None:
        s = self.spec
        self.child = subprocess.Popen(s.argv, cwd=s.cwd, env={**os.environ, **s.env}, user=s.user, group=s.group,
                                      umask=-1 if s.umask is None else s.umask)
        self.starts += 1
        if self.pid_file is not None:
            tmp = self.pid_file.with_name(self.pid_file.name + ".tmp")
            tmp.write_text(f"{self.child.pid}\n")
            tmp.replace(self.pid_file)
        log.info("supervise: started %s (pid %d, start %d)", s.argv[0], self.child.pid, self.starts)

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        while True:
            self._spawn()
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
