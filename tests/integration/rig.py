"""The integration rig: a real Asterisk, the real controller, SIP phones from sipp.

One folder of scenarios (``tests/sipp``), one site config per session written
here, ports apart from the demo's so both can run on one machine. Everything
waits on readiness (AMI logged in, contacts registered, records present), never
on a fixed sleep.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from hotline import asterisk_runtime
from hotline.config import parse_site
from hotline.config.paths import Paths
from hotline.deploy import generate_config

REPO = Path(__file__).resolve().parents[2]
SIPP_DIR = REPO / "tests" / "sipp"

SIP_PORT = 15060
AMI_PORT = 15038
AGI_PORT = 14573
API_PORT = 18080
TRUNK_IP, TRUNK_PORT = "127.0.0.2", 15070
SEAT_IP, SEAT_PORT, SEAT_MEDIA = "127.0.0.1", 15081, 16000
SEATS = {"1001": "seatsecret-1001", "1002": "seatsecret-1002"}


def site_dict(store_url: str = "") -> dict[str, Any]:
    return {
        "site": {"name": "integration", "hotline_number": "12345", "default_queue": "hotline"},
        "asterisk": {"sip_port": SIP_PORT, "sip_bind": "127.0.0.1", "rtp_start": 20000, "rtp_end": 20999,
                     "ami": {"port": AMI_PORT}, "fastagi": {"port": AGI_PORT, "timeout_ms": 1000}},
        "api": {"port": API_PORT},
        "store": {"url": store_url},
        "trunks": [{"name": "carrier", "host": TRUNK_IP, "port": TRUNK_PORT}],
        "departments": [{"id": "chengjian", "name": "城建局"}, {"id": "renshe", "name": "人社局"},
                        {"id": "nobody", "name": "无人值守", "queue": "empty"}],
        "queues": [{"name": "hotline", "ring_timeout": 15}, {"name": "empty"}],
        "seats": [{"id": sid, "name": f"坐席{sid}", "secret": sec} for sid, sec in SEATS.items()],
        "legacy_numbers": [
            {"number": "83531111", "mode": "merged", "department": "chengjian", "hotline": "城建服务热线"},
            {"number": "12333", "mode": "parallel", "department": "renshe"},
            {"number": "85000000", "mode": "merged", "department": "nobody"},
        ],
    }


def http_json(method: str, url: str, body: Any = None, timeout: float = 5.0) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (OSError, ValueError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


@dataclass
class Stack:
    workdir: Path
    site_file: Path
    paths: Paths
    runtime: asterisk_runtime.Runtime
    controller: subprocess.Popen[bytes] | None = None
    seat_uas: subprocess.Popen[bytes] | None = None
    log_files: list[Path] = field(default_factory=list)

    # -- Asterisk --------------------------------------------------------------------
    def cli(self, command: str) -> str:
        return self.runtime.cli(command) or ""

    # -- controller ------------------------------------------------------------------
    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{API_PORT}"

    def start_controller(self, *extra: str) -> None:
        assert self.controller is None or self.controller.poll() is not None
        log = self.workdir / "controller.log"
        self.log_files.append(log)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(log, "ab") as out:
            self.controller = subprocess.Popen(
                [sys.executable, "-m", "hotline", "--site", str(self.site_file), "--state-dir",
                 str(self.paths.state_dir), *extra, "serve"], stdout=out, stderr=subprocess.STDOUT, env=env)
        wait_for("the controller's AMI login", lambda: self.status().get("ami", {}).get("ok"), timeout=30)

    def stop_controller(self) -> None:
        if self.controller and self.controller.poll() is None:
            self.controller.send_signal(signal.SIGTERM)
            try:
                self.controller.wait(15)
            except subprocess.TimeoutExpired:
                self.controller.kill()
                self.controller.wait()
        self.controller = None

    def status(self) -> dict[str, Any]:
        if self.controller is not None and self.controller.poll() is not None:
            raise AssertionError(f"controller exited with {self.controller.returncode}; see {self.log_files[-1]}")
        _, body = http_json("GET", f"{self.api}/status")
        return body or {}

    def calls(self) -> list[dict[str, Any]]:
        code, body = http_json("GET", f"{self.api}/api/calls?limit=500")
        assert code == 200, body
        return body["items"]

    def record_for(self, caller: str, timeout: float = 30.0) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            return next((c for c in self.calls() if c["caller_number"] == caller), None)
        return wait_for(f"the call record of caller {caller}", find, timeout=timeout)

    # -- SIP phones ------------------------------------------------------------------
    def start_seats(self, ring_ms: int = 300) -> None:
        """One sipp UAS answers for every seat (echoing RTP); each seat registers its contact there."""
        with open(self.workdir / "seat_uas.log", "ab") as out:
            self.seat_uas = subprocess.Popen(
                ["sipp", "-sf", str(SIPP_DIR / "seat_uas.xml"), "-i", SEAT_IP, "-p", str(SEAT_PORT),
                 "-mp", str(SEAT_MEDIA), "-rtp_echo", "-d", str(ring_ms), "-nostdin", "-trace_err",
                 "-error_file", str(self.workdir / "seat_uas_errors.log")],
                stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir)
        for seat, secret in SEATS.items():
            self.register(seat, secret)
        wait_for("seat contacts reachable", lambda: self.cli("pjsip show contacts").count("Avail ") >= len(SEATS),
                 timeout=30)
        wait_for("queue members available",
                 lambda: self.cli("queue show hotline").count("(Not in use)") >= len(SEATS), timeout=30)

    def register(self, seat: str, secret: str, expires_ok: bool = True) -> int:
        r = subprocess.run(
            ["sipp", "-sf", str(SIPP_DIR / "register.xml"), "-i", SEAT_IP, "-p", "0", "-key", "user", seat,
             "-key", "contact_port", str(SEAT_PORT), "-au", seat, "-ap", secret, "-m", "1", "-nostdin",
             "-timeout", "10", f"127.0.0.1:{SIP_PORT}"],
            capture_output=True, cwd=self.workdir, timeout=30)
        if expires_ok:
            assert r.returncode == 0, f"seat {seat} could not register: {r.stdout[-500:]!r}"
        return r.returncode

    def call(self, number: str, caller: str, *, talk_ms: int = 2500, scenario: str = "caller.xml",
             port: int = TRUNK_PORT, source_ip: str = TRUNK_IP, timeout: int = 60) -> subprocess.CompletedProcess[bytes]:
        """Place one call through the carrier trunk; returns sipp's result (0 = scenario completed)."""
        return subprocess.run(
            ["sipp", "-sf", str(SIPP_DIR / scenario), "-i", source_ip, "-p", str(port), "-mp", "17000",
             "-s", number, "-key", "caller", caller, "-d", str(talk_ms), "-m", "1", "-nostdin",
             "-timeout", str(timeout), "-trace_err", "-error_file", str(self.workdir / f"caller-{caller}.err"),
             f"127.0.0.1:{SIP_PORT}"],
            capture_output=True, cwd=self.workdir, timeout=timeout + 10)

    def recording(self, record: dict[str, Any]) -> Path:
        return self.runtime.recordings_dir / record["recording"]

    def close(self) -> None:
        self.stop_controller()
        if self.seat_uas and self.seat_uas.poll() is None:
            self.seat_uas.terminate()
            self.seat_uas.wait(10)
        self.runtime.stop()


def build_stack(workdir: Path, store_url: str = "") -> Stack:
    workdir.mkdir(parents=True, exist_ok=True)
    site_file = workdir / "site.yaml"
    site_file.write_text(yaml.safe_dump(site_dict(store_url), allow_unicode=True, sort_keys=False))
    site = parse_site(yaml.safe_load(site_file.read_text()), str(site_file))
    paths = Paths.from_env(state_dir=str(workdir / "state"))
    runtime = asterisk_runtime.install(paths)
    runtime.stop()
    generate_config(site, paths)
    runtime.deploy(paths.generated_dir, paths.sounds_dir)
    runtime.start()
    # A raw A-law file the caller scenario streams (sox makes 10 s of a 440 Hz tone).
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-e", "a-law", "-t", "raw",
                    str(workdir / "caller-audio.alaw"), "synth", "10", "sine", "440"], check=True)
    return Stack(workdir=workdir, site_file=site_file, paths=paths, runtime=runtime)


def have_tools() -> str | None:
    """Why the integration suite cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (Asterisk chroot, SIP ports)"
    for tool in ("sipp", "sox"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/test.sh installs it)"
    return None
