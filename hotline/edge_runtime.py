"""The SIP edge's runtime: Kamailio in front of the Asterisk nodes (site config ``edge:``).

``hotline edge start|run|stop|status``, like ``hotline asterisk``. The configuration is generated
from the site config (``trunk_config/kamailio.py``, called by ``hotline.deploy.generate_edge``)
into ``<state>/edge``; Kamailio runs in the
foreground (``-DD -E``) as a child of the product (``start``) or as the service's own process
(``run``), and drops root itself (``-u``/``-g``, the Debian package's ``kamailio`` account) after
it has bound its port. ``status`` asks it over its control socket (kamcmd) which nodes are in.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from hotline.asterisk_runtime import pid_alive
from hotline.exceptions import EdgeRuntimeError
from hotline.filemodes import DIRECTORY, GROUP_READ, UMASK, ensure_dir, write_file

KAMAILIO = "/usr/sbin/kamailio"
KAMCMD = "/usr/sbin/kamcmd"
ACCOUNT = "kamailio"      # made by the Debian package
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}   # started here: reaped by stop()


@dataclass(frozen=True)
class Edge:
    """One edge instance: its files in ``directory``; ``prefix`` runs it elsewhere (the test rig
    puts it in a network namespace: ``["ip", "netns", "exec", NAME]``)."""

    directory: Path
    prefix: list[str] = field(default_factory=list)

    @property
    def config(self) -> Path:
        return self.directory / "kamailio.cfg"

    @property
    def ctl_socket(self) -> Path:
        return self.directory / "run" / "kamailio_ctl"

    @property
    def pid_file(self) -> Path:
        return self.directory / "run" / "kamailio.pid"

    @property
    def log_file(self) -> Path:
        return self.directory / "kamailio.log"

    def write(self, files: dict[str, str], user: str | None = ACCOUNT) -> list[Path]:
        """Write the generated files (kamailio.cfg, dispatcher.list); the ``user`` account's group
        reads them and owns the run directory (its control socket)."""
        ensure_dir(self.directory)
        ensure_dir(self.ctl_socket.parent)
        written = []
        for name, text in sorted(files.items()):
            target = self.directory / name
            tmp = target.with_name(f".{name}.tmp")
            write_file(tmp, text, GROUP_READ)
            tmp.replace(target)
            written.append(target)
        if user and os.geteuid() == 0:
            uid, gid = _account(user)
            for p in (self.directory, *written):
                os.chown(p, 0, gid)
            os.chown(self.ctl_socket.parent, uid, gid)
            os.chmod(self.ctl_socket.parent, DIRECTORY)
        return written

    def check(self) -> None:
        """Kamailio's own syntax and module check of the generated file."""
        if not Path(KAMAILIO).exists():
            raise EdgeRuntimeError("kamailio is not installed (Debian package kamailio; scripts/setup.sh)")
        r = subprocess.run([KAMAILIO, "-c", "-f", str(self.config)], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise EdgeRuntimeError(f"kamailio refuses {self.config}: {_tail_text(r.stdout + r.stderr)}")

    def argv(self, user: str | None = ACCOUNT) -> list[str]:
        if not Path(KAMAILIO).exists():
            raise EdgeRuntimeError("kamailio is not installed (Debian package kamailio; scripts/setup.sh)")
        drop: list[str] = []
        if not user and os.geteuid() == 0:
            raise EdgeRuntimeError("the edge never runs as root: give an unprivileged --user (default kamailio)")
        if user:
            if user == "root" or _account(user)[0] == 0:
                raise EdgeRuntimeError("the edge never runs as root: give an unprivileged --user", user=user)
            drop = ["-u", user, "-g", grp.getgrgid(_account(user)[1]).gr_name]
        return [*self.prefix, KAMAILIO, "-DD", "-E", "-f", str(self.config), *drop]

    def run_foreground(self, user: str | None = ACCOUNT) -> None:
        """Replace this process by Kamailio (for a service manager, which sees its exit)."""
        argv = self.argv(user)
        os.umask(UMASK)
        os.execvp(argv[0], argv)

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def start(self, user: str | None = ACCOUNT, timeout: float = 20.0) -> int:
        """Start Kamailio in the foreground as a child in its own session; wait until its control
        socket answers. Returns its pid."""
        existing = self.pid()
        if existing:
            return existing
        self.ctl_socket.unlink(missing_ok=True)
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(self.argv(user), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True, umask=UMASK)
        _CHILDREN[proc.pid] = proc
        self.pid_file.write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                _CHILDREN.pop(proc.pid, None)
                raise EdgeRuntimeError(f"kamailio exited with {proc.returncode}: {_tail(self.log_file)}")
            if self.rpc("core.version", check=False):
                return proc.pid
            time.sleep(0.1)
        self.stop()
        raise EdgeRuntimeError(f"kamailio did not answer on {self.ctl_socket} within {timeout:.0f} s: "
                               f"{_tail(self.log_file)}")

    def stop(self, timeout: float = 10.0) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        os.killpg(pid, signal.SIGTERM)   # its own session: the main process and its children
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.05)
        if pid_alive(pid):
            os.killpg(pid, signal.SIGKILL)
        child = _CHILDREN.pop(pid, None)
        if child is not None:
            child.wait(timeout=timeout)
        self.pid_file.unlink(missing_ok=True)
        return True

    def rpc(self, *command: str, check: bool = True) -> str | None:
        """One kamcmd command over the control socket."""
        try:
            r = subprocess.run([KAMCMD, "-s", f"unix:{self.ctl_socket}", *command], capture_output=True,
                               text=True, timeout=5)
        except (subprocess.TimeoutExpired, OSError) as exc:
            if check:
                raise EdgeRuntimeError(f"kamcmd {' '.join(command)}: {exc}") from None
            return None
        if r.returncode != 0:
            if check:
                raise EdgeRuntimeError(f"kamcmd {' '.join(command)}: {(r.stdout + r.stderr).strip()}")
            return None
        return r.stdout

    def nodes(self) -> dict[str, str]:
        """Each node's dispatcher flags by its URI: ``AP`` in (active, probed), ``IP`` out."""
        text = self.rpc("dispatcher.list") or ""
        out: dict[str, str] = {}
        uri = None
        for line in text.splitlines():
            key, _, value = line.strip().partition(":")
            if key == "URI":
                uri = value.strip()
            elif key == "FLAGS" and uri:
                out[uri] = value.strip()
                uri = None
        return out

    def status(self) -> dict[str, object]:
        pid = self.pid()
        out: dict[str, object] = {"running": pid is not None, "pid": pid, "config": str(self.config)}
        if pid:
            out["nodes"] = self.nodes()
        return out


def for_state(state_dir: Path) -> Edge:
    return Edge(directory=state_dir / "edge")


def _account(user: str) -> tuple[int, int]:
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise EdgeRuntimeError(f"no account {user!r} for the edge (the kamailio package makes 'kamailio')",
                               user=user) from None
    return pw.pw_uid, pw.pw_gid


def _tail(path: Path) -> str:
    try:
        return _tail_text(path.read_text(errors="replace"))
    except OSError:
        return "(no log)"


def _tail_text(text: str, size: int = 1500) -> str:
    return text[-size:].strip()


def installed() -> bool:
    return shutil.which("kamailio") is not None or Path(KAMAILIO).exists()
