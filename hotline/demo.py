"""``hotline demo``: start everything on the embedded default and show the main job working.

Installs (or reuses) Asterisk, generates its configuration from the site config,
starts Asterisk and the controller in the background, registers a demo seat
phone (sipp, answering and echoing audio), places a call from a simulated
carrier to the hotline number, and prints the call record and the API address.
Everything it starts keeps running; ``hotline demo-stop`` stops it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hotline import asterisk_runtime
from hotline.config import load_site
from hotline.config.paths import Paths
from hotline.config.site import SiteConfig
from hotline.deploy import generate_config
from hotline.exceptions import HotlineError
from hotline.resources import resource

SIPP = "tests/sipp"    # the demo's phones: shipped in the wheel too (hotline.resources)
SEAT_PHONE_PORT = 5091
DEMO_CALLER = "13800138000"
# The example site's demo admin (examples/nantong/README.md); another site: set these two.
DEMO_USER = os.environ.get("HOTLINE_DEMO_USER", "admin")
DEMO_PASSWORD = os.environ.get("HOTLINE_DEMO_PASSWORD", "demo-admin-12345")


def _say(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def _get(url: str, timeout: float = 3.0, method: str = "GET", *, token: str | None = None,
         body: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = b"" if method == "POST" else None
    if body is not None:
        method, data, headers["Content-Type"] = "POST", json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _wait(what: str, check: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except (OSError, ValueError):
            result = None
        if result:
            return result
        time.sleep(0.3)
    raise HotlineError(f"demo: timed out waiting for {what}")


def _pidfile_alive(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _stop_pidfile(path: Path) -> None:
    pid = _pidfile_alive(path)
    if pid:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if _pidfile_alive(path) is None:
                break
            time.sleep(0.1)
    path.unlink(missing_ok=True)


def _spawn(argv: list[str], log: Path, pidfile: Path, cwd: Path | None = None) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=cwd)
    pidfile.write_text(f"{proc.pid}\n")
    proc.returncode = 0  # detached on purpose: it outlives this command (see demo-stop)
    return proc.pid


def run_demo(site_file: str, paths: Paths) -> int:
    site: SiteConfig = load_site(site_file)
    _say(f"site config {site_file} is valid: {len(site.seats)} seat(s), {len(site.legacy_numbers)} legacy numbers")
    if not site.seats:
        raise HotlineError("demo: the site config has no seat to answer the demo call")
    if shutil.which("sipp") is None:
        raise HotlineError("demo: sipp (Debian package sip-tester) is not installed; run scripts/setup.sh")

    runtime = _start_asterisk(site, paths)
    api, token = _start_controller(site, site_file, paths)
    workdir = paths.state_dir / "demo"
    workdir.mkdir(parents=True, exist_ok=True)
    _start_seat_phone(site, paths, runtime, api, token, workdir)
    record = _call(site, api, token, workdir)
    print(json.dumps(record, ensure_ascii=False, indent=2))
    rec_path = runtime.recordings_dir / record["recording"] if record.get("recording") else None
    _say(f"call {record['call_id']}: {record['outcome']} by seat {record['seat']} "
         f"after {record['wait_seconds']} s, talk {record['talk_seconds']} s")
    if rec_path:
        _say(f"recording: {rec_path}")
    _say(f"wallboard: {api}/wallboard (log in as a supervisor, see examples/nantong/README.md)")
    _say(f"API: {api}/status  {api}/api/calls  {api}/api/calls/{record['call_id']}  {api}/openapi.json")
    _say("stop everything with: hotline demo-stop   (or scripts/demo.sh stop)")
    return 0 if record["outcome"] == "answered" else 1


def _start_asterisk(site: SiteConfig, paths: Paths) -> asterisk_runtime.Runtime:
    """Install (or reuse) Asterisk, deploy the site's generated configuration, start or reload it."""
    _say("installing or reusing Asterisk")
    runtime = asterisk_runtime.install(paths)
    _say(f"Asterisk {runtime.version} ({runtime.mode}, root {runtime.root})")

    generate_config(site, paths)
    runtime.deploy(paths.generated_dir, paths.sounds_dir, systemname=site.site.node)
    if runtime.pid():
        runtime.reload()
        _say(f"Asterisk already running (pid {runtime.pid()}): configuration reloaded")
    else:
        _say(f"Asterisk started (pid {runtime.start()})")
    return runtime


def _start_controller(site: SiteConfig, site_file: str, paths: Paths) -> tuple[str, str | None]:
    """Start ``hotline serve``, wait for AMI and the database; (API base URL, token or None)."""
    api = f"http://{site.api.bind}:{site.api.port}"
    ctl_pid = paths.state_dir / "controller.pid"
    _stop_pidfile(ctl_pid)
    _spawn([sys.executable, "-m", "hotline", "--site", site_file, "--state-dir", str(paths.state_dir), "serve"],
           paths.log_dir / "controller.log", ctl_pid)
    _wait("the controller (GET /status: AMI logged in)", lambda: _get(f"{api}/status")[1].get("ami", {}).get("ok"),
          timeout=60)
    token = None
    if site.users:   # the API needs a login: the demo reads records as the demo admin
        code, session = _get(f"{api}/api/login", body={"name": DEMO_USER, "password": DEMO_PASSWORD})
        if code != 200:
            raise HotlineError(f"demo: cannot log in as {DEMO_USER!r} (HOTLINE_DEMO_USER, HOTLINE_DEMO_PASSWORD): "
                               f"{session}")
        token = session["token"]
    _wait("the database migrated (GET /api/calls)", lambda: _get(f"{api}/api/calls?limit=1", token=token)[0] == 200,
          timeout=60)
    _say(f"controller up (pid {_pidfile_alive(ctl_pid)}), API at {api}")
    return api, token


