"""The benchmark's rig: one Asterisk (static dialplan, or the full stack with the controller),
a sipp seat UAS answering for every seat and echoing RTP, seat registrations, and call-rate
steps through the carrier trunk with a sipp caller streaming G.711 A-law.

Modelled on ``tests/integration/rig.py`` but self-contained, with its own ports (apart from the
tests' 15xxx and the demo's 5xxx ones) so the benchmark can run while they do. Not a test: it
measures and never asserts.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import yaml

from hotline import asterisk_runtime
from hotline.config import parse_site
from hotline.config.paths import Paths
from trunk_config import GenerateOptions, generate, write

REPO = Path(__file__).resolve().parents[1]
SIPP_DIR = REPO / "tests" / "sipp"

# Ports: distinct from the integration tests (15xxx-16xxx, media 16000-24400, RTP 41000-45999) and the demo (5xxx, RTP 10000-20000).
SIP_PORT = 25060
AMI_PORT = 25038
AGI_PORT = 24573
API_PORT = 28080
TRUNK_IP, TRUNK_PORT = "127.0.0.3", 25070
SEAT_IP, SEAT_PORT, SEAT_MEDIA = "127.0.0.1", 25081, 25090   # the UAS echoes RTP on 25090 (and 25092)
CALLER_MEDIA = 26000                                          # the caller streams from 26000 (26002)
RTP_START, RTP_END = 30000, 39999
CONTROL_PORT_BASE = 25200   # sipp's UDP control sockets (-cp), else they all fight over 8888+
HOTLINE_NUMBER = "12345"


def seat_ids(count: int) -> list[str]:
    return [f"{7000 + i}" for i in range(count)]


def seat_secret(seat: str) -> str:
    return f"benchsecret-{seat}"


def site_dict(seats: int) -> dict[str, Any]:
    return {
        "site": {"name": "benchmark", "hotline_number": HOTLINE_NUMBER, "default_queue": "hotline"},
        "asterisk": {"sip_port": SIP_PORT, "sip_bind": "127.0.0.1", "rtp_start": RTP_START, "rtp_end": RTP_END,
                     "ami": {"port": AMI_PORT}, "fastagi": {"port": AGI_PORT}},
        "api": {"port": API_PORT},
        "store": {"url": ""},
        "trunks": [{"name": "carrier", "host": TRUNK_IP, "port": TRUNK_PORT, "max_channels": 10000}],
        "queues": [{"name": "hotline", "ring_timeout": 15}],
        "seats": [{"id": sid, "name": f"坐席{sid}", "secret": seat_secret(sid)} for sid in seat_ids(seats)],
    }


# -- small helpers -------------------------------------------------------------------------

def http_json(method: str, url: str, timeout: float = 10.0) -> tuple[int, Any]:
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.25) -> Any:
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
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def raise_nofile(limit: int = 65536) -> int:
    """ulimit -n for this process and its children (sipp, Asterisk)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(soft, limit), hard) if hard != resource.RLIM_INFINITY else max(soft, limit)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ValueError, OSError):
        pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# -- CPU sampling --------------------------------------------------------------------------

def _proc_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime


