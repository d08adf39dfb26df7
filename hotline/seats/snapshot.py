"""What Asterisk's queue messages say, read without side effects: which seat a message is about
(:class:`SeatResolver`), a waiting caller (:func:`entry_from`) and the whole picture a
``QueueStatus`` reply gives (:func:`read_queue_status`, the basis of ``SeatService.resync``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hotline.config.site import SiteConfig
from hotline.spine.marks import RANK
from queue_manager.membership import member_interface, state_interface
from queue_manager import seats as sm
from queue_manager.seats import asterisk_wrapuptime

# QueueMemberStatus / QueueMember "Status": Asterisk device states.
DEVICE = {"0": "unknown", "1": "not_inuse", "2": "inuse", "3": "busy", "4": "invalid", "5": "unavailable",
          "6": "ringing", "7": "ringinuse", "8": "onhold"}
BUSY_DEVICE = {"inuse", "busy", "ringinuse", "onhold"}


@dataclass
class QueueEntry:
    uniqueid: str
    call_id: str
    caller: str | None
    since: float
    position: int
    priority: int = 0
    rank: float | None = None   # its place in a seat pool's one order (HOTLINE_RANK), when Asterisk says it
    channel: str = ""           # the caller's channel (the queue wake presses its key there)


@dataclass
class QueueLive:
    name: str
    title: str | None
    entries: dict[str, QueueEntry] = field(default_factory=dict)

    def join(self, entry: QueueEntry) -> None:
        self.entries[entry.uniqueid] = entry

    def in_line(self) -> list[QueueEntry]:
        """The waiting callers in app_queue's order (its positions; the earlier on a tie)."""
        return sorted(self.entries.values(), key=lambda e: (e.position, e.since))

    def leave(self, uniqueid: str, position: int) -> None:
        """A caller left from ``position``: those behind move up (Asterisk renumbers them the same way)."""
        self.entries.pop(uniqueid, None)
        for e in self.entries.values():
            if position and e.position > position:
                e.position -= 1


def call_state(device: str) -> sm.SeatState | None:
    """The call state a device state shows: talking (in use, busy, on hold), ringing, or None."""
    return sm.SeatState.talking if device in BUSY_DEVICE else sm.SeatState.ringing if device == "ringing" else None


def event_time(h: dict[str, str]) -> float | None:
    """An event's ``Timestamp`` (manager.conf's timestampevents), or None."""
    try:
        return float(h["Timestamp"])
    except (KeyError, ValueError):
        return None


def entry_from(h: dict[str, str], since: float) -> QueueEntry:
    return QueueEntry(uniqueid=h.get("Uniqueid", ""), call_id=h.get("Linkedid") or h.get("Uniqueid", ""),
                      caller=h.get("CallerIDNum"), since=since,
                      position=int(h.get("Position") or 0),   # "Priority" there is the dialplan's
                      rank=rank_of(h), channel=h.get("Channel", ""))


def rank_of(h: dict[str, str]) -> float | None:
    """``ChanVariable: HOTLINE_RANK=<rank>`` (a seat pool node's manager.conf channelvars), or None."""
    name, _, value = str(h.get("ChanVariable") or "").partition("=")
    if name != RANK:
        return None
    try:
        rank = float(value)
    except ValueError:
        return None
    return rank if math.isfinite(rank) else None


class SeatResolver:
    """The seat a queue or agent message is about, from its interfaces, channel or member name."""

    def __init__(self, site: SiteConfig) -> None:
        self._seats = {s.id for s in site.seats}
        self._by_interface = {member_interface(s).lower(): s.id for s in site.seats}
        self._by_interface.update({state_interface(s).lower(): s.id for s in site.seats})

    def seat_of(self, headers: dict[str, str]) -> str | None:
        for key in ("Interface", "Location", "StateInterface", "DestChannel"):
            value = headers.get(key, "")
            if not value:
                continue
            seat = self._by_interface.get(value.lower())
            if seat is not None:
                return seat
            if key == "DestChannel" and value.startswith(("PJSIP/", "Local/")):  # PJSIP/1001-0000001a
                seat = self._by_interface.get(value.rsplit("-", 1)[0].lower())
                if seat is None and value.startswith("Local/"):   # Local/1005@ctx-0000000a;1
                    seat = self._by_interface.get(value.split(";")[0].rsplit("-", 1)[0].lower() + "/n")
                if seat is not None:
                    return seat
        name = headers.get("MemberName", "")
        return name if name in self._seats else None


@dataclass
class QueueStatus:
    """One ``QueueStatus`` reply, per seat and per queue (only the configured ones)."""

    in_queues: dict[str, set[str]]
    device: dict[str, str] = field(default_factory=dict)
    paused: dict[str, str | None] = field(default_factory=dict)     # seat -> pause reason (in some queue)
    paused_in: dict[str, dict[str, str | None]] = field(default_factory=dict)   # seat -> queue -> reason
    last_call: dict[str, float] = field(default_factory=dict)       # seat -> LastCall (shared_lastcall)
    busy: dict[str, str] = field(default_factory=dict)              # seat -> device state
    entries: dict[str, dict[str, QueueEntry]] = field(default_factory=dict)
    wrapup_until: dict[str, tuple[float, str]] = field(default_factory=dict)   # seat -> (until, queue)


def read_queue_status(response: Any, resolver: SeatResolver, seats: Iterable[str], queues: Iterable[str],
                      wrapup_s: dict[str, int], now: float) -> QueueStatus:
    """``wrapup_s``: each queue's configured wrap-up (the site config's, not queues.conf's)."""
    events = [m for m in response if hasattr(m, "get")] if isinstance(response, list) else []
    known = set(queues)
    out = QueueStatus(in_queues={s: set() for s in seats}, entries={q: {} for q in known})
    for m in events:
        h = {str(k): str(v) for k, v in m.items()}
        kind = h.get("Event")
        if kind == "QueueMember" and h.get("Queue") in known:
            seat_id = resolver.seat_of(h)
            if seat_id is None:
                continue
            out.in_queues[seat_id].add(h["Queue"])
            device = DEVICE.get(h.get("Status", ""), "unknown")
            out.device[seat_id] = device
            if h.get("Paused") == "1":
                out.paused[seat_id] = h.get("PausedReason") or None
                out.paused_in.setdefault(seat_id, {})[h["Queue"]] = h.get("PausedReason") or None
            if h.get("InCall") == "1" or device in BUSY_DEVICE:
                out.busy[seat_id] = device
            # app_queue: in wrap-up while time(NULL) - LastCall < wrapuptime (whole seconds)
            last, wrap = float(h.get("LastCall") or 0), asterisk_wrapuptime(wrapup_s.get(h["Queue"], 0))
            out.last_call[seat_id] = max(out.last_call.get(seat_id, 0.0), last)
            if last and last + wrap > now:
                out.wrapup_until[seat_id] = (last + wrap, h["Queue"])
        elif kind == "QueueEntry" and h.get("Queue") in known:
            entry = entry_from(h, since=now - float(h.get("Wait") or 0))
            out.entries[h["Queue"]][entry.uniqueid] = entry
    return out
