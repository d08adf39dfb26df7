"""What a shape's driver works with: its own caller numbers, callers from ports that never clash
with a UAS on the trunk's contact, and the seat and queue moves the shapes share."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from typing import Any, Callable

from ..callers import finish, start_caller, waiting
from ..rig import SEATS, Stack, http_json, wait_for

CITY_SEATS = frozenset(SEATS)
Records = dict[tuple[str, str], dict[str, Any]]   # (caller, dialled number) -> the call's record


@dataclass
class Ctx:
    """``index``: the shape's place in the catalogue; it numbers the shape's callers, so no two
    shapes share a caller (a repeat caller is a repeat only within its own shape)."""

    stack: Stack
    index: int
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    checks: list[Callable[[Records], None]] = field(default_factory=list)

    def caller(self, n: int) -> str:
        return f"1391{self.index:03d}{n:04d}"

    def start(self, number: str, n: int, *, talk_ms: int, slot: int = 0,
              scenario: str = "caller.xml") -> subprocess.Popen[bytes]:
        """Caller ``n`` dials ``number`` and stays ``talk_ms`` after the platform answers."""
        proc = start_caller(self.stack, number, self.caller(n), slot, talk_ms, scenario)
        self.procs.append(proc)
        return proc

    def call(self, number: str, n: int, *, talk_ms: int, slot: int = 0, scenario: str = "caller.xml") -> None:
        """A whole call: the caller's scenario must complete."""
        proc = self.start(number, n, talk_ms=talk_ms, slot=slot, scenario=scenario)
        assert finish(proc) == [0], f"caller {self.caller(n)}'s scenario failed (caller-{self.caller(n)}.err)"

    def check(self, fn: Callable[[Records], None]) -> None:
        """``fn`` checks the shape's records once they are all in (an order, a relation)."""
        self.checks.append(fn)

    def on_exit(self, fn: Callable[[], None]) -> None:
        self.cleanups.append(fn)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        for fn in reversed(self.cleanups):
            fn()

    # -- seats and queues ---------------------------------------------------------------------
    def seat_state(self, seat: str) -> str:
        return str(self.stack.seat(seat)["state"])

    def logout(self, *seats: str) -> None:
        """Log ``seats`` out (through the API) until the shape ends."""
        for seat in seats:
            code, body = http_json("POST", f"{self.stack.api}/api/seats/{seat}/logout")
            assert code == 200 or (code == 409 and body["error_id"] == "seat-not-logged-in"), (code, body)
            self.on_exit(lambda s=seat: self.stack.login_seat(s))   # type: ignore[misc]
        wait_for(f"{', '.join(seats)} logged out", lambda: all(self.seat_state(s) == "logged_out" for s in seats))

    def logout_now(self, seat: str) -> None:
        """Log ``seat`` out for good (a seat only some shapes use)."""
        http_json("POST", f"{self.stack.api}/api/seats/{seat}/logout")

    def login(self, seat: str) -> None:
        self.stack.login_seat(seat)

    def queue_waits(self, queue: str) -> list[int]:
        """Seconds each caller has waited in ``queue``, as Asterisk counts them."""
        show = self.stack.cli(f"queue show {queue}")
        return [int(m) * 60 + int(s) for m, s in re.findall(r"\(wait: (\d+):(\d+)", show)]

    def waiting(self, queue: str) -> int:
        return waiting(self.stack, queue)

    def caller_channel(self, n: int) -> str:
        """Caller ``n``'s channel (``core show channels concise``: the caller-ID is field 8)."""
        lines = [line.split("!") for line in self.stack.cli("core show channels concise").splitlines()]
        mine = [f[0] for f in lines if len(f) > 7 and f[0].startswith("PJSIP/trunk-") and f[7] == self.caller(n)]
        assert len(mine) == 1, (self.caller(n), mine)
        return mine[0]

    def hang_up(self, n: int, proc: subprocess.Popen[bytes]) -> None:
        """Caller ``n`` leaves now: its sipp stops (sending nothing) and its channel is hung up."""
        channel = self.caller_channel(n)
        proc.terminate()
        proc.wait(10)
        self.stack.cli(f"channel request hangup {channel}")

    def wrapped_up(self, queue: str, seat: str, wrapup_s: float) -> None:
        """Wait until ``seat`` is past ``queue``'s wrap-up as Asterisk counts it: its last call (any
        queue's: shared_lastcall) ended more than ``wrapup_s`` ago."""
        def past() -> bool:
            for line in self.stack.cli(f"queue show {queue}").splitlines():
                if f"PJSIP/{seat}" in line or f"({seat})" in line or line.strip().startswith(f"{seat} "):
                    if "no calls yet" in line:
                        return True
                    m = re.search(r"last was (\d+) secs ago", line)
                    return m is not None and int(m.group(1)) > wrapup_s
            raise AssertionError(f"{seat} is not a member of {queue}")
        wait_for(f"{seat} past {queue}'s wrap-up", past, timeout=wrapup_s + 30, interval=0.3)

    def live(self) -> list[dict[str, Any]]:
        code, body = http_json("GET", f"{self.stack.api}/api/calls/live")
        assert code == 200, body
        return list(body["items"])
