"""The soak benchmark's load: callers (one sipp per call, Poisson arrivals), seat churn through the
API, an API client, a wallboard SSE reader and seat re-registration. See bench/soak.py.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import benchrig
from benchrig import BenchStack, http_json

CALLER_SLOTS = 240           # concurrent caller sipps: media CALLER_MEDIA+4k, control port CONTROL_PORT_BASE+100+k
PAUSE_REASONS = ["break", "training", "admin", "meal"]


class Traffic:
    """Callers: one sipp per call, Poisson arrivals, a random hold time each."""

    def __init__(self, stack: BenchStack, args: argparse.Namespace, calls_dir: Path) -> None:
        self.stack, self.args, self.dir = stack, args, calls_dir
        self.placed: list[dict[str, Any]] = []
        self.running: dict[int, tuple[subprocess.Popen[bytes], int]] = {}
        self.free = list(range(CALLER_SLOTS))
        self.lock = threading.Lock()
        self.no_slot = 0

    def place(self) -> None:
        a = self.args
        i = len(self.placed)
        abandon = random.random() < a.abandon_share
        hold = random.uniform(a.abandon_min, a.abandon_max) if abandon else random.uniform(a.talk_min, a.talk_max)
        if not self.free:
            self.no_slot += 1
            return
        slot = self.free.pop(0)
        caller = f"139{i:08d}"   # unique per call: ties a record to its call
        argv = ["sipp", "-sf", str(benchrig.SIPP_DIR / "caller.xml"), "-i", benchrig.TRUNK_IP, "-p", "0",
                "-mp", str(benchrig.CALLER_MEDIA + 4 * slot), "-s", benchrig.HOTLINE_NUMBER, "-key", "caller", caller,
                "-d", str(int(hold * 1000)), "-m", "1", "-nostdin", "-cp", str(benchrig.CONTROL_PORT_BASE + 100 + slot),
                "-recv_timeout", str(int(a.answer_bound * 1000)), "-timeout", str(int(hold + 120)),
                "-trace_err", "-error_file", str(self.dir / f"{i}-errors.log"), f"127.0.0.1:{benchrig.SIP_PORT}"]
        err = open(self.dir / f"{i}.log", "wb")
        popen = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, cwd=self.stack.log_dir)
        err.close()
        with self.lock:
            self.placed.append({"i": i, "t": time.time(), "caller": caller, "abandon": abandon,
                                "hold_s": round(hold, 1), "rc": None})
            self.running[i] = (popen, slot)

    def reap(self) -> None:
        with self.lock:
            for i, (popen, slot) in list(self.running.items()):
                rc = popen.poll()
                if rc is None:
                    continue
                del self.running[i]
                self.free.append(slot)
                self.placed[i]["rc"] = rc
                self.placed[i]["ended"] = time.time()
                if rc == 0:
                    for f in (self.dir / f"{i}.log", self.dir / f"{i}-errors.log"):
                        f.unlink(missing_ok=True)

    def run(self, until: float, stop: threading.Event) -> None:
        nxt = time.monotonic() + random.expovariate(self.args.rate)
        while not stop.is_set() and time.monotonic() < until:
            self.reap()
            if time.monotonic() >= nxt:
                self.place()
                nxt += random.expovariate(self.args.rate)
            stop.wait(max(0.0, min(0.5, nxt - time.monotonic())))

    def drain(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.running and time.monotonic() < deadline:
            self.reap()
            time.sleep(1)

    def kill_all(self) -> None:
        with self.lock:
            for popen, _ in self.running.values():
                if popen.poll() is None:
                    popen.kill()


class Clients:
    """Seat churn through the API, an API client, a wallboard SSE reader, seat re-registration."""

    def __init__(self, stack: BenchStack, args: argparse.Namespace, seats: list[str]) -> None:
        self.stack, self.args, self.seats = stack, args, seats
        self.api = stack.api
        self.churn: dict[str, int] = {}
        self.api_client: dict[str, Any] = {"requests": 0, "errors": 0, "codes": {}, "max_ms": 0.0, "slow_over_2s": 0}
        self.sse: dict[str, Any] = {"connects": 0, "events": {}, "errors": 0, "last_error": None, "bytes": 0}
        self.reregistrations = 0
        self.paused: dict[str, float] = {}     # seat -> unpause at
        self.out: dict[str, float] = {}        # seat -> log in again at

    def _post(self, path: str, body: dict[str, Any] | None = None) -> int:
        data = json.dumps(body or {}).encode()
        req = urllib.request.Request(f"{self.api}{path}", data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    def _tally(self, action: str, code: int) -> None:
        key = f"{action} {code}"
        self.churn[key] = self.churn.get(key, 0) + 1

    def churn_loop(self, stop: threading.Event) -> None:
        last_reg = time.monotonic()
        while not stop.wait(random.uniform(0.5, 1.5) * self.args.churn_seconds):
            now = time.monotonic()
            for seat, at in list(self.paused.items()):
                if now >= at:
                    self._tally("unpause", self._post(f"/api/seats/{seat}/unpause"))
                    del self.paused[seat]
            for seat, at in list(self.out.items()):
                if now >= at:
                    self._tally("login", self._post(f"/api/seats/{seat}/login"))
                    del self.out[seat]
            active = [s for s in self.seats if s not in self.paused and s not in self.out]
            if active and len(self.paused) + len(self.out) < max(1, len(self.seats) // 5):
                seat = random.choice(active)
                if random.random() < 0.75:
                    code = self._post(f"/api/seats/{seat}/pause", {"reason": random.choice(PAUSE_REASONS)})
                    self._tally("pause", code)
                    if code == 200:
                        self.paused[seat] = now + random.uniform(60, 300)
                else:
                    code = self._post(f"/api/seats/{seat}/logout")
                    self._tally("logout", code)    # 409 seat-busy: the seat is on a call
                    if code == 200:
                        self.out[seat] = now + random.uniform(60, 180)
            if now - last_reg > self.args.reregister_seconds:   # Expires: 3600, as a phone would
                failed = self.stack._register(self.seats, 25)
                self.reregistrations += 1
                self._tally("re-register failed", len(failed)) if failed else None
                last_reg = now

    def api_loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.args.api_seconds):
            now = datetime.now(timezone.utc)
            day = now.replace(hour=0, minute=0, second=0, microsecond=0)
            q = urllib.parse.urlencode({"start": day.isoformat(), "end": now.isoformat(), "by": "all",
                                        "interval": "hour"})
            for path in ("/api/calls?limit=50", f"/api/metrics?{q}", "/api/seats", "/api/live"):
                t0 = time.monotonic()
                try:
                    code, _ = http_json("GET", f"{self.api}{path}", timeout=30)
                except (OSError, ValueError):
                    code = 0
                ms = (time.monotonic() - t0) * 1000
                c = self.api_client
                c["requests"] += 1
                c["codes"][str(code)] = c["codes"].get(str(code), 0) + 1
                c["errors"] += code != 200
                c["max_ms"] = round(max(c["max_ms"], ms), 1)
                c["slow_over_2s"] += ms > 2000

    def sse_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.sse["connects"] += 1
            try:
                req = urllib.request.Request(f"{self.api}/api/live/stream", headers={"Accept": "text/event-stream"})
                with urllib.request.urlopen(req, timeout=60) as resp:   # a heartbeat comes every 15 s
                    for line in resp:
                        self.sse["bytes"] += len(line)
                        if line.startswith(b"event:"):
                            name = line[6:].strip().decode(errors="replace")
                            self.sse["events"][name] = self.sse["events"].get(name, 0) + 1
                        if stop.is_set():
                            return
            except Exception as exc:   # count it and reconnect, as the wallboard does
                self.sse["errors"] += 1
                self.sse["last_error"] = f"{type(exc).__name__}: {exc}"[:200]
            stop.wait(2)
