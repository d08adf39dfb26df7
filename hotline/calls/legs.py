"""Transfers and three-way calls on the call record: ``extra["legs"]``. Pure functions.

How a leg is tied to its conversation (verified on Asterisk 22):

* A **transfer** dials from inside the conversation: blind, the caller's channel is redirected
  to ``hotline-transfer,<target>``; attended, the seat's Atxfer dials it through a Local
  channel. Either way the dialled channel inherits the conversation's Linkedid, and the
  dialplan marks the dial with ``HOTLINE_TRANSFER_DIAL,<target>`` (on the caller's channel for
  a blind transfer, on the Local channel for an attended one).
* A **three-way call's** department leg is originated by the controller into the conference
  ``hotline-<call id>``: a new channel with a Linkedid of its own (ConfBridge does not merge
  Linkedids). Its accountcode ``leg-<call id>-<target>`` (:func:`leg_account`) is on every CEL
  event of the leg after CHAN_START; the call tracker and the reconciler hand the events of such
  a conversation to its parent (:class:`LegBook`), which is never a record of its own.

:func:`call_legs` turns the events of a conversation plus those of its originated legs into
``extra["legs"]`` (target, number, kind, ring and talk time, answered, who left first),
``extra["referral"]`` (a convenience partner's number the caller was referred to) and
``extra["emergency"]`` (the emergency service involved).
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hotline.spine import marks
from hotline.spine.ids import CALL_ID_PLAIN
from hotline.spine.plan import SEAT_TARGET, endpoint_of

from .cel import CelEvent
from .model import Directory

LEG_PREFIX = "leg-"
_ACCOUNT = re.compile(rf"^leg-(?P<call>{CALL_ID_PLAIN})-(?P<target>[A-Za-z0-9+_-]{{1,48}})$")
MAX_ACCOUNT = 80   # Asterisk's accountcode limit (AST_MAX_ACCOUNT_CODE): longer would be cut
_TARGET = re.compile(r"^[A-Za-z0-9+_-]{1,48}$")
EMERGENCY_SERVICES = ("110", "119", "120", "12395")


# --- accountcodes of originated legs ----------------------------------------------------------


def leg_account(call_id: str, target: str) -> str:
    """The accountcode of a leg the controller originates for conversation ``call_id``."""
    account = f"{LEG_PREFIX}{call_id}-{target}"
    if not _ACCOUNT.fullmatch(account) or len(account) > MAX_ACCOUNT:
        raise ValueError(f"not a leg of a conversation: {account!r}")
    return account


def parse_account(accountcode: str) -> tuple[str, str] | None:
    """(call id, target) of a leg's accountcode, or None."""
    m = _ACCOUNT.fullmatch(accountcode) if accountcode.startswith(LEG_PREFIX) else None
    return (m.group("call"), m.group("target")) if m else None


def parent_of(events: Iterable[CelEvent]) -> str | None:
    """The conversation a leg conversation belongs to (from its accountcode), or None."""
    for e in events:
        tag = parse_account(e.accountcode) if e.accountcode else None
        if tag is not None and tag[0] != e.linkedid:
            return tag[0]
    return None


# --- the record's legs ------------------------------------------------------------------------


def _text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _iso(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, tz=UTC).isoformat() if t is not None else None


def _secs(seconds: float | None) -> float | None:
    return None if seconds is None else round(max(seconds, 0.0), 3)


def _cause(e: CelEvent | None) -> int | None:
    if e is None:
        return None
    try:
        return int(e.extra.get("hangupcause"))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def _outcome(answered: bool, cause: int | None, ended: bool) -> str:
    if answered:
        return "answered"
    if not ended:
        return "ringing"
    if cause == 17:
        return "busy"
    if cause in (18, 19):
        return "no_answer"
    if cause == 21:
        return "rejected"
    if cause in (16, 0, None):
        return "cancelled"
    return "failed"


