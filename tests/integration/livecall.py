"""A caller answered by a seat, as the seat client sees it in /api/calls/live, and what call control
does to it. Shared by tests/integration/test_call_control.py and the call-shape catalogue."""

from __future__ import annotations

import subprocess
from typing import Any

from .rig import DEPT_PHONES, Stack, http_json, rtp_channel_id, wait_for

# the department phone that answers (echoing audio) and the one nobody picks up
ANSWERING = next(endpoint for endpoint, *_, scenario in DEPT_PHONES.values() if scenario == "seat_uas.xml")
SILENT = next(endpoint for endpoint, *_, scenario in DEPT_PHONES.values() if scenario != "seat_uas.xml")



class Call:
    """A caller on the line, answered by a seat, as the seat client sees it in /api/calls/live."""

    def __init__(self, stack: Stack, caller: str) -> None:
        self.stack, self.caller = stack, caller
        self.proc = stack.start_call("12345", caller)
        self.live = wait_for(f"{caller} answered by a seat", self._answered, timeout=30)
        self.id: str = self.live["call_id"]
        self.channel: str = self.live["control"]["caller_channel"]
        self.seat_channel: str = self.live["control"]["seat_channel"]

    def _answered(self) -> dict[str, Any] | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"caller {self.caller} ended before a seat answered")
        code, body = http_json("GET", f"{self.stack.api}/api/calls/live")
        assert code == 200, body
        return next((c for c in body["items"] if c["caller_number"] == self.caller
                     and (c.get("control") or {}).get("seat_channel")), None)

    def post(self, what: str, body: dict[str, Any]) -> tuple[int, Any]:
        return http_json("POST", f"{self.stack.api}/api/calls/{self.id}/{what}", body)

    def delete(self, what: str) -> tuple[int, Any]:
        return http_json("DELETE", f"{self.stack.api}/api/calls/{self.id}/{what}")

    @property
    def conference(self) -> str:
        return f"hotline-{self.id}"

    def members(self) -> set[str]:
        return self.stack.conference_members(self.conference)

    def channel_of(self, endpoint: str) -> str | None:
        return next((c for c in self.stack.channels() if c.startswith(f"PJSIP/{endpoint}-")), None)

    def hang_up(self) -> dict[str, Any]:
        """The caller's line is cleared; returns the call record once written."""
        self.stack.cli(f"channel request hangup {self.channel}")
        try:
            self.proc.wait(20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        return self.record()

    def record(self) -> dict[str, Any]:
        """The record once complete: a leg that ends after the caller (the platform releases it
        then) has the record written again."""
        def written() -> dict[str, Any] | None:
            code, body = http_json("GET", f"{self.stack.api}/api/calls/{self.id}")
            if code != 200 or any(leg["ended_at"] is None for leg in body["extra"].get("legs", [])):
                return None
            return body
        return wait_for(f"the record of {self.id}", written, timeout=30)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.stack.cli(f"channel request hangup {self.channel}")
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def bridged_with(stack: Stack, channel: str) -> str | None:
    """The channel in the same bridge as ``channel`` (a two-party call), if any."""
    channels = stack.channels()
    bridge = channels.get(channel)
    return next((c for c, b in channels.items() if bridge and b == bridge and c != channel), None)


def rtp_flows(stack: Stack, channels: list[str]) -> None:
    """Every channel both receives and sends RTP: its counters grow between two readings."""
    first = stack.rtp_counts()
    ids = [rtp_channel_id(c) for c in channels]
    for cid in ids:
        assert cid in first, f"no RTP statistics for {cid}: {first}"

    def grown() -> bool:
        now = stack.rtp_counts()
        return all(len(now.get(cid, [])) == len(first[cid]) and
                   all(rx1 > rx0 + 10 and tx1 > tx0 + 10 for (rx0, tx0), (rx1, tx1) in zip(first[cid], now[cid]))
                   for cid in ids)
    wait_for(f"RTP both ways on {', '.join(channels)}", grown, timeout=10)
