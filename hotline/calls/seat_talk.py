"""The answering seat's own talk on a call it left before the caller (issue 15). Pure.

After a blind or attended transfer, or a three-way call the seat left, the call's talk
(``talk_seconds``: answer to the caller's hang-up) includes the department's or 110's time with
the caller. A seat's AHT counts only the seat's own time with the caller:
``extra["seat_talk_seconds"]``, from the answer to the moment the answering seat's channel hung
up (a consultation before an attended transfer included: the seat was handling the call). It is
set only on a call with a leg (a transfer or a three-way call, ``extra["legs"]``) whose seat left
more than :data:`hotline.calls.legs.SIMULTANEOUS_S` before the caller; absent, the seat's talk is
the call's talk.
"""

from __future__ import annotations

from collections.abc import Iterable

from hotline.spine.plan import endpoint_of

from .cel import CelEvent
from .legs import SIMULTANEOUS_S


def seat_left_at(events: Iterable[CelEvent], seat: str) -> float | None:
    """When the answering seat's channel (the first of ``seat``'s channels bridged) hung up."""
    bridged: dict[str, float] = {}
    gone: dict[str, float] = {}
    for e in events:
        if endpoint_of(e.channel) != seat:
            continue
        if e.name == "BRIDGE_ENTER":
            bridged.setdefault(e.uniqueid, e.time)
        elif e.name in ("HANGUP", "CHAN_END"):
            gone[e.uniqueid] = min(gone.get(e.uniqueid, e.time), e.time)
    if not bridged:
        return None
    first = min(bridged, key=lambda uid: bridged[uid])
    return gone.get(first)


def seat_talk(events: Iterable[CelEvent], seat: str | None, answered_at: float | None, ended_at: float | None,
              has_legs: bool) -> dict[str, float]:
    """``{"seat_talk_seconds": s}`` (ms) for the record's ``extra``, or ``{}`` when the seat's talk is
    the call's (see the module)."""
    if not has_legs or seat is None or answered_at is None or ended_at is None:
        return {}
    left = seat_left_at(events, seat)
    if left is None or left >= ended_at - SIMULTANEOUS_S:
        return {}
    return {"seat_talk_seconds": round(max(left - answered_at, 0.0), 3)}
