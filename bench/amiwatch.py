"""Asterisk's own word on seats, read over AMI by a checker apart from the controller.

:class:`AmiWatch` logs in as the controller's AMI user (the same event filters: the agent-class
events) and keeps every event with the time it arrived and Asterisk's ``Timestamp``;
:func:`ami_list` sends one action on a connection of its own and returns the list it answers
(``QueueStatus``: ``QueueParams``/``QueueMember``/``QueueEntry``). :class:`LiveWatch` follows the
wallboard stream (``/api/live/stream``) and keeps each seat change with the time it arrived.
:func:`seat_check` is the no-stuck-seat check of the benches and the integration tests: our
``/api/seats`` against ``QueueStatus`` (``hotline.seats.truth.stuck_seats``).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hotline.config.site import SiteConfig  # noqa: E402
from hotline.seats.snapshot import SeatResolver  # noqa: E402
from hotline.seats.truth import AsteriskSeat, Disagreement, asterisk_states, stuck_seats  # noqa: E402


def _messages(buf: bytes) -> tuple[list[dict[str, str]], bytes]:
    *raw, rest = buf.split(b"\r\n\r\n")
    out = []
    for msg in raw:
        fields: dict[str, str] = {}
        for line in msg.decode("utf-8", "replace").split("\r\n"):
            k, sep, v = line.partition(": ")
            if sep:
                fields[k] = v
        if fields:
            out.append(fields)
    return out, rest


def _login(port: int, user: str, secret: str, events: bool) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall((f"Action: Login\r\nUsername: {user}\r\nSecret: {secret}\r\nEvents: {'on' if events else 'off'}\r\n"
               "ActionID: login\r\n\r\n").encode())
    buf = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        msgs, buf = _messages(buf + s.recv(65536))   # the banner line has no "key: value": skipped
        for m in msgs:
            if m.get("ActionID") == "login":
                if m.get("Response") != "Success":
                    s.close()
                    raise RuntimeError(f"AMI login refused: {m}")
                return s
    s.close()
    raise RuntimeError("AMI login: no answer")


def ami_list(port: int, user: str, secret: str, action: dict[str, str], timeout: float = 15.0) -> list[dict[str, str]]:
    """Send ``action``; every message of its answer up to ``EventList: Complete``."""
    s = _login(port, user, secret, events=False)
    try:
        s.settimeout(timeout)
        s.sendall(("".join(f"{k}: {v}\r\n" for k, v in {**action, "ActionID": "q1"}.items()) + "\r\n").encode())
        buf, out = b"", []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = s.recv(262144)
            if not data:
                break
            msgs, buf = _messages(buf + data)
            for m in msgs:
                if m.get("ActionID") != "q1":
                    continue
                out.append(m)
                if m.get("Response") == "Error":
                    raise RuntimeError(f"AMI {action.get('Action')}: {m.get('Message')}")
                if m.get("EventList") == "Complete":
                    return out
        raise RuntimeError(f"AMI {action.get('Action')}: no complete answer within {timeout:.0f} s")
    finally:
        s.close()


class AmiWatch:
    """Every event of the session, as (arrived, headers), from a thread."""

    def __init__(self, port: int, user: str, secret: str) -> None:
        self._sock = _login(port, user, secret, events=True)
        self._sock.settimeout(None)
        self.events: list[tuple[float, dict[str, str]]] = []
        self._lock = threading.Lock()
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="ami-watch")
        self._thread.start()

    def _run(self) -> None:
        buf = b""
        try:
            while True:
                data = self._sock.recv(65536)
                if not data:
                    self.error = "connection closed"
                    return
                now = time.time()
                msgs, buf = _messages(buf + data)
                with self._lock:
                    self.events.extend((now, m) for m in msgs if "Event" in m)
        except OSError as exc:
            self.error = str(exc)

    def take(self, names: tuple[str, ...] = ()) -> list[tuple[float, dict[str, str]]]:
        with self._lock:
            return [(t, m) for t, m in self.events if not names or m.get("Event") in names]

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass


class LiveWatch:
    """The wallboard stream: per seat, (arrived, state) at each change, from a thread."""

    def __init__(self, api: str, headers: dict[str, str] | None = None) -> None:
        self.url = f"{api}/api/live/stream"
        self.headers = {"Accept": "text/event-stream", **(headers or {})}
        self.shown: dict[str, list[tuple[float, str]]] = {}
        self.ready = threading.Event()
        self.error: str | None = None
        self._stop = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True, name="live-watch")
        self._thread.start()
        if not self.ready.wait(15):
            raise RuntimeError(f"no snapshot from {self.url}: {self.error}")

    def _note(self, seat: dict[str, Any], now: float) -> None:
        line = self.shown.setdefault(str(seat["seat_id"]), [])
        if not line or line[-1][1] != seat["state"]:
            line.append((now, str(seat["state"])))

    def _run(self) -> None:
        try:
            req = urllib.request.Request(self.url, headers=self.headers)
            with urllib.request.urlopen(req, timeout=60) as resp:
                event = ""
                for raw in resp:
                    if self._stop:
                        return
                    line = raw.decode("utf-8", "replace").rstrip("\n")
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event in ("seat", "snapshot"):
                        now = time.time()
                        data = json.loads(line[5:])
                        with self._lock:
                            for seat in data.get("seats", []) if event == "snapshot" else [data]:
                                self._note(seat, now)
                        self.ready.set()
        except Exception as exc:   # noted; the bench reports it
            self.error = f"{type(exc).__name__}: {exc}"

    def take(self) -> dict[str, list[tuple[float, str]]]:
        with self._lock:
            return {k: list(v) for k, v in self.shown.items()}

    def close(self) -> None:
        self._stop = True


def asterisk_view(site: SiteConfig, port: int, user: str, secret: str,
                  last_queue: dict[str, str] | None = None) -> dict[str, AsteriskSeat]:
    """Every configured seat as Asterisk has it now (one ``QueueStatus``); ``last_queue``: the
    queue of each seat's last call, from its ``AgentComplete`` (QueueStatus does not say it)."""
    now = time.time()
    messages = ami_list(port, user, secret, {"Action": "QueueStatus"})
    return asterisk_states(messages, SeatResolver(site), [s.id for s in site.seats], [q.name for q in site.queues],
                           {q.name: q.wrapup for q in site.queues}, now, last_queue)


def seat_check(site: SiteConfig, port: int, user: str, secret: str,
               our_seats: Callable[[], list[dict[str, Any]]]) -> list[Disagreement]:
    """The no-stuck-seat check (run when Asterisk has no channel left): our seats against
    Asterisk's ``QueueStatus``. An empty list is the bar."""
    theirs = asterisk_view(site, port, user, secret)
    ours = our_seats()
    return stuck_seats(ours, theirs, time.time(), max((q.wrapup for q in site.queues), default=0))
