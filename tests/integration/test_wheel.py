"""The wheel is the product (issue 9, deliver 2): a wheel built from the repository, installed into
a fresh virtual environment outside the repository, installs and starts Asterisk, generates the
configuration and carries a real call (sipp) that lands as a record; what it writes is not
world-readable (deliver 3).

The fresh environment gets the wheel and nothing else of the repository: its dependencies come
from the running interpreter's site-packages through a ``.pth`` line. Such a line only puts that
directory on ``sys.path``: the ``.pth`` files inside it (the editable install of the checkout) are
not processed, so ``hotline`` can only be imported from the wheel, and every command runs from a
directory outside the repository.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from hotline import asterisk_runtime
from hotline.config.paths import Paths

from .rig import SESSION_STACKS, SEATS, Stack, have_tools, site_dict, wait_for

REPO = Path(__file__).resolve().parents[2]
_SKIP_COPY = shutil.ignore_patterns(".git", ".venv", "var", "build", "*.egg-info", "__pycache__", ".pytest_cache",
                                    "bench")


def _run(argv: list[str], cwd: Path, timeout: float = 600) -> str:
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{argv} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


def build_wheel(out: Path) -> Path:
    """``pip wheel`` of a copy of the checkout (an in-tree build would leave build/ behind)."""
    src = out / "src"
    shutil.copytree(REPO, src, ignore=_SKIP_COPY)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)], cwd=out)
    wheels = list(out.glob("hotline12345-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def fresh_venv(where: Path, wheel: Path) -> Path:
    """A virtual environment with the wheel installed; returns its bin directory."""
    _run([sys.executable, "-m", "venv", str(where)], cwd=where.parent)
    python = where / "bin" / "python"
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                        cwd=where.parent).strip())
    (purelib / "hotline-test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)], cwd=where.parent)
    return where / "bin"


@pytest.fixture(scope="module")
def rig_paused() -> Iterator[None]:
    """The wheel's stack uses the rig's ports (this slot): the session's stack, when one runs, is
    stopped for this module (Asterisk, controller, seat phones) and brought back after it."""
    session_stack = SESSION_STACKS[-1] if SESSION_STACKS else None
    if session_stack is None:
        yield
        return
    session_stack.stop_controller()
    if session_stack.seat_uas and session_stack.seat_uas.poll() is None:
        session_stack.seat_uas.terminate()
        session_stack.seat_uas.wait(10)
    session_stack.runtime.stop()
    try:
        yield
    finally:
        session_stack.runtime.start()
        session_stack.start_controller()
        session_stack.start_seats()


@pytest.fixture(scope="module")
def wheel_stack(rig_paused: None) -> Iterator[tuple[Stack, Path]]:
    why = have_tools()
    if why:
        pytest.skip(why)
    work = Path(tempfile.mkdtemp(prefix="hotline-wheel-"))
    assert not work.is_relative_to(REPO)
    bindir = fresh_venv(work / "venv", build_wheel(work))
    run = work / "run"        # the operator's working directory: nothing of the repository in it
    run.mkdir()
    site_file = run / "site.yaml"
    site_file.write_text(yaml.safe_dump(site_dict(), allow_unicode=True, sort_keys=False))
    state = run / "state"
    hotline = [str(bindir / "hotline"), "--site", str(site_file), "--state-dir", str(state)]
    _run([*hotline, "asterisk", "install"], cwd=run)
    paths = Paths.from_env(state_dir=str(state))
    runtime = asterisk_runtime.load(paths)
    runtime.stop()
    _run([*hotline, "config", "generate"], cwd=run)
    # Asterisk drops to the unprivileged account the Debian package made (in the chroot, or this
    # system's); the service install gives it hotline-pbx (scripts/install-service.sh).
    _run([*hotline, "asterisk", "start", "--user", "asterisk", "--group", "asterisk"], cwd=run)
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-e", "a-law", "-t", "raw",
                    str(run / "caller-audio.alaw"), "synth", "10", "sine", "440"], check=True)
    stack = Stack(workdir=run, site_file=site_file, paths=paths, runtime=runtime)
    log = run / "controller.log"
    stack.log_files.append(log)
    try:
        with open(log, "ab") as out:
            stack.controller = subprocess.Popen([*hotline, "serve"], cwd=run, stdout=out, stderr=subprocess.STDOUT,
                                                env=dict(os.environ, PYTHONUNBUFFERED="1"))
        wait_for("the wheel's controller AMI login", lambda: stack.status().get("ami", {}).get("ok"), timeout=60)
        stack.start_seats()
        yield stack, bindir
    finally:
        if stack.controller and stack.controller.poll() is None:
            stack.controller.send_signal(signal.SIGTERM)
        stack.close()
        shutil.rmtree(runtime.host_path(runtime.instance), ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def test_the_installed_wheel_imports_nothing_from_the_repository(wheel_stack: tuple[Stack, Path]) -> None:
    stack, bindir = wheel_stack
    out = _run([str(bindir / "python"), "-c",
                "import hotline, hotline.resources as r; print(hotline.__file__); "
                "print(r.resource('asterisk/static/cel.conf')); print(r.resource('asterisk/install-runtime.sh'))"],
               cwd=stack.workdir)
    for line in out.split():
        assert not Path(line).is_relative_to(REPO), line
        assert Path(line).is_relative_to(bindir.parent), line


def test_asterisk_does_not_run_as_root(wheel_stack: tuple[Stack, Path]) -> None:
    stack, _ = wheel_stack
    pid = stack.runtime.pid()
    assert pid
    uids = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("Uid:"))
    assert all(int(u) != 0 for u in uids.split()[1:]), uids


def test_a_call_through_the_wheel_lands_as_a_record(wheel_stack: tuple[Stack, Path]) -> None:
    stack, _ = wheel_stack
    caller = "13900000901"
    r = stack.call("12345", caller)
    assert r.returncode == 0, r.stdout[-1000:]
    record = stack.record_for(caller)
    assert record["outcome"] == "answered" and record["seat"] in SEATS and record["dialled_number"] == "12345"
    assert record["recording"] == f"{record['call_id']}.wav"
    # Deliver 3: what holds callers' numbers and voices is never world-readable.
    recording = wait_for("the recording", lambda: (p := stack.recording(record)).exists() and p, timeout=10)
    for p in (recording, stack.paths.sqlite_path, stack.paths.ami_secret_file,
              stack.paths.generated_dir / "pjsip.conf"):
        m = stat.S_IMODE(p.stat().st_mode)
        assert m & 0o007 == 0, f"{p.name} is world-accessible: {oct(m)}"
    journal = stack.paths.journal_path
    if journal.exists():
        assert stat.S_IMODE(journal.stat().st_mode) & 0o077 == 0
    state_mode = stat.S_IMODE(stack.paths.state_dir.stat().st_mode)
    assert state_mode & 0o007 == 0, oct(state_mode)


UNIT = REPO / "packaging" / "systemd" / "hotline.service"


def test_a_killed_controller_is_restarted_by_the_supervisor(wheel_stack: tuple[Stack, Path]) -> None:
    """The shipped unit, run by the supervisor this host has (no systemd as PID 1 here:
    ``hotline supervise``, which honours the unit's Restart=always): SIGKILL the controller, a new
    one logs in to AMI and carries the next call. The unit is rendered for this test's paths; its
    User=/Group= lines are dropped (the test has no hotline account)."""
    stack, bindir = wheel_stack
    stack.stop_controller()
    text = UNIT.read_text()
    assert "Restart=always" in text
    text = (text.replace("/opt/hotline/bin/hotline", str(bindir / "hotline"))
            .replace("/etc/hotline/site.yaml", str(stack.site_file))
            .replace("/var/lib/hotline", str(stack.paths.state_dir)))
    text = "\n".join(line for line in text.splitlines() if not line.startswith(("User=", "Group=")))
    unit = stack.workdir / "hotline.service"
    unit.write_text(text)
    pid_file = stack.workdir / "controller.pid"
    log = stack.workdir / "supervisor.log"
    with open(log, "ab") as out:
        supervisor = subprocess.Popen([str(bindir / "hotline"), "supervise", str(unit), "--pid-file", str(pid_file)],
                                      cwd=stack.workdir, stdout=out, stderr=subprocess.STDOUT)
    try:
        def controller_pid() -> int | None:
            try:
                return int(pid_file.read_text())
            except (OSError, ValueError):
                return None

        first = wait_for("the supervised controller", controller_pid, timeout=30)
        wait_for("its AMI login", lambda: stack.status().get("ami", {}).get("ok"), timeout=60)
        os.kill(first, signal.SIGKILL)
        second = wait_for("a new controller", lambda: (p := controller_pid()) not in (None, first) and p, timeout=30)
        assert supervisor.poll() is None
        wait_for("the new controller's AMI login", lambda: stack.status().get("ami", {}).get("ok"), timeout=60)
        for seat in SEATS:
            stack.login_seat(seat)
        caller = "13900000902"
        assert stack.call("12345", caller).returncode == 0
        assert stack.record_for(caller)["outcome"] == "answered"
        assert Path(f"/proc/{second}").exists()
    finally:
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(30) == 0, log.read_text()[-2000:]