@dataclass
class _Channel:
    uniqueid: str
    channel: str = ""
    start: float | None = None
    answer: float | None = None
    hangup: CelEvent | None = None
    end: float | None = None
    conf_join: float | None = None
    enters: list[CelEvent] | None = None
    exits: list[CelEvent] | None = None

    def add(self, e: CelEvent) -> None:
        self.channel = self.channel or e.channel
        if e.name == "CHAN_START":
            self.start = e.time
        elif e.name == "ANSWER" and self.answer is None:
            self.answer = e.time
        elif e.name == "HANGUP" and self.hangup is None:
            self.hangup = e
        elif e.name == "CHAN_END":
            self.end = e.time
        elif e.name == marks.CONF_JOIN.name and self.conf_join is None:
            self.conf_join = e.time
        elif e.name == "BRIDGE_ENTER":
            self.enters = (self.enters or []) + [e]
        elif e.name == "BRIDGE_EXIT":
            self.exits = (self.exits or []) + [e]

    @property
    def gone(self) -> float | None:
        if self.hangup is not None:
            return self.hangup.time
        return self.end

    def left(self, bridge_id: str, after: float) -> float | None:
        """When this channel left ``bridge_id`` (or hung up) at or after ``after``."""
        for e in self.exits or []:
            if e.time >= after and _text(e.extra.get("bridge_id")) == bridge_id:
                return e.time
        gone = self.gone
        return gone if gone is not None and gone >= after else None


def _channels(events: Iterable[CelEvent]) -> dict[str, _Channel]:
    out: dict[str, _Channel] = {}
    for e in events:
        out.setdefault(e.uniqueid, _Channel(e.uniqueid)).add(e)
    return out


def _sorted(events: Iterable[CelEvent]) -> list[CelEvent]:
    unique = {(e.name, e.time, e.uniqueid, e.channel): e for e in events}
    return sorted(unique.values(), key=lambda e: (e.time, e.uniqueid))


def _dials(target: str, endpoint: str | None, directory: Directory) -> bool:
    """Whether a channel of ``endpoint`` can be the one dialled for ``target``: a seat's channel
    only for that seat (the seat that answered has channels in the conversation too)."""
    return endpoint == target if target in directory.seats else endpoint not in directory.seats


def _leg(kind: str, target: str, directory: Directory, ch: _Channel, left_first: str | None) -> dict[str, Any]:
    lookup = getattr(directory, "target", None)  # a SiteDirectory (hotline.calls.targets) knows the targets
    info = lookup(target) if callable(lookup) else None
    start = ch.start if ch.start is not None else (ch.answer or ch.gone)
    ended = ch.gone
    answered = ch.answer is not None
    ring_end = ch.answer if answered else ended
    cause = _cause(ch.hangup)
    return {
        "kind": kind,
        "target": target,
        "number": info.number if info else (target if target.lstrip("+").isdigit() else None),
        "target_type": info.type if info else (SEAT_TARGET if target in directory.seats else None),
        "department": info.department if info else None,
        "channel": ch.channel,
        "started_at": _iso(start),
        "answered": answered,
        "answered_at": _iso(ch.answer),
        "ended_at": _iso(ended),
        "ring_seconds": _secs(ring_end - start) if ring_end is not None and start is not None else None,
        "talk_seconds": _secs(ended - ch.answer) if ch.answer is not None and ended is not None else None,
        "outcome": _outcome(answered, cause, ended is not None),
        "hangup_cause": cause,
        "left_first": left_first,
    }


def _stay(ch: _Channel, bridge: str, since: float) -> tuple[float, float | None] | None:
    """(entered, left) of ``ch``'s stay in ``bridge`` that lasts until ``since`` or begins after it."""
    for enter in ch.enters or []:
        if _text(enter.extra.get("bridge_id")) != bridge:
            continue
        left = ch.left(bridge, enter.time)
        if left is None or left >= since:
            return enter.time, left
    return None


