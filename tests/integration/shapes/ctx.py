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


@dataclass
class Ctx:
    """``index``: the shape's place in the catalogue; it numbers the shape's callers, so no two
    shapes share a caller (a repeat caller is a repeat only within its own shape)."""

    stack: Stack
    index: int
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

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

    def login(self, seat: str) -> None:
        self.stack.login_seat(seat)

    def queue_waits(self, queue: str) -> list[int]:
        """Seconds each caller has waited in ``queue``, as Asterisk counts them."""
        show = self.stack.cli(f"queue show {queue}")
        return [int(m) * 60 + int(s) for m, s in re.findall(r"\(wait: (\d+):(\d+)", show)]

    def waiting(self, queue: str) -> int:
        return waiting(self.stack, queue)

    def trunk_channels(self) -> list[str]:
        return [c for c in self.stack.channels() if c.startswith("PJSIP/trunk-carrier-")]

    def hang_up_caller(self, proc: subprocess.Popen[bytes]) -> None:
        """The caller leaves now: its sipp stops (sending nothing) and its channel is hung up."""
        channels = self.trunk_channels()
        assert len(channels) == 1, channels
        proc.terminate()
        proc.wait(10)
        self.stack.cli(f"channel request hangup {channels[0]}")

    def live(self) -> list[dict[str, Any]]:
        code, body = http_json("GET", f"{self.stack.api}/api/calls/live")
        assert code == 200, body
        return list(body["items"])