def descendants(pid: int) -> list[int]:
    """Child processes of ``pid``, recursively (the controller's FastAGI process, workers)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _total_ticks() -> tuple[int, int]:
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts), idle


class CpuSampler:
    """Samples CPU use (in % of one core) of named processes and of the machine, once a second."""

    def __init__(self, pids: dict[str, Callable[[], int | None]], interval: float = 1.0) -> None:
        self.pids = pids
        self.interval = interval
        self.hz = os.sysconf("SC_CLK_TCK")
        self.samples: dict[str, list[float]] = {name: [] for name in pids}
        self.samples["machine_busy_pct_of_all_cores"] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="cpu-sampler")

    def _run(self) -> None:
        prev = {name: (_proc_ticks(p) if (p := get()) else None) for name, get in self.pids.items()}
        prev_total = _total_ticks()
        t0 = time.monotonic()
        while not self._stop.wait(self.interval):
            t1 = time.monotonic()
            dt = t1 - t0
            for name, get in self.pids.items():
                pid = get()
                cur = _proc_ticks(pid) if pid else None
                if cur is not None and prev[name] is not None and dt > 0:
                    self.samples[name].append(100.0 * (cur - prev[name]) / self.hz / dt)
                prev[name] = cur
            total = _total_ticks()
            dtot, didle = total[0] - prev_total[0], total[1] - prev_total[1]
            if dtot > 0:
                self.samples["machine_busy_pct_of_all_cores"].append(100.0 * (dtot - didle) / dtot)
            prev_total = total
            t0 = t1

    def __enter__(self) -> "CpuSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(5)

    def summary(self) -> dict[str, dict[str, float]]:
        out = {}
        for name, vals in self.samples.items():
            if vals:
                out[name] = {"mean": round(sum(vals) / len(vals), 1), "max": round(max(vals), 1)}
        return out


def machine_busy(window: float = 1.0) -> float:
    """Percent of all cores busy over ``window`` seconds."""
    a = _total_ticks()
    time.sleep(window)
    b = _total_ticks()
    dt, di = b[0] - a[0], b[1] - a[1]
    return 100.0 * (dt - di) / dt if dt > 0 else 0.0


def wait_cpu_quiet(threshold: float = 35.0, timeout: float = 30.0) -> tuple[float, float]:
    """Wait until the machine is mostly idle (the last step's backlog worked off); (seconds, busy %)."""
    t0 = time.monotonic()
    busy = machine_busy()
    while busy > threshold and time.monotonic() - t0 < timeout:
        busy = machine_busy()
    return time.monotonic() - t0, busy


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


# -- a passive AMI reader ------------------------------------------------------------------

class AmiProbe:
    """Logs in to AMI as the controller's user (same event filters) and only reads: the lag of
    Asterisk's own event delivery (event Timestamp -> received), without the controller."""

    def __init__(self, port: int, username: str, secret: str) -> None:
        self.port, self.username, self.secret = port, username, secret
        self._sock: Any = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="ami-probe")
        self._lock = threading.Lock()
        self._lags: list[float] = []
        self.events = 0
        self.error: str | None = None
        self.logged_in = threading.Event()

    def start(self) -> None:
        import socket
        self._sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self._sock.settimeout(None)
        self._sock.sendall((f"Action: Login\r\nUsername: {self.username}\r\nSecret: {self.secret}\r\n"
                            "Events: on\r\n\r\n").encode())
        self._thread.start()
        if not self.logged_in.wait(10):
            raise RuntimeError(f"AMI probe could not log in: {self.error}")

    def _run(self) -> None:
        buf = b""
        try:
            while True:
                data = self._sock.recv(65536)
                if not data:
                    self.error = "connection closed"
                    return
                now = time.time()
                buf += data
                *messages, buf = buf.split(b"\r\n\r\n")
                for msg in messages:
                    if b"Response: Success" in msg and b"Authentication accepted" in msg:
                        self.logged_in.set()
                    if not msg.startswith(b"Event:") and b"\r\nEvent:" not in msg:
                        continue
                    self.events += 1
                    m = re.search(rb"\r\nTimestamp: ([0-9.]+)", msg)
                    if m:
                        with self._lock:
                            self._lags.append(max(0.0, now - float(m.group(1))))
        except OSError as exc:
            self.error = str(exc)

    def take(self) -> dict[str, Any]:
        """Lag statistics of the events received since the last call."""
        with self._lock:
            lags, self._lags = self._lags, []
        out: dict[str, Any] = {"events": len(lags), "connected": self.error is None}
        if lags:
            out.update({"lag_p50_ms": round(percentile(lags, 50) * 1000, 2),
                        "lag_p99_ms": round(percentile(lags, 99) * 1000, 2),
                        "lag_max_ms": round(max(lags) * 1000, 2)})
        return out

    def stop(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass


# -- sipp ----------------------------------------------------------------------------------

def parse_counts_csv(path: Path) -> dict[str, int]:
    """sipp's -trace_counts file: the non-zero retransmission/timeout/unexpected counters per message."""
    with open(path, newline="") as fh:
        rows = [r for r in csv.reader(fh, delimiter=";") if r]
    if len(rows) < 2:
        return {}
    header, last = rows[0], rows[-1]
    out = {}
    for i, name in enumerate(header):
        if name.endswith(("_Retrans", "_Timeout", "_Unexp")) and i < len(last):
            try:
                v = int(last[i])
            except ValueError:
                continue
            if v:
                out[name] = v
    return out


def parse_stat_csv(path: Path) -> dict[str, Any]:
    """sipp's -trace_stat file: the last row's cumulative counters and the CurrentCall peak."""
    with open(path, newline="") as fh:
        rows = [r for r in csv.reader(fh, delimiter=";") if r]
    if len(rows) < 2:
        raise ValueError(f"{path}: no statistics rows")
    header, data = rows[0], rows[1:]
    idx = {name: i for i, name in enumerate(header)}

    def col(row: list[str], name: str) -> str:
        i = idx.get(name)
        return row[i] if i is not None and i < len(row) else ""

    def num(row: list[str], name: str) -> float:
        try:
            return float(col(row, name))
        except ValueError:
            return 0.0

    last = data[-1]

    def duration_ms(name: str) -> float:
        # "HH:MM:SS:uuuuuu"
        v = col(last, name).split(":")
        if len(v) != 4:
            return 0.0
        return (int(v[0]) * 3600 + int(v[1]) * 60 + int(v[2])) * 1000 + int(v[3]) / 1000

    failed_detail = {name[len("Failed"):-3]: int(num(last, name)) for name in header
                     if name.startswith("Failed") and name.endswith("(C)") and name != "FailedCall(C)"
                     and num(last, name)}
    return {
        "created": int(num(last, "TotalCallCreated")),
        "successful": int(num(last, "SuccessfulCall(C)")),
        "failed": int(num(last, "FailedCall(C)")),
        "failed_detail": failed_detail,
        "retransmissions": int(num(last, "Retransmissions(C)")),
        "dead_call_msgs": int(num(last, "DeadCallMsgs(C)")),
        "out_of_call_msgs": int(num(last, "OutOfCallMsgs(C)")),
        "watchdog_major": int(num(last, "WatchdogMajor(C)")),
        "watchdog_minor": int(num(last, "WatchdogMinor(C)")),
        "fatal_errors": int(num(last, "FatalErrors(C)")),
        "peak_current_calls": int(max(num(r, "CurrentCall") for r in data)),
        "mean_call_length_ms": round(duration_ms("CallLength(C)"), 1),
        "mean_answer_ms": round(duration_ms("ResponseTime1(C)"), 1),   # INVITE -> 200 OK
        "answer_ms_repartition": {name.split("_", 1)[1]: int(num(last, name)) for name in header
                                  if name.startswith("ResponseTimeRepartition1_")},
    }


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)


