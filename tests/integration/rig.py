"""The integration rig: a real Asterisk, the real controller, SIP phones from sipp.

One folder of scenarios (``tests/sipp``), one site config per session written
here, ports apart from the demo's so both can run on one machine. Everything
waits on readiness (AMI logged in, contacts registered, records present), never
on a fixed sleep.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

import yaml

from hotline import asterisk_runtime
from hotline.auth.passwords import hash_password
from hotline.config import parse_site
from hotline.config.paths import Paths
from hotline.deploy import generate_config

REPO = Path(__file__).resolve().parents[2]
SIPP_DIR = REPO / "tests" / "sipp"

# HOTLINE_IT_SLOT (0-4) moves every port, so several rigs (work trees) can run at once. A slot's
# media ports span 16000-17600 + 1700 per slot (22800-24400 at most); its Asterisk RTP range is
# 41000 + 1000 per slot: clear of every slot's media, of bench/run_bench.py (25xxx-39999) and of
# bench/soak.py (35xxx-40999).
SLOT = int(os.environ.get("HOTLINE_IT_SLOT", "0"))
if not 0 <= SLOT <= 4:
    raise ValueError(f"HOTLINE_IT_SLOT must be 0-4, not {SLOT}")
_P, _M = 50 * SLOT, 1700 * SLOT          # signalling and media offsets
SIP_PORT = 15060 + _P
AMI_PORT = 15038 + _P
AGI_PORT = 14573 + _P
API_PORT = 18080 + _P
TRUNK_IP, TRUNK_PORT = "127.0.0.2", 15070 + _P
SEAT_IP, SEAT_PORT, SEAT_MEDIA = "127.0.0.1", 15081 + _P, 16000 + _M
RTP_START = 41000 + 1000 * SLOT
CALLER_MEDIA = 17000 + _M
SEATS = {"1001": "seatsecret-1001", "1002": "seatsecret-1002"}
# Issue 13 (tests/integration/test_console_webrtc.py): a seat whose phone is the console page's
# WebRTC phone, in the hotline queue but logged in only by that test; Asterisk's WebSocket port.
BROWSER_SEAT = ("1011", "seatsecret-1011")
WEBRTC_PORT = 18088 + _P
WEBRTC_QUALIFY_S = 3
QUALIFY_TIMEOUT_S = 3.0   # pjsip.conf's qualify_timeout (Asterisk's default; the generated AORs keep it)

# Users of the API (part 8 of issue #3): http_json logs in as RIG_USER; the wallboard tests log in
# as the supervisor, whose phone (listen/whisper/barge) is the seat SUPERVISOR_PHONE: in no queue,
# registered only by the tests that need it.
SUPERVISOR_PHONE = ("1009", "seatsecret-1009")
USERS = {"admin": ("admin", None, "rig-admin-pass"), "boss": ("supervisor", SUPERVISOR_PHONE[0], "rig-boss-pass"),
         **{f"seat{sid}": ("seat", sid, f"rig-seat-{sid}") for sid in (*SEATS, BROWSER_SEAT[0])}}
RIG_USER = "admin"
# Issue #11 (tests/integration/test_order_loop.py): member units (承办单位) and one user of each.
ORDER_UNITS = [{"id": "renshe", "name": "人社局", "department": "renshe",
                "leader": {"name": "王局长", "phone": "13800000001"}},
               {"id": "zhujian", "name": "住建局", "leader": {"name": "李局长", "phone": "13800000002"}}]
ORDER_SUBJECTS = [{"id": "wage", "name": "劳动工资", "unit": "renshe"},
                  {"id": "housing", "name": "住房建设", "unit": "zhujian"}]
UNIT_USERS = {"renshe1": ("renshe", "rig-unit-renshe"), "zhujian1": ("zhujian", "rig-unit-zhujian")}
_RIG_HASH_ITERATIONS = 1000   # fast logins for the tests; real hashes use the default

# Issue #4 (tests/integration/test_numbers.py): legacy numbers in and after their transition,
# parallel numbers answered by department phones (sipp UASes registered as dept-<id>), 110.
SITE_TZ = "Asia/Shanghai"
MERGED_IN_TRANSITION = "83530001"         # prompt on, today inside the window
MERGED_WITHDRAWN_TO_HOTLINE = "83530002"  # window over: notice, then 12345
MERGED_WITHDRAWN_END = "83530003"         # window over: notice, then the call ends
PARALLEL_ANSWERED = "12329"               # dept-gongjijin answers
PARALLEL_NOANSWER = "12336"               # dept-guotu rings and nobody picks up
PARALLEL_CLOSED = "12318"                 # wenhua's office hours exclude now
PARALLEL_BUSY = "12314"                   # dept-shuiwu answers every call 486 Busy Here
DIVERTED_110 = "85110110"
DIVERSION_PRIORITY = 20
PARALLEL_RING_S = 5
DEPT_PHONE_IP = "127.0.0.1"
# department id -> (endpoint, secret, contact port, media port, sipp scenario)
DEPT_PHONES = {
    "gongjijin": ("dept-gongjijin", "deptsecret-gongjijin", 15082 + _P, 16100 + _M, "seat_uas.xml"),
    "guotu": ("dept-guotu", "deptsecret-guotu", 15083 + _P, 16200 + _M, "noanswer_uas.xml"),
    "shuiwu": ("dept-shuiwu", "deptsecret-shuiwu", 15086 + _P, 16600 + _M, "busy_uas.xml"),
}


# Issue #3 (tests/integration/test_seats.py): a queue with wrap-up, a seat that never answers
# (auto-pause), a seat on an outside number that must press 1, a county queue overflowing to
# the city queue. Each has its own merged number, so the other tests' queue is untouched.
WRAPUP_S = 6
AUTO_PAUSE_AFTER = 2
OVERFLOW_AFTER_S = 5
NOANSWER_SEAT = ("1003", "seatsecret-1003", 15084 + _P, 16400 + _M)   # id, secret, port, media
REMOTE_SEAT, REMOTE_SEAT_NUMBER = "1005", "13900000005"
SEAT_QUEUES = {"1001": ["hotline", "wrapq"], "1002": ["hotline", "wakeq"]}
SEAT_TEST_QUEUES: list[dict[str, Any]] = [
    {"name": "wrapq", "ring_timeout": 10, "wrapup": WRAPUP_S},
    {"name": "autopq", "ring_timeout": 5, "retry": 1},
    {"name": "remoteq", "ring_timeout": 30},
    {"name": "haimen", "county": "海门", "overflow": [{"to": "hotline", "after": OVERFLOW_AFTER_S}]},
    {"name": "wakeq", "ring_timeout": 15},   # tests/integration/test_queue_wake.py (seat 1002)
]
SEAT_TEST_SEATS: list[dict[str, Any]] = [
    {"id": NOANSWER_SEAT[0], "name": "不接听坐席", "secret": NOANSWER_SEAT[1], "queues": ["autopq"]},
    {"id": REMOTE_SEAT, "name": "海门手机坐席", "secret": "seatsecret-1005", "queues": ["remoteq"],
     "external_number": REMOTE_SEAT_NUMBER, "county": "海门"},
]
SEAT_TEST_NUMBERS = {"wrapq": "83539001", "autopq": "83539002", "remoteq": "83539003", "haimen": "83539004",
                     "wakeq": "83539009"}


def site_dict(store_url: str = "") -> dict[str, Any]:
    return _queue_caller_site({
        "site": {"name": "integration", "hotline_number": "12345", "default_queue": "hotline"},
        "asterisk": {"sip_port": SIP_PORT, "sip_bind": "127.0.0.1", "rtp_start": RTP_START, "rtp_end": RTP_START + 999,
                     "ami": {"port": AMI_PORT}, "fastagi": {"port": AGI_PORT, "timeout_ms": 1000},
                     "webrtc": {"port": WEBRTC_PORT, "qualify_seconds": WEBRTC_QUALIFY_S}},
        "api": {"port": API_PORT},
        "store": {"url": store_url},
        "trunks": [{"name": "carrier", "host": TRUNK_IP, "port": TRUNK_PORT}],
        "departments": [{"id": "chengjian", "name": "城建局"}, {"id": "renshe", "name": "人社局"},
                        {"id": "nobody", "name": "无人值守", "queue": "empty"},
                        *_numbers_departments()],
        "queues": [{"name": "hotline", "ring_timeout": 15}, {"name": "empty"}, *SEAT_TEST_QUEUES],
        "seats": [{"id": sid, "name": f"坐席{sid}", "secret": sec, "queues": SEAT_QUEUES.get(sid, ["hotline"])}
                  for sid, sec in SEATS.items()] + SEAT_TEST_SEATS
                 + [{"id": SUPERVISOR_PHONE[0], "name": "班长话机", "secret": SUPERVISOR_PHONE[1], "queues": []},
                    {"id": BROWSER_SEAT[0], "name": "网页坐席", "secret": BROWSER_SEAT[1], "queues": ["hotline"],
                     "phone": "browser"}],
        "seat_rules": {"auto_pause_after": AUTO_PAUSE_AFTER},
        "users": [{"name": name, "role": role, **({"seat": seat} if seat else {}),
                   "password_hash": hash_password(password, iterations=_RIG_HASH_ITERATIONS)}
                  for name, (role, seat, password) in USERS.items()]
                 + [{"name": name, "role": "unit", "unit": unit,
                     "password_hash": hash_password(password, iterations=_RIG_HASH_ITERATIONS)}
                    for name, (unit, password) in UNIT_USERS.items()],
        "orders": {"units": ORDER_UNITS, "subjects": ORDER_SUBJECTS, "areas": [{"id": "hualong", "name": "华龙区"}]},
        "legacy_numbers": [
            {"number": "83531111", "mode": "merged", "department": "chengjian", "hotline": "城建服务热线"},
            {"number": "12333", "mode": "parallel", "department": "renshe"},
            {"number": "85000000", "mode": "merged", "department": "nobody"},
            *_numbers_legacy_numbers(),
            *({"number": number, "mode": "merged", "department": "chengjian", "queue": queue}
              for queue, number in SEAT_TEST_NUMBERS.items()),
        ],
        "diversion_110": {"numbers": [DIVERTED_110], "priority": DIVERSION_PRIORITY},
        "retention": RIG_RETENTION,
    })


# The disk alarm's thresholds are a site's; the rig's are small, so a test machine with little free
# disk is not "critical" (and /status 503) for every test. tests/integration/test_disk.py puts the
# state directory and the recordings on small file systems of its own and fills them.
RIG_RETENTION = {"min_free_percent": 0, "min_free_mb": 8, "warn_free_percent": 0, "warn_free_mb": 16,
                 "disk_check_seconds": 0.5}


# Issue #3, the caller's side of the queue (tests/integration/test_queue_caller.py): queues reached
# through merged numbers of their own departments. Q3_WAIT has no seat (callers wait and hear
# announcements every Q3_ANNOUNCE_S); Q3_TIMEOUT has no seat either and gives up after
# Q3_MAX_WAIT_S to Q3_BACKUP (seat 1002); Q3_NIGHT has the no-seat rule with a voice message;
# Q3_PRIO is served by seat 1001 alone. Callers of these tests send from their own ports.
Q3_WAIT, Q3_TIMEOUT, Q3_BACKUP, Q3_NIGHT, Q3_PRIO = "q3wait", "q3timeout", "q3backup", "q3night", "q3prio"
Q3_NUMBERS = {Q3_WAIT: "83533001", Q3_TIMEOUT: "83533002", Q3_NIGHT: "83533003", Q3_PRIO: "83533004"}
Q3_ANNOUNCE_S = 5
Q3_MAX_WAIT_S = 5
Q3_REPEAT_PRIORITY = 5
Q3_CALLER_PORTS = [(15074 + _P + i, 17300 + _M + 100 * i) for i in range(3)]   # (SIP port, media port)


def _queue_caller_site(d: dict[str, Any]) -> dict[str, Any]:
    d["queues"] += [
        {"name": Q3_WAIT, "announce_every": Q3_ANNOUNCE_S},
        {"name": Q3_TIMEOUT, "max_wait": Q3_MAX_WAIT_S, "fallback": {"action": "queue", "queue": Q3_BACKUP}},
        {"name": Q3_BACKUP, "waiting": "ringback"},
        {"name": Q3_NIGHT, "no_seat": "fallback", "fallback": {"action": "message"}},
        {"name": Q3_PRIO},
    ]
    d["departments"] += [{"id": f"dept{q}", "name": f"队列{q}", "queue": q} for q in Q3_NUMBERS]
    d["legacy_numbers"] += [{"number": n, "mode": "merged", "department": f"dept{q}"} for q, n in Q3_NUMBERS.items()]
    for seat in d["seats"]:
        if seat["id"] in SEATS:
            seat["queues"] = [*seat["queues"], Q3_PRIO if seat["id"] == "1001" else Q3_BACKUP]
    d["repeat_caller"] = {"within_hours": 1, "priority": Q3_REPEAT_PRIORITY}
    return d


def _site_today() -> date:
    return datetime.now(ZoneInfo(SITE_TZ)).date()


def _numbers_departments() -> list[dict[str, Any]]:
    """Departments of the issue #4 tests; wenhua's hours are a window hours away from now."""
    hour = datetime.now(ZoneInfo(SITE_TZ)).hour
    closed = {"days": "daily", "start": "20:00", "end": "21:00"} if hour < 12 else \
        {"days": "daily", "start": "02:00", "end": "03:00"}
    return [
        *({"id": dept, "name": name, "phone_secret": DEPT_PHONES[dept][1]}
          for dept, name in (("gongjijin", "公积金中心"), ("guotu", "国土局"), ("shuiwu", "水务局"))),
        {"id": "wenhua", "name": "文化局", "hours": closed},
    ]


