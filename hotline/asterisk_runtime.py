"""The Asterisk runtime: install, deploy generated configuration, start, stop, status.

Asterisk runs either as the system's own binary or chrooted in a Debian sid root
built by ``asterisk/install-runtime.sh``. Each state directory gets its own
*instance* directory (etc, log, spool, run, lib) inside that root, so the
configuration Asterisk reads is always the generated one, never edited in place.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from hotline.config.paths import Paths
from hotline.asterisk_account import Account, hand_over
from hotline.exceptions import AsteriskRuntimeError
from hotline.filemodes import DIRECTORY, GROUP_READ, PRIVATE, UMASK, ensure_dir
from hotline.resources import resource

# Shipped in the wheel (share/hotline12345/asterisk) or beside the package in a checkout.
INSTALLER = "asterisk/install-runtime.sh"
STATIC_DIR = "asterisk/static"
RUNTIME_FILE = "asterisk-runtime"
DATADIR = "/usr/share/asterisk"   # astdatadir, as Asterisk sees it


@dataclass(frozen=True)
class Runtime:
    mode: str            # "system" or "chroot"
    root: Path           # "/" for system
    instance: str        # the instance directory as Asterisk sees it
    version: str

    # -- paths ------------------------------------------------------------------
    def host_path(self, inner: str) -> Path:
        """A path as Asterisk sees it, turned into the path on this host."""
        return self.root / inner.lstrip("/") if self.mode == "chroot" else Path(inner)

    @property
    def etc(self) -> str:
        return f"{self.instance}/etc"

    @property
    def conf(self) -> str:
        return f"{self.instance}/etc/asterisk.conf"

    @property
    def log_dir(self) -> Path:
        return self.host_path(f"{self.instance}/log")

    @property
    def recordings_inner(self) -> str:
        return f"{self.instance}/spool/monitor"

    @property
    def recordings_dir(self) -> Path:
        return self.host_path(self.recordings_inner)

    @property
    def sounds_inner(self) -> str:
        """Generated prompts (ivr/), as Asterisk sees them: Playback(${HOTLINE_SOUNDS}/name)."""
        return f"{self.instance}/sounds"

    @property
    def cel_log(self) -> Path:
        """The cel_custom JSON log (see asterisk/static/cel_custom.conf)."""
        return self.host_path(f"{self.instance}/log/cel-custom/hotline-cel.json")

    @property
    def pid_file(self) -> Path:
        """Written by Asterisk itself when it daemonizes."""
        return self.host_path(f"{self.instance}/run/asterisk.pid")

    def _argv(self, *args: str) -> list[str]:
        base = ["/usr/sbin/asterisk", "-C", self.conf, *args]
        return self._wrap(base)

    def _wrap(self, base: list[str]) -> list[str]:
        if self.mode == "chroot":
            return ["chroot", str(self.root), *base]
        return base

    # -- lifecycle ----------------------------------------------------------------
    def deploy(self, generated: Path, sounds: Path | None = None) -> None:
        """Copy the generated files into the instance etc directory (atomic swap), and the
        generated prompts (``sounds``, WAV files) into the instance sounds directory."""
        if sounds is not None and sounds.is_dir():
            target = self.host_path(self.sounds_inner)
            target.mkdir(parents=True, exist_ok=True)
            for f in sounds.glob("*.wav"):
                shutil.copy2(f, target / f.name)
            _copy_wavs(sounds / "moh", target / "moh")
            # say.c finds numbers only under <astdatadir>/sounds/<language>/digits
            _copy_wavs(sounds / "zh" / "digits", self.host_path(f"{DATADIR}/sounds/zh/digits"))
        etc = self.host_path(self.etc)
        new = etc.with_name("etc.new")
        if new.exists():
            shutil.rmtree(new)
        shutil.copytree(generated, new)
        for f in resource(STATIC_DIR).glob("*.conf"):
            if not (new / f.name).exists():
                shutil.copy2(f, new / f.name)
        (new / "asterisk.conf").write_text(self._asterisk_conf())
        # Never world-readable (secrets in pjsip.conf, manager.conf), whatever the source modes.
        os.chmod(new, DIRECTORY)
        for f in new.iterdir():
            if f.is_file():
                os.chmod(f, PRIVATE if f.name == "manager.conf" else GROUP_READ)
        for sub in ("log/cel-custom", "log/cdr-custom", "spool/monitor", "spool/outgoing", "run", "lib", "cache",
                    "log/cdr-csv"):
            ensure_dir(self.host_path(f"{self.instance}/{sub}"))
        old = etc.with_name("etc.old")
        if old.exists():
            shutil.rmtree(old)
        if etc.exists():
            etc.rename(old)
        new.rename(etc)
        if old.exists():
            shutil.rmtree(old)

    def _asterisk_conf(self) -> str:
        i = self.instance
        return "\n".join([
            "; generated by hotline: do not edit",
            "[directories]",
            f"astetcdir => {i}/etc",
            "astmoddir => /usr/lib/x86_64-linux-gnu/asterisk/modules" if self.mode == "chroot"
            else f"astmoddir => {_system_moddir()}",
            f"astvarlibdir => {i}/lib",
            f"astdbdir => {i}/lib",
            f"astkeydir => {i}/lib",
            f"astdatadir => {DATADIR}",
            "astagidir => /usr/share/asterisk/agi-bin",
            f"astspooldir => {i}/spool",
            f"astrundir => {i}/run",
            f"astlogdir => {i}/log",
            f"astcachedir => {i}/cache",
            "astsbindir => /usr/sbin",
            "",
            "[options]",
            "verbose = 1",
            "timestamp = yes",
            "transmit_silence = yes",
            "defaultlanguage = en",
            "maxload = 0",
            "",
        ])

    def _mounts(self) -> None:
        if self.mode != "chroot":
            return
        # Asterisk resolves this host's name at the first call; a root without it waits on DNS.
        hosts = self.root / "etc" / "hosts"
        name = os.uname().nodename
        text = hosts.read_text() if hosts.exists() else ""
        if name not in text.split():
            hosts.write_text(text + f"127.0.0.1 localhost\n127.0.1.1 {name}\n")
        mounts = Path("/proc/mounts").read_text()
        for target, argv in ((self.root / "proc", ["mount", "-t", "proc", "proc"]),
                             (self.root / "dev", ["mount", "--bind", "/dev"])):
            if f" {target} " not in mounts:
                target.mkdir(exist_ok=True)
                r = subprocess.run([*argv, str(target)], capture_output=True, text=True)
                if r.returncode != 0:
                    raise AsteriskRuntimeError(f"cannot mount {target}: {r.stderr.strip()}", target=str(target))

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def _launch_argv(self, account: Account | None, *args: str) -> list[str]:
        """Asterisk's own command line; with ``account`` it drops root itself (-U/-G) and the
        instance is handed over to that account first (hotline/asterisk_account.py)."""
        if account is not None:
            hand_over(self, account)
        return self._wrap(["/usr/sbin/asterisk", "-C", self.conf, *(account.argv() if account else []), *args])

    def run_foreground(self, account: Account | None) -> None:
        """Replace this process by Asterisk in the foreground (``-f``): for a service manager,
        which then sees Asterisk's own exit and restarts it."""
        self._mounts()
        ensure_dir(self.log_dir)
        argv = self._launch_argv(account, "-f", "-n")
        os.umask(UMASK)
        os.execvp(argv[0], argv)

    def start(self, timeout: float = 60.0, account: Account | None = None) -> int:
        """Start Asterisk (it daemonizes itself and writes its pid file); wait until fully booted.
        ``account``: the unprivileged account Asterisk drops to (never root)."""
        existing = self.pid()
        if existing:
            return existing
        self._mounts()
        ensure_dir(self.log_dir)
        self.pid_file.unlink(missing_ok=True)
        argv = self._launch_argv(account, "-n")
        with open(self.log_dir / "console.log", "ab") as console:
            launcher = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=console,
                                      stderr=subprocess.STDOUT, start_new_session=True, timeout=30,
                                      umask=UMASK)   # recordings, CEL log: never world-readable
        if launcher.returncode != 0:
            raise AsteriskRuntimeError(f"Asterisk failed to start (exit {launcher.returncode}); "
                                       f"see {self.log_dir / 'console.log'} and messages.log")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.cli("core waitfullybooted", timeout=5, check=False)
            pid = self.pid()
            if r is not None and "fully booted" in r.lower() and pid:
                return pid
            time.sleep(0.2)
        tail = _tail(self.log_dir / "messages.log")
        raise AsteriskRuntimeError(f"Asterisk did not finish booting within {timeout:.0f} s:\n{tail}")

    def cli(self, command: str, timeout: float = 10.0, check: bool = True) -> str | None:
        """Run one CLI command over the control socket (``asterisk -rx``)."""
        try:
            r = subprocess.run(self._argv("-rx", command), capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            if check:
                raise AsteriskRuntimeError(f"Asterisk CLI timed out: {command!r}") from None
            return None
        if r.returncode != 0 or "Unable to connect to remote asterisk" in r.stdout + r.stderr:
            if check:
                raise AsteriskRuntimeError(f"Asterisk CLI failed ({command!r}): {(r.stdout + r.stderr).strip()}")
            return None
        return r.stdout

    def reload(self) -> None:
        self.cli("core reload")

    def stop(self, timeout: float = 20.0) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        self.cli("core stop now", timeout=10, check=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> dict[str, object]:
        pid = self.pid()
        out: dict[str, object] = {"mode": self.mode, "root": str(self.root), "instance": self.instance,
                                  "version": self.version, "running": pid is not None, "pid": pid}
        if pid:
            up = self.cli("core show uptime seconds", timeout=5, check=False)
            out["uptime"] = up.strip() if up else None
        return out


def _copy_wavs(source: Path, target: Path) -> None:
    """Copy the WAV files of ``source`` into ``target``: each one atomically and only when it
    differs, as ``target`` may be shared (the chroot's data directory serves every instance)."""
    if not source.is_dir():
        return
    target.mkdir(parents=True, exist_ok=True)
    for f in sorted(source.glob("*.wav")):
        dest = target / f.name
        data = f.read_bytes()
        try:
            if dest.read_bytes() == data:
                continue
        except OSError:
            pass
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, dest)


def _tail(path: Path, size: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return "(no log)"


def _alive(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _system_moddir() -> str:
    for c in ("/usr/lib/x86_64-linux-gnu/asterisk/modules", "/usr/lib/asterisk/modules",
              "/usr/lib64/asterisk/modules"):
        if Path(c).is_dir():
            return c
    return "/usr/lib/asterisk/modules"


def _instance_for(paths: Paths, mode: str) -> str:
    if mode == "system":
        return str(paths.state_dir / "asterisk")
    digest = hashlib.sha1(str(paths.state_dir).encode()).hexdigest()[:10]
    return f"/srv/hotline/{digest}"


def install(paths: Paths, mirror: str | None = None) -> Runtime:
    """Find or install Asterisk 20+ (see asterisk/install-runtime.sh). Idempotent."""
    if os.geteuid() != 0:
        raise AsteriskRuntimeError("installing Asterisk needs root (packages or a debootstrap chroot)")
    argv = ["bash", str(resource(INSTALLER)), str(paths.asterisk_root)] + ([mirror] if mirror else [])
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        raise AsteriskRuntimeError(f"Asterisk could not be installed: {r.stderr.strip()[-2000:]}")
    fields = dict(kv.split("=", 1) for kv in r.stdout.strip().splitlines()[-1].split(" ", 2))
    runtime = Runtime(mode=fields["mode"], root=Path(fields["root"]),
                      instance=_instance_for(paths, fields["mode"]), version=fields["version"])
    paths.ensure()
    (paths.state_dir / RUNTIME_FILE).write_text(f"{runtime.mode}\n{runtime.root}\n{runtime.version}\n")
    return runtime


def load(paths: Paths) -> Runtime:
    """The runtime recorded by the last ``install``; raises when none was installed."""
    try:
        mode, root, version = (paths.state_dir / RUNTIME_FILE).read_text().splitlines()[:3]
    except (OSError, ValueError):
        raise AsteriskRuntimeError(
            f"no Asterisk runtime recorded in {paths.state_dir}; run 'hotline asterisk install' first") from None
    return Runtime(mode=mode, root=Path(root), instance=_instance_for(paths, mode), version=version)