SIMULTANEOUS_S = 0.05   # exits this close together are one event (a bridge dissolving: a few ms)


def _left_first(call_id: str, leg: _Channel, own: Mapping[str, _Channel], directory: Directory) -> str | None:
    """Who left first, once the leg was answered and bridged: ``caller``, ``seat`` or ``target``.

    The parties are the channels in the leg's (last) bridge: the conference of a three-way call,
    the bridge with the caller after a transfer. The first to leave that bridge (or hang up) left
    first; exits are compared in the bridge, not by hang-up time (the caller's channel runs on in
    the dialplan after its bridge ends). Exits a moment apart are one event (the others follow
    whoever hung up): the party that hung up itself (its own channel is the hang-up source) left
    first, else the caller, then the seat."""
    if leg.answer is None or not leg.enters:
        return None
    enter = leg.enters[-1]
    bridge = _text(enter.extra.get("bridge_id"))
    parties: list[tuple[float, int, str, _Channel]] = []
    leg_left = leg.left(bridge, enter.time)
    if leg_left is not None:
        parties.append((leg_left, 2, "target", leg))
    for uid, ch in own.items():
        if uid == leg.uniqueid:
            continue
        if uid == call_id:
            role, rank = "caller", 0
        elif endpoint_of(ch.channel, remote_seats=False) in directory.seats:
            role, rank = "seat", 1
        else:
            continue
        stay = _stay(ch, bridge, enter.time)
        if stay is None or (leg_left is not None and stay[0] > leg_left):
            continue  # not in the bridge while the leg was
        if stay[1] is not None:
            parties.append((max(stay[1], enter.time), rank, role, ch))
    if not parties:
        return None
    first = min(parties, key=lambda p: (p[0], p[1]))
    together = [p for p in parties if p[0] - first[0] <= SIMULTANEOUS_S]
    hung_up_itself = [p for p in together
                      if p[3].hangup is not None and _text(p[3].hangup.extra.get("hangupsource")) == p[3].channel]
    return min(hung_up_itself or together, key=lambda p: (p[1] if not hung_up_itself else p[0], p[1]))[2]


def call_legs(call_id: str, events: Iterable[CelEvent], directory: Directory) -> dict[str, Any]:
    """``extra`` entries for conversation ``call_id``: ``legs`` (when there are any), ``referral``
    and ``emergency``. ``events`` may include the events of its originated legs (other
    Linkedids, tagged by accountcode) and anything else: what does not belong is ignored."""
    evs = _sorted(events)
    own_events = [e for e in evs if e.linkedid == call_id]
    own = _channels(own_events)
    legs: list[tuple[float, dict[str, Any]]] = []

    # Transfers: the channel dialled after each HOTLINE_TRANSFER_DIAL of this conversation.
    claimed: set[str] = set()
    for mark in (e for e in own_events if e.name == marks.TRANSFER_DIAL.name):
        target = marks.TRANSFER_DIAL.of(mark).target
        if not _TARGET.fullmatch(target):
            continue
        # the dialled channel: the target seat's own (a transfer to a seat), else any but a seat's
        dialled = next((ch for uid, ch in own.items()
                        if uid not in claimed and uid != call_id and ch.start is not None
                        and ch.start >= mark.time and not ch.channel.startswith("Local/")
                        and _dials(target, endpoint_of(ch.channel, remote_seats=False), directory)), None)
        kind = "blind" if mark.uniqueid == call_id else "attended"
        if dialled is None:
            continue
        claimed.add(dialled.uniqueid)
        legs.append((mark.time, _leg(kind, target, directory, dialled,
                                     _left_first(call_id, dialled, own, directory))))

    # Three-way legs: originated channels carrying this conversation's leg accountcode.
    tagged: dict[str, str] = {}
    for e in evs:
        if e.linkedid != call_id and e.accountcode:
            tag = parse_account(e.accountcode)
            if tag is not None and tag[0] == call_id:
                tagged.setdefault(e.uniqueid, tag[1])
    if tagged:
        others = _channels(e for e in evs if e.uniqueid in tagged)
        for uid, target in tagged.items():
            ch = others[uid]
            legs.append((ch.start or ch.answer or ch.gone or 0.0,
                         _leg("three_way", target, directory, ch,
                              _left_first(call_id, ch, own, directory))))

    out: dict[str, Any] = {}
    if not legs:
        return out
    out["legs"] = [leg for _, leg in sorted(legs, key=lambda item: item[0])]
    referral = next((leg["number"] or leg["target"] for leg in out["legs"] if leg["target_type"] == "convenience"),
                    None)
    if referral:
        out["referral"] = referral
    emergency = next((leg["target"] for leg in out["legs"]
                      if leg["target_type"] == "emergency" or leg["target"] in EMERGENCY_SERVICES), None)
    if emergency:
        out["emergency"] = emergency
    return out