# -- the stack -----------------------------------------------------------------------------

@dataclass
class BenchStack:
    """One Asterisk instance (own state dir) with seats registered, optionally the controller."""

    name: str            # "static" or "full"
    state_dir: Path
    log_dir: Path
    seats: int
    full: bool           # the normal dialplan and the controller
    ami_probe: bool = False   # static dialplan with a passive AMI reader connected
    site: dict[str, Any] | None = None   # the site config (default: site_dict(seats))
    say: Callable[[str], None] = print
    runtime: asterisk_runtime.Runtime | None = None
    paths: Paths | None = None
    site_file: Path | None = None
    controller: Proc | None = None
    seat_uas: Proc | None = None
    caller: Proc | None = None
    asterisk_pid: int | None = None
    probe: AmiProbe | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{API_PORT}"

    # -- lifecycle ------------------------------------------------------------------------
    def build(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        paths = Paths.from_env(state_dir=str(self.state_dir))
        # A fresh state: stop a leftover instance of ours, wipe its instance dir and the state dir.
        try:
            old = asterisk_runtime.load(paths)
            old.stop()
            shutil.rmtree(old.host_path(old.instance), ignore_errors=True)
        except Exception:
            pass
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self.state_dir.mkdir(parents=True)
        self.paths = paths
        self.runtime = runtime = asterisk_runtime.install(paths)
        runtime.stop()
        shutil.rmtree(runtime.host_path(runtime.instance), ignore_errors=True)

        self.site_file = self.state_dir / "site.yaml"
        self.site_file.write_text(yaml.safe_dump(self.site or site_dict(self.seats), allow_unicode=True,
                                                  sort_keys=False))
        site = parse_site(yaml.safe_load(self.site_file.read_text()), str(self.site_file))
        paths.ensure()
        files = generate(site, GenerateOptions(ami_secret=paths.ami_secret(),
                                               recordings_dir=runtime.recordings_inner, static=not self.full))
        if not self.full:
            assert "AGI(" not in files["extensions.conf"], "static dialplan still calls FastAGI"
        write(files, paths.generated_dir)
        runtime.deploy(paths.generated_dir, systemname=site.site.node)
        self.asterisk_pid = runtime.start()
        self.say(f"[{self.name}] Asterisk {runtime.version} up (pid {self.asterisk_pid}, "
                 f"instance {runtime.host_path(runtime.instance)})")
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-e", "a-law", "-t", "raw",
                        str(self.log_dir / "caller-audio.alaw"), "synth", "10", "sine", "440"], check=True)

    def cli(self, command: str, timeout: float = 10.0) -> str:
        assert self.runtime is not None
        return self.runtime.cli(command, timeout=timeout) or ""

    def start_controller(self) -> None:
        assert self.paths is not None and self.site_file is not None
        log = self.log_dir / "controller.log"
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        out = open(log, "ab")
        popen = subprocess.Popen([sys.executable, "-m", "hotline", "--site", str(self.site_file), "--state-dir",
                                  str(self.paths.state_dir), "serve"], stdout=out, stderr=subprocess.STDOUT,
                                 env=env, cwd=REPO)
        out.close()
        self.controller = Proc("controller", popen, log)
        wait_for("the controller's AMI login and FastAGI", lambda: (lambda s: s.get("ami", {}).get("ok")
                 and s.get("fastagi", {}).get("ok"))(self.status()), timeout=60)
        self.say(f"[{self.name}] controller up (pid {popen.pid}), API {self.api}")

    def start_ami_probe(self) -> None:
        assert self.paths is not None
        self.probe = AmiProbe(AMI_PORT, "hotline", self.paths.ami_secret())
        self.probe.start()
        self.say(f"[{self.name}] passive AMI reader logged in (user hotline, the controller's event filters)")

    def status(self) -> dict[str, Any]:
        if self.controller is not None and not self.controller.alive():
            raise RuntimeError(f"controller exited with {self.controller.popen.returncode}; "
                               f"see {self.controller.log}")
        _, body = http_json("GET", f"{self.api}/status")
        return body or {}

    def start_seats(self, batch: int = 25, scenario: str = "seat_uas.xml", extra_args: list[str] | None = None,
                    wait_members: bool = True, nice: int = 0) -> float:
        """The seat UAS and every seat's registration; with ``wait_members``, every seat logged in
        (see login_seats) and waited for until it is a queue member not in use."""
        t0 = time.monotonic()
        log = self.log_dir / "seat_uas.log"
        out = open(log, "ab")
        popen = subprocess.Popen(
            [*(["nice", "-n", str(nice)] if nice else []), "sipp", "-sf", str(SIPP_DIR / scenario), "-i", SEAT_IP, "-p", str(SEAT_PORT),
             "-mp", str(SEAT_MEDIA), "-rtp_echo", "-d", "200", "-nostdin", "-cp", str(CONTROL_PORT_BASE),
             "-trace_err", "-error_file", str(self.log_dir / "seat_uas_errors.log"),
             "-trace_stat", "-stf", str(self.log_dir / "seat_uas_stat.csv"), "-fd", "5", *(extra_args or [])],
            stdout=out, stderr=subprocess.STDOUT, cwd=self.log_dir)
        out.close()
        self.seat_uas = Proc("seat_uas", popen, log)
        time.sleep(0.5)
        if not self.seat_uas.alive():
            raise RuntimeError(f"the seat UAS exited at once; see {log}")
        ids = seat_ids(self.seats)
        failed = self._register(ids, batch)
        if failed:
            self.say(f"[{self.name}] retrying {len(failed)} registration(s)")
            failed = self._register(failed, 5)
        if failed:
            raise RuntimeError(f"seats could not register: {failed[:10]} (see {self.log_dir}/register-*.log)")
        wait_for(f"{self.seats} seat contacts reachable",
                 lambda: self.cli("pjsip show contacts").count("Avail ") >= self.seats, timeout=60, interval=1)
        if wait_members:
            self.login_seats(ids)
            wait_for(f"{self.seats} queue members not in use",
                     lambda: self.cli("queue show hotline").count("(Not in use)") >= self.seats, timeout=60,
                     interval=1)
        took = time.monotonic() - t0
        self.say(f"[{self.name}] {self.seats} seats registered and available in {took:.1f} s")
        return took

    def login_seats(self, ids: list[str]) -> str:
        """Seats are dynamic queue members (no static members since seat login): log each one in,
        through the API when the controller runs (what a seat does), else with the CLI command the
        login's AMI QueueAdd amounts to. Returns how ("api" or "cli")."""
        if self.controller is not None:
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(8) as pool:
                replies = list(pool.map(lambda s: http_json("POST", f"{self.api}/api/seats/{s}/login", timeout=30),
                                        ids))
            bad = [(s, code, body) for s, (code, body) in zip(ids, replies) if code != 200]
            if bad:
                raise RuntimeError(f"{len(bad)} seat login(s) failed, first: {bad[0]}")
            return "api"
        for sid in ids:
            out = self.cli(f"queue add member PJSIP/{sid} to hotline penalty 0 as {sid} state_interface PJSIP/{sid}")
            if "Added interface" not in out:
                raise RuntimeError(f"queue add member PJSIP/{sid}: {out.strip()[:200]}")
        return "cli"

    def _register(self, ids: list[str], batch: int) -> list[str]:
        failed: list[str] = []
        for start in range(0, len(ids), batch):
            procs = []
            for k, seat in enumerate(ids[start:start + batch]):
                procs.append((seat, subprocess.Popen(
                    ["sipp", "-sf", str(SIPP_DIR / "register.xml"), "-i", SEAT_IP, "-p", "0",
                     "-key", "user", seat, "-key", "contact_port", str(SEAT_PORT), "-au", seat,
                     "-ap", seat_secret(seat), "-m", "1", "-nostdin", "-timeout", "15",
                     "-cp", str(CONTROL_PORT_BASE + 10 + k), f"127.0.0.1:{SIP_PORT}"],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=self.log_dir)))
            try:
                for seat, p in procs:
                    try:
                        output, _ = p.communicate(timeout=30)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        output, _ = p.communicate()
                    if p.returncode != 0:
                        failed.append(seat)
                        (self.log_dir / f"register-{seat}.log").write_bytes(output[-4000:])
            finally:  # interrupted: leave no registration sipp behind
                for _, p in procs:
                    if p.poll() is None:
                        p.kill()
                        p.wait()
        return failed

    # -- measurements -----------------------------------------------------------------------
    def active_channels(self) -> int | None:
        out = self.runtime.cli("core show channels count", timeout=10, check=False) if self.runtime else None
        m = re.search(r"(\d+) active channel", out or "")
        return int(m.group(1)) if m else None

    def wait_idle(self, timeout: float = 90.0) -> float:
        t0 = time.monotonic()
        wait_for("Asterisk to have no active channels", lambda: self.active_channels() == 0,
                 timeout=timeout, interval=0.5)
        return time.monotonic() - t0

    def queue_counts(self) -> dict[str, int]:
        out = self.cli("queue show hotline")
        m = re.search(r"W:(\d+), C:(\d+), A:(\d+)", out)
        if not m:
            raise RuntimeError(f"cannot read queue counters from: {out[:300]!r}")
        return {"completed": int(m.group(2)), "abandoned": int(m.group(3))}

    def recordings(self) -> tuple[int, int]:
        assert self.runtime is not None
        d = self.runtime.recordings_dir
        files = list(d.glob("*.wav")) if d.exists() else []
        return len(files), sum(f.stat().st_size for f in files)

    def run_calls(self, label: str, rate: float, seconds: float, talk_ms: int, caller: str) -> dict[str, Any]:
        """One load step: ``rate`` calls/s for ``seconds`` through the trunk; sipp's statistics."""
        total = max(1, int(round(rate * seconds)))
        call_s = talk_ms / 1000 + 1.0
        limit = max(20, int(rate * call_s * 3))
        stat = self.log_dir / f"caller-{label}.csv"
        for f in (stat,):
            f.unlink(missing_ok=True)
        log = self.log_dir / f"caller-{label}.log"
        argv = ["sipp", "-sf", str(SIPP_DIR / "caller.xml"), "-i", TRUNK_IP, "-p", str(TRUNK_PORT),
                "-mp", str(CALLER_MEDIA), "-s", HOTLINE_NUMBER, "-key", "caller", caller,
                "-d", str(talk_ms), "-r", f"{rate:g}", "-m", str(total), "-l", str(limit), "-nostdin",
                "-cp", str(CONTROL_PORT_BASE + 1),
                "-timeout", str(int(seconds + talk_ms / 1000 + 60)),
                "-trace_stat", "-stf", str(stat), "-fd", "1", "-trace_counts",
                "-trace_err", "-error_file", str(self.log_dir / f"caller-{label}-errors.log"),
                f"127.0.0.1:{SIP_PORT}"]
        with open(log, "wb") as out:
            popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=self.log_dir)
        self.caller = Proc("caller", popen, log)
        t0 = time.monotonic()
        try:
            popen.wait(seconds + talk_ms / 1000 + 120)
        finally:
            self.caller.stop()
        took = time.monotonic() - t0
        result = parse_stat_csv(stat)
        counts = self.log_dir / f"caller_{popen.pid}_counts.csv"
        if counts.exists():
            counts = counts.rename(self.log_dir / f"caller-{label}-counts.csv")
            result["message_counters"] = parse_counts_csv(counts)
        result.update({"target_rate": rate, "target_calls": total, "call_limit": limit, "seconds": seconds,
                       "wall_seconds": round(took, 1), "sipp_exit": popen.returncode, "caller_number": caller,
                       "command": " ".join(argv)})
        return result

    def close(self) -> None:
        if self.probe is not None:
            self.probe.stop()
        for proc in (self.caller, self.controller, self.seat_uas):
            if proc is not None:
                try:
                    proc.stop()
                except Exception as exc:  # keep cleaning up
                    self.say(f"[{self.name}] could not stop {proc.name}: {exc}")
        if self.runtime is not None:
            try:
                self.runtime.stop()
            except Exception as exc:
                self.say(f"[{self.name}] could not stop Asterisk: {exc}")

    def asterisk_warnings(self) -> dict[str, int]:
        """WARNING/ERROR lines of Asterisk's messages.log, by source file and message kind."""
        if self.runtime is None:
            return {}
        f = self.runtime.log_dir / "messages.log"
        out: dict[str, int] = {}
        try:
            lines = f.read_text(errors="replace").splitlines()
        except OSError:
            return {}
        for line in lines:
            m = re.search(r"\b(WARNING|ERROR)\[[^\]]*\](?:\[[^\]]*\])? (\S+): (.*)", line)
            if m:
                text = re.sub(r"[-0-9a-f]{8,}|\d+", "N", m.group(3))[:100]
                key = f"{m.group(1)} {m.group(2)} {text}"
                out[key] = out.get(key, 0) + 1
        return out

    def copy_asterisk_logs(self) -> None:
        if self.runtime is None:
            return
        src = self.runtime.log_dir
        for name in ("messages.log", "console.log"):
            f = src / name
            if f.exists():
                shutil.copy2(f, self.log_dir / f"asterisk-{name}")


def all_records(api: str, start: datetime, end: datetime) -> tuple[int, list[dict[str, Any]]]:
    """Every call record arriving in [start, end), paginated; and the API's ``total``."""
    q = urllib.parse.urlencode({"start": start.isoformat(), "end": end.isoformat(), "limit": 500})
    items: list[dict[str, Any]] = []
    total = None
    offset = 0
    while True:
        code, body = http_json("GET", f"{api}/api/calls?{q}&offset={offset}", timeout=30)
        if code != 200:
            raise RuntimeError(f"/api/calls returned {code}: {body}")
        total = body["total"]
        items += body["items"]
        offset += len(body["items"])
        if not body["items"] or offset >= total:
            break
    return total, items
