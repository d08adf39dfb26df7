"""The service install's units, the supervisor for hosts without systemd, and the unprivileged
Asterisk account (issue 9, deliver 1)."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hotline import asterisk_runtime
from hotline.asterisk_account import hand_over, resolve
from hotline.exceptions import AsteriskRuntimeError, InvalidRequest
from hotline.supervise import parse_unit

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "packaging" / "systemd"
CONTROLLER, ASTERISK = UNITS / "hotline.service", UNITS / "hotline-asterisk.service"


def _wait_for(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (Debian package systemd)")
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """verify exits 0 on unknown keys and bad values, so any output is a failure too."""
    exe = tmp_path / "hotline"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    for unit in (CONTROLLER, ASTERISK):
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/hotline/bin/hotline", str(exe)))
    r = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / u.name) for u in (CONTROLLER, ASTERISK))],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr


def test_units_restart_and_are_hardened() -> None:
    for unit in (CONTROLLER, ASTERISK):
        text = unit.read_text()
        for line in ("Restart=always", "UMask=0027", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                     "User=hotline"):
            assert line in text.splitlines(), (unit.name, line)
        assert "-U root" not in text and "--user root" not in text
    assert "asterisk run --user hotline-pbx --group hotline" in ASTERISK.read_text()
    spec = parse_unit(CONTROLLER)
    assert spec.argv[-1] == "serve" and spec.restart == "always" and spec.user == "hotline" and spec.umask == 0o027
    pbx = parse_unit(ASTERISK)
    assert pbx.argv[-6:] == ["asterisk", "run", "--user", "hotline-pbx", "--group", "hotline"]
    assert pbx.privileged   # "+": started as root, Asterisk drops to hotline-pbx itself
    # the configuration is generated before every start, as the unprivileged account
    assert [c.argv[-2:] for c in pbx.pre] == [["config", "generate"]]
    assert pbx.user == "hotline" and not pbx.pre[0].privileged


def test_parse_unit_refuses_what_it_cannot_honour(tmp_path: Path) -> None:
    unit = tmp_path / "x.service"
    unit.write_text("[Service]\nExecStart=/bin/true\nRestart=on-abnormal\n")
    with pytest.raises(InvalidRequest, match="Restart"):
        parse_unit(unit)
    unit.write_text("[Unit]\nDescription=x\n")
    with pytest.raises(InvalidRequest, match="ExecStart"):
        parse_unit(unit)


def _supervise(tmp_path: Path, restart: str, body: str) -> tuple[subprocess.Popen[bytes], Path, Path]:
    runs = tmp_path / "runs"
    unit = tmp_path / "svc.service"
    unit.write_text(f"[Service]\nExecStart={sys.executable} -c \"{body}\"\nRestart={restart}\nRestartSec=50ms\n"
                    f"UMask=0077\nEnvironment=RUNS={runs}\n")
    pid_file = tmp_path / "pid"
    proc = subprocess.Popen([sys.executable, "-m", "hotline", "supervise", str(unit), "--pid-file", str(pid_file)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, runs, pid_file


def test_supervisor_restarts_a_killed_service_and_stops_on_sigterm(tmp_path: Path) -> None:
    body = ("import os, time; open(os.environ['RUNS'], 'a').write(str(os.getpid()) + chr(10)); "
            "open(os.environ['RUNS'] + '.mode', 'w'); time.sleep(600)")
    proc, runs, pid_file = _supervise(tmp_path, "always", body)
    try:
        first = _wait_for(lambda: pid_file.exists() and runs.exists() and int(pid_file.read_text()))
        assert stat.S_IMODE(Path(str(runs) + ".mode").stat().st_mode) == 0o600   # the unit's UMask
        os.kill(first, signal.SIGKILL)
        second = _wait_for(lambda: (p := int(pid_file.read_text())) != first and p)
        _wait_for(lambda: len(runs.read_text().split()) == 2)
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    with pytest.raises(ProcessLookupError):
        os.kill(second, 0)


def test_supervisor_runs_exec_start_pre_before_every_start(tmp_path: Path) -> None:
    """hotline-asterisk.service generates the configuration in ExecStartPre: a supervisor that
    skipped it started Asterisk with no pjsip.conf, manager.conf or dialplan."""
    log = tmp_path / "log"
    unit = tmp_path / "svc.service"
    write = f"{sys.executable} -c \"import sys; open(sys.argv[1], 'a').write(sys.argv[2] + chr(10))\" {log}"
    unit.write_text(f"[Service]\nExecStartPre={write} pre1\nExecStartPre=-/bin/false\nExecStartPre={write} pre2\n"
                    f"ExecStart={write} main\nRestart=on-failure\n")
    proc = subprocess.Popen([sys.executable, "-m", "hotline", "supervise", str(unit)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert proc.wait(20) == 0
    assert log.read_text().split() == ["pre1", "pre2", "main"]


def test_a_failed_exec_start_pre_fails_the_start(tmp_path: Path) -> None:
    log = tmp_path / "log"
    unit = tmp_path / "svc.service"
    unit.write_text(f"[Service]\nExecStartPre=/bin/sh -c 'exit 4'\nExecStart=/bin/sh -c 'echo main > {log}'\n"
                    "Restart=no\n")
    proc = subprocess.Popen([sys.executable, "-m", "hotline", "supervise", str(unit)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert proc.wait(20) == 4
    assert not log.exists()


def test_a_command_that_cannot_be_executed_is_a_failed_start_not_a_crash(tmp_path: Path) -> None:
    """Found by the install: the venv's interpreter lay under /root, which the service account
    cannot enter; the supervisor died with a traceback instead of failing the start (203/EXEC)."""
    unit = tmp_path / "svc.service"
    unit.write_text(f"[Service]\nExecStart={tmp_path}/not-executable\nRestart=no\n")
    proc = subprocess.Popen([sys.executable, "-m", "hotline", "supervise", str(unit)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 203, err
    assert b"Traceback" not in err and b"not-executable" in err


def test_supervisor_without_restart_returns_the_exit_code(tmp_path: Path) -> None:
    proc, runs, _ = _supervise(tmp_path, "no", "raise SystemExit(3)")
    assert proc.wait(20) == 3


def _fake_root(tmp_path: Path) -> asterisk_runtime.Runtime:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\nasterisk:x:4101:4102::/x:/usr/sbin/nologin\n")
    (root / "etc" / "group").write_text("root:x:0:\nasterisk:x:4102:\nhotline:x:4103:\n")
    return asterisk_runtime.Runtime(mode="chroot", root=root, instance="/srv/hotline/abc", version="22")


def test_asterisk_account_is_looked_up_in_its_root_and_never_root(tmp_path: Path) -> None:
    rt = _fake_root(tmp_path)
    acc = resolve(rt, "asterisk")
    assert (acc.uid, acc.gid, acc.group) == (4101, 4102, "asterisk")
    assert acc.argv() == ["-U", "asterisk", "-G", "asterisk"]
    assert resolve(rt, "asterisk", "hotline").gid == 4103
    with pytest.raises(AsteriskRuntimeError, match="root"):
        resolve(rt, "root")
    with pytest.raises(AsteriskRuntimeError, match="nobody-here"):
        resolve(rt, "nobody-here")


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_hand_over_gives_asterisk_its_directories_and_only_read_on_the_config(tmp_path: Path) -> None:
    rt = _fake_root(tmp_path)
    gen = tmp_path / "gen"
    gen.mkdir()
    (gen / "pjsip.conf").write_text("secret=x\n")
    (gen / "manager.conf").write_text("secret=y\n")
    rt.deploy(gen)
    acc = resolve(rt, "asterisk", "hotline")
    hand_over(rt, acc)
    monitor = rt.recordings_dir
    assert (monitor.stat().st_uid, monitor.stat().st_gid) == (4101, 4103)
    for f in rt.host_path(rt.etc).iterdir():
        st = f.stat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 4103, 0o640), f.name


def test_asterisk_run_refuses_without_the_generated_configuration(tmp_path: Path) -> None:
    """Run without its ExecStartPre, the unit used to start an Asterisk with no dialplan, no SIP and
    no AMI that looked alive; it now says what is missing and exits non-zero (the supervisor retries)."""
    state = tmp_path / "state"
    state.mkdir()
    (state / "asterisk-runtime").write_text(f"chroot\n{tmp_path / 'root'}\n22\n")
    r = subprocess.run([sys.executable, "-m", "hotline", "--site", str(REPO / "examples/minimal/site.yaml"),
                        "--state-dir", str(state), "asterisk", "run", "--user", "hotline-pbx"],
                       cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "extensions.conf" in r.stderr and "config generate" in r.stderr, r.stderr