# --- tying leg conversations to their parents (tracker and reconciler) ------------------------


class LegBook:
    """Where the events of originated legs wait for their conversation's record.

    * a leg conversation that ends while its parent is live: its events are kept until the
      parent ends and are assembled with it;
    * one that ends after its parent (a department still ringing when the caller hung up):
      the parent's record is assembled again with it, from the parent's events kept for a while
      after it ended (:meth:`remember`). Only conversations that had a three-way call or a
      transfer are kept.
    Not thread-safe: each user (tracker, reconciler) has its own.
    """

    def __init__(self, keep_s: float = 2 * 3600.0, keep_max: int = 2000) -> None:
        self._pending: dict[str, list[CelEvent]] = {}          # parent -> events of its ended legs
        self._done: OrderedDict[str, tuple[float, list[CelEvent]]] = OrderedDict()
        self._keep_s = keep_s
        self._keep_max = keep_max

    def with_legs(self, lid: str, events: list[CelEvent]) -> list[CelEvent]:
        """The events of conversation ``lid`` plus those of its legs that already ended."""
        legs = self._pending.pop(lid, None)
        return events + legs if legs else events

    def peek(self, lid: str) -> list[CelEvent]:
        return self._pending.get(lid, [])

    def remember(self, lid: str, events: list[CelEvent]) -> None:
        """Keep an ended conversation's events in case a leg of it ends later."""
        if not any(e.name in (marks.CONF_JOIN.name, marks.TRANSFER_DIAL.name) for e in events):
            return
        self._done[lid] = (time.monotonic(), events)
        self._done.move_to_end(lid)
        self._trim()

    def leg_ended(self, parent: str, events: list[CelEvent], parent_live: bool) -> list[CelEvent] | None:
        """A leg of ``parent`` ended. Returns the parent's events with every leg when the parent
        has ended already (its record is to be assembled again), else None (kept for later)."""
        if parent_live:
            self._pending.setdefault(parent, []).extend(events)
            return None
        done = self._done.get(parent)
        if done is None:
            self._pending.setdefault(parent, []).extend(events)  # the parent may not have begun here
            self._trim_pending()
            return None
        merged = done[1] + events
        self._done[parent] = (done[0], merged)
        return merged

    def extend_done(self, lid: str, events: list[CelEvent]) -> list[CelEvent] | None:
        """More events of an ended conversation that is remembered (read again by a later pass of
        the reconciler): all of them, or None when it is not remembered."""
        done = self._done.get(lid)
        if done is None:
            return None
        merged = done[1] + events
        self._done[lid] = (done[0], merged)
        return merged

    def _trim(self) -> None:
        cutoff = time.monotonic() - self._keep_s
        while self._done and (len(self._done) > self._keep_max or next(iter(self._done.values()))[0] < cutoff):
            self._done.popitem(last=False)

    def _trim_pending(self) -> None:
        while len(self._pending) > self._keep_max:
            self._pending.pop(next(iter(self._pending)))
