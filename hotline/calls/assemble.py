"""Build one call record from the CEL events of one conversation. Pure functions.

A conversation (Asterisk Linkedid) becomes a record when its first leg, the one
whose Uniqueid equals the Linkedid, was created on a carrier trunk endpoint
(``PJSIP/trunk-<name>-…``). The dialplan marks the milestones with user-defined
CEL events: ``HOTLINE_ARRIVAL`` (dialled number|mode|department),
``HOTLINE_QUEUE`` (queue joined) and ``HOTLINE_QUEUE_EXIT`` (the queue gave up).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

from .cel import CelEvent
from .model import CallRecord, Outcome

_PJSIP = re.compile(r"^PJSIP/(?P<endpoint>.+)-[0-9a-f]{8}$")
_CALLER_OK = re.compile(r"^\+?[0-9]{1,32}$")

# ITU-T Q.850 causes a hotline meets.
HANGUP_CAUSES = {
    0: "not defined", 1: "unallocated number", 3: "no route to destination", 16: "normal clearing",
    17: "user busy", 18: "no user responding", 19: "no answer", 21: "call rejected",
    27: "destination out of order", 28: "invalid number format", 31: "normal, unspecified",
    34: "no circuit available", 38: "network out of order", 41: "temporary failure",
    42: "switching equipment congestion", 47: "resource unavailable", 58: "bearer capability not available",
    102: "recovery on timer expiry", 127: "interworking, unspecified",
}


@dataclass(frozen=True)
class Directory:
    """What the assembler needs to know of the site: which endpoints are trunks and seats."""

    trunks: frozenset[str]   # trunk endpoint names, e.g. "trunk-carrier"
    seats: frozenset[str]    # seat endpoint names, e.g. "1001"


def endpoint_of(channel: str) -> str | None:
    m = _PJSIP.match(channel)
    return m.group("endpoint") if m else None


def sanitise_number(raw: str) -> str:
    digits = "".join(c for c in raw if c.isdigit() or c == "+")[:32]
    return digits if _CALLER_OK.match(digits) else "anonymous"


def _text(value: object) -> str:
    """An event-extra value as text: extras are decoded JSON, so any type can arrive."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(max(seconds, 0.0), 3)


def is_complete(events: Iterable[CelEvent]) -> bool:
    return any(e.name == "LINKEDID_END" for e in events)


def assemble(events: list[CelEvent], directory: Directory, source: str = "ami") -> CallRecord | None:
    """The record for one conversation, or ``None`` when it did not enter through a trunk.

    ``events`` may arrive in any order and with duplicates (a replayed event is harmless).
    """
    if not events:
        return None
    unique = {(e.name, e.time, e.uniqueid, e.channel): e for e in events}
    evs = sorted(unique.values(), key=lambda e: (e.time, e.uniqueid))
    linkedid = evs[0].linkedid
    evs = [e for e in evs if e.linkedid == linkedid]
    caller_leg = [e for e in evs if e.uniqueid == linkedid]
    start = next((e for e in caller_leg if e.name == "CHAN_START"), None)
    if start is None:
        return None
    trunk = endpoint_of(start.channel)
    if trunk not in directory.trunks:
        return None
    arrival = next((e for e in caller_leg if e.name == "HOTLINE_ARRIVAL"), None)
    dialled, mode, dept = start.exten, None, None
    caller = start.caller_num
    if arrival is not None:
        parts = (_text(arrival.extra.get("extra")) or arrival.appdata.partition(",")[2]).split("|")
        parts += [""] * (3 - len(parts))
        dialled = parts[0] or dialled
        mode = parts[1] or None
        dept = parts[2] or None
        caller = arrival.caller_num or caller
    if mode == "hotline":
        mode = None

    queued = next((e for e in caller_leg if e.name == "HOTLINE_QUEUE"), None)
    queue_exit = next((e for e in caller_leg if e.name == "HOTLINE_QUEUE_EXIT"), None)

    # Answered: the caller's leg entered a bridge with a seat's leg.
    seat_legs = {e.uniqueid: e for e in evs if e.name == "CHAN_START" and endpoint_of(e.channel) in directory.seats}
    answered_at = None
    seat = None
    for e in caller_leg:
        if e.name == "BRIDGE_ENTER":
            peer = endpoint_of(e.peer) if e.peer else None
            if peer in directory.seats:
                answered_at, seat = e.time, peer
                break
    if answered_at is None:
        seat_enter = next((e for e in evs if e.name == "BRIDGE_ENTER" and e.uniqueid in seat_legs), None)
        caller_enter = next((e for e in caller_leg if e.name == "BRIDGE_ENTER"), None)
        if seat_enter is not None and caller_enter is not None:
            answered_at = max(seat_enter.time, caller_enter.time)
            seat = endpoint_of(seat_enter.channel)

    hangup = next((e for e in caller_leg if e.name == "HANGUP"), None)
    end_event = hangup or next((e for e in caller_leg if e.name == "CHAN_END"), None) \
        or next((e for e in evs if e.name == "LINKEDID_END"), None)
    ended_at = end_event.time if end_event else None
    cause = hangup.extra.get("hangupcause") if hangup else None
    try:
        cause = int(cause) if cause is not None else None
    except (TypeError, ValueError, OverflowError):
        cause = None
    hangup_source = _text(hangup.extra.get("hangupsource")) if hangup else ""

    extra: dict[str, object] = {}
    if answered_at is not None:
        outcome = Outcome.answered
    elif queued is not None:
        if queue_exit is not None:
            outcome = Outcome.failed
            extra["queue_status"] = _text(queue_exit.extra.get("extra"))
        else:
            outcome = Outcome.abandoned_in_queue
    elif hangup_source == start.channel or cause in (16, 31):
        outcome = Outcome.abandoned_before_queue
    else:
        outcome = Outcome.failed
    if hangup_source:
        extra["hangup_source"] = "caller" if hangup_source == start.channel else (
            "seat" if endpoint_of(hangup_source) in directory.seats else "other")

    wait = None
    if queued is not None:
        wait = (answered_at if answered_at is not None else ended_at or queued.time) - queued.time
    talk = (ended_at - answered_at) if (answered_at is not None and ended_at is not None) else None

    return CallRecord(
        call_id=linkedid,
        dialled_number=sanitise_number(dialled) if dialled else "",
        caller_number=sanitise_number(caller),
        arrived_at=start.at,
        legacy_mode=mode,
        department=dept,
        trunk=trunk.removeprefix("trunk-") if trunk else None,
        queue=(_text(queued.extra.get("extra")) or None) if queued else None,
        seat=seat,
        queued_at=queued.at if queued else None,
        answered_at=_at(answered_at),
        ended_at=_at(ended_at),
        wait_seconds=_round(wait),
        talk_seconds=_round(talk),
        outcome=outcome,
        hangup_cause=cause,
        hangup_cause_text=HANGUP_CAUSES.get(cause) if cause is not None else None,
        recording=f"{linkedid}.wav" if answered_at is not None else None,
        source=source,
        extra=extra,
    )


def _at(t: float | None) -> datetime | None:
    return datetime.fromtimestamp(t, tz=timezone.utc) if t is not None else None