def _numbers_legacy_numbers() -> list[dict[str, Any]]:
    today = _site_today()

    def days(n: int) -> str:
        return (today + timedelta(days=n)).isoformat()

    return [
        {"number": MERGED_IN_TRANSITION, "mode": "merged", "department": "chengjian", "hotline": "城建投诉热线",
         "transition": {"prompt": True, "start": days(-30), "end": days(30), "after": "notice_then_hotline"}},
        {"number": MERGED_WITHDRAWN_TO_HOTLINE, "mode": "merged", "department": "chengjian",
         "transition": {"prompt": True, "start": days(-60), "end": days(-30), "after": "notice_then_hotline"}},
        {"number": MERGED_WITHDRAWN_END, "mode": "merged", "department": "chengjian",
         "transition": {"prompt": True, "start": days(-60), "end": days(-30), "after": "notice_then_end"}},
        {"number": PARALLEL_ANSWERED, "mode": "parallel", "department": "gongjijin", "hotline": "公积金热线",
         "ring_seconds": PARALLEL_RING_S},
        {"number": PARALLEL_NOANSWER, "mode": "parallel", "department": "guotu", "ring_seconds": PARALLEL_RING_S},
        {"number": PARALLEL_CLOSED, "mode": "parallel", "department": "wenhua", "ring_seconds": PARALLEL_RING_S},
        {"number": PARALLEL_BUSY, "mode": "parallel", "department": "shuiwu", "ring_seconds": PARALLEL_RING_S},
    ]


