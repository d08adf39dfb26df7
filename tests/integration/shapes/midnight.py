"""A call crossing local midnight: the site's time zone is a fixed-offset zone made at test time so
that local midnight falls 40 s after the set-up (a TZif file the controller finds on PYTHONTZPATH);
the call starts 3 s before it and ends after it, and counts in the day (and hour) it arrived.

The rolling 24 h window moves the KPI service's clock instead (shapes/rolling.py): the window is
always the 24 h before now."""

from __future__ import annotations

import struct
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..rig import Stack, wait_for
from .ctx import CITY_SEATS, Ctx, Records
from .model import ANSWERED_IN_15S, Expect, Shape

ZONE = "ShapeMidnight"
LEAD_S = 40.0
STATE: dict[str, Any] = {}   # "at": the epoch second of local midnight (set by the set-up)


def tzif(offset_s: int) -> bytes:
    """A TZif (RFC 8536, version 2) file of one fixed UTC offset, with its POSIX TZ footer."""
    abbr = b"SHP\x00"

    def block() -> bytes:
        header = b"TZif2" + b"\x00" * 15 + struct.pack(">6l", 0, 0, 0, 0, 1, len(abbr))
        return header + struct.pack(">lbB", offset_s, 0, 0) + abbr
    sign, a = ("-" if offset_s >= 0 else "+"), abs(offset_s)   # POSIX offsets count west
    return block() + block() + f"\n<SHP>{sign}{a // 3600}:{a % 3600 // 60:02d}:{a % 60:02d}\n".encode()


def midnight_zone(directory: Path, at: float) -> str:
    """Write the zone whose local midnight is at epoch ``at`` (whole seconds) into ``directory``."""
    offset = int(-round(at)) % 86400
    if offset > 43200:
        offset -= 86400
    (directory / ZONE).write_bytes(tzif(offset))
    return ZONE


def crossing_midnight(stack: Stack, ctx: Ctx) -> list[Expect]:
    at = STATE["at"]
    wait_for("3 s before local midnight", lambda: time.time() >= at - 3, timeout=LEAD_S + 60, interval=0.05)
    ctx.call("12345", 1, talk_ms=7000)

    def crossed(records: Records) -> None:
        rec, tz = records[(ctx.caller(1), "12345")], ZoneInfo(ZONE)
        arrived, ended = (datetime.fromisoformat(rec[k]).astimezone(tz) for k in ("arrived_at", "ended_at"))
        assert arrived.timestamp() < at < ended.timestamp(), (rec, at)
        assert (arrived.hour, ended.hour, (ended.date() - arrived.date()).days) == (23, 0, 1), (arrived, ended)
    ctx.check(crossed)
    return [Expect(ctx.caller(1), "answered", "12345", "hotline", ANSWERED_IN_15S, seats=CITY_SEATS, wait=(0, 5),
                   talk=(5.5, 7.1))]


SHAPES = [
    Shape("crossing-local-midnight", "time",
          "A call arrives 3 s before local midnight and ends after it (a site time zone made so that "
          "midnight falls during the call).",
          "offered and answered within 15 s in the day and hour it arrived (23:00 of the old day), "
          "not in the new day", crossing_midnight, needs="midnight"),
]