def _start_seat_phone(site: SiteConfig, paths: Paths, runtime: asterisk_runtime.Runtime, api: str,
                      token: str | None, workdir: Path) -> None:
    """The first seat: a sipp phone that answers, registered, logged in and idle in its queues."""
    seat = site.seats[0]
    phone_pid = paths.state_dir / "seat-phone.pid"
    _stop_pidfile(phone_pid)
    _spawn(["sipp", "-sf", str(resource(f"{SIPP}/seat_uas.xml")), "-i", "127.0.0.1", "-p", str(SEAT_PHONE_PORT),
            "-mp", "16100", "-rtp_echo", "-d", "800", "-nostdin"], paths.log_dir / "seat-phone.log", phone_pid,
           cwd=workdir)
    sip = f"127.0.0.1:{site.asterisk.sip_port}"
    reg = subprocess.run(["sipp", "-sf", str(resource(f"{SIPP}/register.xml")), "-i", "127.0.0.1", "-p", "0",
                          "-key", "user", seat.id, "-key", "contact_port", str(SEAT_PHONE_PORT),
                          "-au", seat.id, "-ap", seat.secret, "-m", "1", "-nostdin", "-timeout", "10", sip],
                         capture_output=True, cwd=workdir)
    if reg.returncode != 0:
        raise HotlineError(f"demo: seat {seat.id} could not register: {reg.stdout.decode()[-400:]}")
    _wait(f"seat {seat.id} reachable", lambda: f"{seat.id}/sip:" in (runtime.cli("pjsip show contacts") or "")
          and "Avail" in (runtime.cli(f"pjsip show contact {seat.id}/sip:{seat.id}@127.0.0.1:{SEAT_PHONE_PORT}")
                          or ""), timeout=30)
    _say(f"demo seat phone {seat.id} ({seat.name}) registered and answering")
    # Seats are dynamic queue members: the demo seat logs in (as a seat would with *21).
    code, body = _get(f"{api}/api/seats/{seat.id}/login", method="POST", token=token)
    if code != 200 and not (code == 409 and body.get("error_id") == "seat-already-logged-in"):
        raise HotlineError(f"demo: seat {seat.id} could not log in: {body}")

    def seat_view() -> dict[str, Any]:
        return dict(_get(f"{api}/api/seats/{seat.id}", token=token)[1])
    _wait(f"seat {seat.id} available in its queues",
          lambda: seat_view().get("state") == "idle" and seat_view().get("device") == "not_inuse", timeout=30)
    _say(f"seat {seat.id} logged in to {', '.join(seat_view()['queues'])}")


def _call(site: SiteConfig, api: str, token: str | None, workdir: Path) -> dict[str, Any]:
    """One sipp call to the hotline number through the first trunk; its new call record."""
    sip = f"127.0.0.1:{site.asterisk.sip_port}"
    trunk = site.trunks[0]
    caller_ip = trunk.networks[0].split("/")[0]
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-e", "a-law", "-t", "raw",
                    str(workdir / "caller-audio.alaw"), "synth", "10", "sine", "440"], check=True)
    number = site.site.hotline_number
    _say(f"calling {number} from {DEMO_CALLER} through trunk {trunk.name} ({caller_ip}:{trunk.port})")
    before = {c["call_id"] for c in _get(f"{api}/api/calls?limit=500", token=token)[1]["items"]}
    call = subprocess.run(["sipp", "-sf", str(resource(f"{SIPP}/caller.xml")), "-i", caller_ip, "-p", str(trunk.port),
                           "-mp", "17100", "-s", number, "-key", "caller", DEMO_CALLER, "-d", "4000", "-m", "1",
                           "-nostdin", "-timeout", "60", sip], capture_output=True, cwd=workdir)
    if call.returncode != 0:
        raise HotlineError(f"demo: the call failed: {call.stdout.decode()[-600:]}")
    record = _wait("the call record", lambda: next(
        (c for c in _get(f"{api}/api/calls?limit=500", token=token)[1]["items"] if c["call_id"] not in before),
        None), 30)
    return dict(record)


def stop_demo(paths: Paths) -> int:
    _stop_pidfile(paths.state_dir / "seat-phone.pid")
    _stop_pidfile(paths.state_dir / "controller.pid")
    try:
        stopped = asterisk_runtime.load(paths).stop()
    except HotlineError:
        stopped = False
    _say(f"demo stopped (Asterisk {'stopped' if stopped else 'was not running'})")
    return 0