_tokens: dict[tuple[str, str], str] = {}   # (API base, user) -> token; tokens survive controller restarts


def _raw_json(method: str, url: str, body: Any, timeout: float, token: str | None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def login(base: str, user: str = RIG_USER, timeout: float = 5.0) -> str:
    """Log in as a rig user (USERS); the token is kept for the next requests."""
    password = USERS[user][2] if user in USERS else UNIT_USERS[user][1]
    code, session = _raw_json("POST", f"{base}/api/login", {"name": user, "password": password}, timeout, None)
    assert code == 200, f"rig login as {user} failed: {code} {session}"
    _tokens[(base, user)] = session["token"]
    return str(session["token"])


def http_json(method: str, url: str, body: Any = None, timeout: float = 5.0, *,
              user: str | None = RIG_USER) -> tuple[int, Any]:
    """A JSON request; under /api/ as ``user`` (logged in on first use, again after a 401), or
    without a token when ``user`` is None."""
    parts = urllib.parse.urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}"
    if user is None or not parts.path.startswith("/api/") or parts.path == "/api/login":
        return _raw_json(method, url, body, timeout, None)
    token = _tokens.get((base, user)) or login(base, user, timeout)
    code, answer = _raw_json(method, url, body, timeout, token)
    if code == 401:   # revoked, expired, or a site whose users changed
        code, answer = _raw_json(method, url, body, timeout, login(base, user, timeout))
    return code, answer


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

    def start_controller(self, *extra: str, env: dict[str, str] | None = None) -> None:
        """``env``: more environment for the controller (test_order_loop.py: its order clock)."""
        assert self.controller is None or self.controller.poll() is not None
        log = self.workdir / "controller.log"
        self.log_files.append(log)
        env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
        with open(log, "ab") as out:
            self.controller = subprocess.Popen(
                [sys.executable, "-m", "hotline", "--site", str(self.site_file), "--state-dir",
                 str(self.paths.state_dir), *extra, "serve"], stdout=out, stderr=subprocess.STDOUT, env=env)
        # Up to 90 s: over 30 s was seen on a loaded 2-core machine; a controller that exits fails at once.
        wait_for("the controller's AMI login", lambda: self.status().get("ami", {}).get("ok"), timeout=90)

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
        self.seats_ready()

    def end_all_calls(self) -> None:
        """Hang up every channel Asterisk has and wait until none is left (a test's callers, its
        queue-callback placeholders, legs a killed sipp never ended): the next test starts on an
        empty queue."""
        self.cli("channel request hangup all")
        def none_left() -> bool:
            return re.search(r"^0 active channels", self.cli("core show channels count"), re.M) is not None
        wait_for("no channel left", none_left, timeout=20, interval=0.2)

    def seats_ready(self) -> None:
        """Register every seat with the running UAS, qualify them, log them in, and wait until
        the hotline queue has them all available (after a start of the seats or of Asterisk)."""
        for seat, secret in SEATS.items():
            self.register(seat, secret)
        def reachable() -> bool:   # qualify again: a late first OPTIONS answer under load (or right
            for seat in SEATS:     # after an Asterisk start) leaves a contact unavailable until the next
                self.cli(f"pjsip qualify {seat}")
            return self.cli("pjsip show contacts").count("Avail ") >= len(SEATS)
        wait_for("seat contacts reachable", reachable, timeout=45, interval=0.5)
        for seat in SEATS:
            self.login_seat(seat)
        def available() -> bool:   # qualified again while waiting: app_queue takes the device state
            if self.cli("queue show hotline").count("(Not in use)") >= len(SEATS):   # of a seat from it
                return True
            for seat in SEATS:
                self.cli(f"pjsip qualify {seat}")
            return False
        try:
            wait_for("queue members available", available, timeout=45, interval=0.5)
        except AssertionError as exc:   # what Asterisk shows, for the report
            shown = self.cli("queue show hotline") + self.cli("pjsip show contacts")
            raise AssertionError(f"{exc}\n{shown}") from None

    def seat(self, seat: str) -> dict[str, Any]:
        code, body = http_json("GET", f"{self.api}/api/seats/{seat}")
        assert code == 200, body
        return body

    def login_seat(self, seat: str) -> None:
        """Log ``seat`` in through the API (idempotent: an already logged-in seat is fine)."""
        code, body = http_json("POST", f"{self.api}/api/seats/{seat}/login")
        assert code == 200 or (code == 409 and body["error_id"] == "seat-already-logged-in"), (code, body)

    # Used by tests/integration/test_callbacks.py: through the API, like every seat login.
    def login_seat_cli(self, seat: str, queue: str = "hotline") -> None:
        self.login_seat(seat)

    def logout_seat_cli(self, seat: str, queue: str = "hotline") -> None:
        code, body = http_json("POST", f"{self.api}/api/seats/{seat}/logout")
        assert code == 200 or (code == 409 and body["error_id"] == "seat-not-logged-in"), (code, body)

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
             port: int = TRUNK_PORT, source_ip: str = TRUNK_IP,
             timeout: int = 60) -> subprocess.CompletedProcess[bytes]:
        """Place one call through the carrier trunk; returns sipp's result (0 = scenario completed)."""
        return subprocess.run(
            ["sipp", "-sf", str(SIPP_DIR / scenario), "-i", source_ip, "-p", str(port), "-mp", str(CALLER_MEDIA),
             "-s", number, "-key", "caller", caller, "-d", str(talk_ms), "-m", "1", "-nostdin",
             "-timeout", str(timeout), "-trace_err", "-error_file", str(self.workdir / f"caller-{caller}.err"),
             f"127.0.0.1:{SIP_PORT}"],
            capture_output=True, cwd=self.workdir, timeout=timeout + 10)

    def recording(self, record: dict[str, Any]) -> Path:
        return self.runtime.recordings_dir / record["recording"]

    # -- issue #4: department phones, prompts ---------------------------------------
    def register_phone(self, user: str, secret: str, port: int) -> float:
        """Register ``user`` (a department phone dept-<id>) from ``port``, where its UAS will listen;
        when it was registered (monotonic).

        Department phones may sit behind NAT (rewrite_contact): Asterisk takes the REGISTER's
        source address as the contact, so the registration is sent from the phone's own port."""
        r = subprocess.run(
            ["sipp", "-sf", str(SIPP_DIR / "register.xml"), "-i", DEPT_PHONE_IP, "-p", str(port), "-key", "user",
             user, "-key", "contact_port", str(port), "-au", user, "-ap", secret, "-m", "1", "-nostdin",
             "-timeout", "10", f"127.0.0.1:{SIP_PORT}"],
            capture_output=True, cwd=self.workdir, timeout=30, check=False)
        assert r.returncode == 0, f"{user} could not register: {r.stdout[-500:]!r}"
        return time.monotonic()

    def start_department_phones(self, ring_ms: int = 300) -> list[subprocess.Popen[bytes]]:
        """One sipp UAS per department phone of DEPT_PHONES, registered and reachable.
        The caller stops them (they are stopped here if one does not come up)."""
        phones: list[subprocess.Popen[bytes]] = []
        try:
            for endpoint, secret, port, media, scenario in DEPT_PHONES.values():
                registered = self.register_phone(endpoint, secret, port)   # before the UAS takes the port
                with open(self.workdir / f"{endpoint}.log", "ab") as out:
                    phones.append(subprocess.Popen(
                        ["sipp", "-sf", str(SIPP_DIR / scenario), "-i", DEPT_PHONE_IP, "-p", str(port),
                         "-mp", str(media), "-rtp_echo", "-d", str(ring_ms), "-nostdin", "-trace_err",
                         "-error_file", str(self.workdir / f"{endpoint}_errors.log"),
                         # what the department's phone was sent (dept_messages): e.g. who is calling
                         "-trace_msg", "-message_file", str(self.dept_message_file(endpoint)),
                         "-message_overwrite", "false"],
                        stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir))
                self.wait_reachable(endpoint, registered)   # the qualify at registration found no UAS yet
        except BaseException:
            for phone in phones:
                phone.terminate()
                phone.wait(10)
            raise
        return phones

    def wait_reachable(self, endpoint: str, registered: float | None = None, timeout: float = 30,
                       check: Callable[[], None] | None = None) -> None:
        """Wait until Asterisk holds ``endpoint``'s contact available. On a loaded machine a late
        OPTIONS answer marks a contact unavailable for a moment; a call dialled then would rightly
        overflow with ``chanunavail``, which is not what a test of answering is about.

        ``registered`` (monotonic): when the phone registered, before its UAS took the port. The
        qualify Asterisk starts at a registration reaches no UAS; its timeout (qualify_timeout,
        3 s) marks the contact unreachable even after a later qualify found it, until the next
        periodic one a minute on (a no-answer seat then was never rung again: a CI flake). So the
        contact counts only once that first qualify has timed out."""
        settled = (registered or 0.0) + QUALIFY_TIMEOUT_S + 0.5

        def reachable() -> bool:
            if check is not None:
                check()
            self.cli(f"pjsip qualify {endpoint}")
            return time.monotonic() > settled and "Avail " in self.cli(f"pjsip show contacts like {endpoint}")
        wait_for(f"{endpoint} reachable", reachable, timeout=timeout, interval=0.5)

    def dept_message_file(self, endpoint: str) -> Path:
        return self.workdir / f"{endpoint}_messages.log"

    def dept_messages(self, endpoint: str, since: int = 0) -> str:
        """The SIP messages department phone ``endpoint`` received and sent, from byte ``since``
        (its size before a step: :meth:`dept_messages_size`)."""
        path = self.dept_message_file(endpoint)
        if not path.exists():
            return ""
        with path.open("rb") as fh:
            fh.seek(since)
            return fh.read().decode("utf-8", "replace")

    def dept_messages_size(self, endpoint: str) -> int:
        path = self.dept_message_file(endpoint)
        return path.stat().st_size if path.exists() else 0

    def start_phone(self, user: str, secret: str, port: int, media: int, scenario: str) -> subprocess.Popen[bytes]:
        """A seat or department phone: registered from ``port`` and answered there by ``scenario``,
        reachable (qualified) before this returns."""
        registered = self.register_phone(user, secret, port)
        with open(self.workdir / f"{user}.log", "ab") as out:
            phone = subprocess.Popen(
                ["sipp", "-sf", str(SIPP_DIR / scenario), "-i", DEPT_PHONE_IP, "-p", str(port), "-mp", str(media),
                 "-rtp_echo", "-d", "300", "-nostdin", "-trace_err", "-error_file",
                 str(self.workdir / f"{user}_errors.log")], stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir)

        def exited() -> None:
            if phone.poll() is not None:
                raise AssertionError(f"phone {user} exited with {phone.returncode}; see {user}.log")
        try:
            self.wait_reachable(user, registered, check=exited)
        except BaseException:
            phone.terminate()
            phone.wait(10)
            raise
        return phone

    def dial_feature_code(self, seat: str, code: str) -> subprocess.CompletedProcess[bytes]:
        """Seat ``seat`` dials ``code`` from its phone (authenticating as the seat)."""
        port = 15090 + _P
        return subprocess.run(
            ["sipp", "-sf", str(SIPP_DIR / "seat_dials.xml"), "-i", SEAT_IP, "-p", str(port), "-mp",
             str(16500 + _M), "-s", code, "-key", "user", seat, "-au", seat, "-ap", SEATS[seat], "-m", "1",
             "-nostdin", "-timeout", "30", "-trace_err", "-error_file", str(self.workdir / f"fc-{seat}.err"),
             f"127.0.0.1:{SIP_PORT}"], capture_output=True, cwd=self.workdir, timeout=45)

    def prompt_seconds(self, name: str) -> float:
        """How long the rendered prompt ``name`` plays (ivr.render writes prompts.json)."""
        manifest = json.loads((self.paths.sounds_dir / "prompts.json").read_text(encoding="utf-8"))
        return float(manifest[name]["seconds"])

    # -- call control (tests/integration/test_call_control.py) ---------------------------
    def extend_site(self, extra: dict[str, list[dict[str, Any]]]) -> str:
        """Add entries to lists of the running site (e.g. emergency routes), apply them, and
        return the site file's previous text for :meth:`restore_site`."""
        previous = self.site_file.read_text(encoding="utf-8")
        data = yaml.safe_load(previous)
        for key, entries in extra.items():
            data[key] = [*data.get(key, []), *entries]
        self.apply_site_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
        return previous

    def restore_site(self, text: str) -> None:
        self.apply_site_text(text)

    def apply_site_text(self, text: str) -> None:
        """Write the site file, regenerate and deploy the configuration, reload the dialplan and
        restart the controller. For changes that add no SIP endpoint (pjsip.conf stays as it is)."""
        site = parse_site(yaml.safe_load(text), str(self.site_file))
        self.site_file.write_text(text, encoding="utf-8")
        generate_config(site, self.paths)
        self.runtime.deploy(self.paths.generated_dir, self.paths.sounds_dir, systemname=site.site.node)
        self.cli("dialplan reload")
        self.stop_controller()
        self.start_controller()

    def restart_asterisk_with_site(self, text: str) -> None:
        """Apply a site config Asterisk reads only when it starts (``site.node``: asterisk.conf's
        ``systemname``): write it, stop the controller and Asterisk, deploy, start both again and
        bring the seats back."""
        site = parse_site(yaml.safe_load(text), str(self.site_file))
        self.stop_controller()
        self.runtime.stop()
        self.site_file.write_text(text, encoding="utf-8")
        generate_config(site, self.paths)
        self.runtime.deploy(self.paths.generated_dir, self.paths.sounds_dir, systemname=site.site.node)
        self.runtime.start()
        self.start_controller()
        self.seats_ready()

    def ami(self, *actions: dict[str, str]) -> list[dict[str, str]]:
        """Log in as the controller's AMI user and send ``actions``; the first response to each."""
        with socket.create_connection(("127.0.0.1", AMI_PORT), timeout=10) as s:
            f = s.makefile("rwb")
            f.readline()   # the banner

            def send(fields: dict[str, str]) -> dict[str, str]:
                f.write(b"".join(f"{k}: {v}\r\n".encode() for k, v in fields.items()) + b"\r\n")
                f.flush()
                while True:
                    msg: dict[str, str] = {}
                    for raw in iter(f.readline, b"\r\n"):
                        if not raw:
                            raise ConnectionError("AMI closed the connection")
                        k, _, v = raw.decode().rstrip("\r\n").partition(": ")
                        msg[k] = v
                    if msg.get("ActionID") == fields["ActionID"] and "Response" in msg:
                        return msg

            login = send({"Action": "Login", "Username": "hotline", "Secret": self.paths.ami_secret(),
                          "Events": "off", "ActionID": "login"})
            assert login["Response"] == "Success", login
            return [send({**a, "ActionID": f"a{i}"}) for i, a in enumerate(actions)]

    def start_pstn(self, scenario: str = "seat_uas.xml", *extra: str) -> subprocess.Popen[bytes]:
        """The public network behind the carrier trunk: a UAS on the trunk's contact that answers
        every outbound call (110, parallel numbers, convenience partners) and echoes its audio
        (``extra``: more sipp arguments, e.g. ``-set name value`` for the scenario).
        While it runs, trunk callers must send from another port (CONTROL_CALLER_PORT)."""
        with open(self.workdir / "pstn_uas.log", "ab") as out:
            pstn = subprocess.Popen(
                ["sipp", "-sf", str(SIPP_DIR / scenario), "-i", TRUNK_IP, "-p", str(TRUNK_PORT),
                 "-mp", str(PSTN_MEDIA), "-rtp_echo", "-d", "300", "-nostdin", "-trace_err",
                 "-error_file", str(self.workdir / "pstn_uas_errors.log"), *extra],
                stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir)

        def listening() -> bool:
            if pstn.poll() is not None:
                raise AssertionError(f"the PSTN UAS exited with {pstn.returncode}; see pstn_uas.log")
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                try:
                    probe.bind((TRUNK_IP, TRUNK_PORT))
                except OSError:
                    return True   # taken: the UAS has it
            return False
        wait_for("the PSTN UAS on the trunk's contact", listening, timeout=15)
        return pstn

    def start_call(self, number: str, caller: str, *, talk_ms: int = 120000) -> subprocess.Popen[bytes]:
        """A caller through the carrier trunk that stays on (streaming audio) until ``talk_ms`` or
        until the platform hangs it up; from CONTROL_CALLER_PORT (the trunk is known by its IP)."""
        return subprocess.Popen(
            ["sipp", "-sf", str(SIPP_DIR / "caller.xml"), "-i", TRUNK_IP, "-p", str(CONTROL_CALLER_PORT),
             "-mp", str(CONTROL_CALLER_MEDIA), "-s", number, "-key", "caller", caller, "-d", str(talk_ms),
             "-m", "1", "-nostdin", "-timeout", str(talk_ms // 1000 + 60), "-trace_err",
             "-error_file", str(self.workdir / f"caller-{caller}.err"), f"127.0.0.1:{SIP_PORT}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=self.workdir)

    def channels(self) -> dict[str, str]:
        """Live channels and the bridge each is in ("" when none), from ``core show channels concise``."""
        out: dict[str, str] = {}
        for line in self.cli("core show channels concise").splitlines():
            fields = line.split("!")
            if len(fields) > 12:
                out[fields[0]] = fields[12]
        return out

    def conference_members(self, conference: str) -> set[str]:
        return {line.split()[0] for line in self.cli(f"confbridge list {conference}").splitlines()
                if line.startswith("PJSIP/")}

    def rtp_counts(self) -> dict[str, list[tuple[int, int]]]:
        """(received, sent) RTP packets by channel id as ``pjsip show channelstats`` shows it (the
        channel name without ``PJSIP/``, cut to 18 characters); a list, as two ids may look alike."""
        out: dict[str, list[tuple[int, int]]] = {}
        for line in self.cli("pjsip show channelstats").splitlines():
            fields = line.split()
            if len(fields) >= 2 and fields[1].count(":") == 2:
                fields = ["", *fields]   # a channel in no bridge (a ChanSpy leg) has no BridgeId column
            if len(fields) >= 9 and fields[4].isdigit() and fields[8].isdigit():
                out.setdefault(fields[1], []).append((int(fields[4]), int(fields[8])))
        return out

    def close(self) -> None:
        self.stop_controller()
        if self.seat_uas and self.seat_uas.poll() is None:
            self.seat_uas.terminate()
            self.seat_uas.wait(10)
        self.runtime.stop()


# The session's stack while it runs (tests/integration/conftest.py): a test that needs this slot's
# ports for a stack of its own (test_wheel.py) stops it and brings it back.
SESSION_STACKS: list["Stack"] = []


def build_stack(workdir: Path, store_url: str = "") -> Stack:
    workdir.mkdir(parents=True, exist_ok=True)
    site_file = workdir / "site.yaml"
    site_file.write_text(yaml.safe_dump(site_dict(store_url), allow_unicode=True, sort_keys=False))
    site = parse_site(yaml.safe_load(site_file.read_text()), str(site_file))
    paths = Paths.from_env(state_dir=str(workdir / "state"))
    runtime = asterisk_runtime.install(paths)
    runtime.stop()
    generate_config(site, paths)
    runtime.deploy(paths.generated_dir, paths.sounds_dir, systemname=site.site.node)
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


# Call control (tests/integration/test_call_control.py): the PSTN behind the trunk answers
# outbound calls on the trunk's contact (TRUNK_IP:TRUNK_PORT), so those tests' callers send from
# another port of the trunk's address; emergency routes and a convenience partner are added.
CONTROL_CALLER_PORT, CONTROL_CALLER_MEDIA = 15072 + _P, 17100 + _M
PSTN_MEDIA = 16300 + _M
CONTROL_EMERGENCY = "110"
CONTROL_CONVENIENCE = "96890"
CONTROL_SITE_EXTRA: dict[str, list[dict[str, Any]]] = {
    "emergency": [{"number": CONTROL_EMERGENCY, "trunk": "carrier"}],
    "legacy_numbers": [{"number": CONTROL_CONVENIENCE, "mode": "convenience", "department": "chengjian",
                        "hotline": "便民家政服务"}],
}


def rtp_channel_id(channel: str) -> str:
    """How ``pjsip show channelstats`` names a channel."""
    return channel.removeprefix("PJSIP/")[:18]
