"""Call control for seats: transfers, three-way calls with departments, emergencies (issue #4).

Every request is checked before anything is sent to Asterisk: the target must be in the
directory (the call plan's :func:`hotline.spine.plan.transfer_targets`, exactly what the dialplan's
``hotline-transfer`` context can dial), an emergency service must have a configured route, and
the call must be live and answered by a seat. A refused request leaves the call untouched.

What is sent (verified on Asterisk 22):

* **blind transfer**: ``Redirect`` of the caller's channel to ``hotline-transfer,<target>,1``.
  Out of a two-party bridge, Asterisk hangs up the seat; out of a three-way call the seat and
  the department legs are hung up by the controller. The caller's MixMonitor goes with it.
* **attended transfer**: ``Atxfer`` on the seat's channel (the seat consults the target while
  the caller waits; the seat hanging up completes it, the features.conf keys work too). Asterisk
  keys the target in as DTMF after the feature code, so only numeric targets can take it: for a
  registered department phone (``dept-<id>``) a three-way call followed by the seat leaving is
  the attended transfer.
* **three-way call**: ``Redirect`` of the caller with the seat as ``ExtraChannel`` into
  ``hotline-conf,<call id>,1`` (ConfBridge ``hotline-<call id>``), then an asynchronous
  ``Originate`` of the target's dial string into the same conference, ringing for the target's
  ring time, with accountcode ``leg-<call id>-<target>`` so its CEL events (a Linkedid of its
  own) reach the record (:mod:`hotline.calls.legs`). A target that never answers: the
  originate gives up after the ring time and caller and seat go on talking in the conference.
* **leaving**: ``Hangup`` of the seat's channel (the caller stays with the department) or of the
  department's leg.

The conference is kept tidy from CEL (:meth:`CallControl.on_event`): when the caller leaves,
the seat and the department legs still in it are hung up; when the caller is left alone in it
(the department hung up after the seat had left), the call ends.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hotline.ami import actions
from hotline.ami.port import AmiPort, first_reply, succeeded
from hotline.config.site import SiteConfig
from hotline.exceptions import (
    AsteriskActionFailed,
    CallControlUnavailable,
    CallNotLive,
    CallStateConflict,
    InvalidRequest,
    NoSuchTarget,
    NotConfigured,
)
from hotline.spine import marks
from hotline.spine.plan import CONFERENCE_CONTEXT as CONFERENCE, DEFAULT_RING_S, TRANSFER_CONTEXT as TRANSFER
from hotline.spine.plan import SEAT_TARGET, Target, call_plan, endpoint_of

from .assemble import Directory
from .cel import CelEvent
from .legs import EMERGENCY_SERVICES, leg_account, parse_account

if TYPE_CHECKING:
    from .services import CallTracker

log = logging.getLogger(__name__)

TRANSFER_KINDS = ("blind", "attended")
_DTMF = re.compile(r"^[0-9*#]{1,40}$")
PARTIES = ("seat", "department")
EMERGENCY_MODES = ("transfer", "three_way")


# --- what is live: a view of one conversation from its CEL events ---------------------------


@dataclass
class _Chan:
    uniqueid: str
    name: str = ""
    answered: bool = False
    gone: bool = False
    conf_join: bool = False
    bridge: str | None = None        # the bridge it is in now

    def add(self, e: CelEvent) -> None:
        self.name = self.name or e.channel
        if e.name == "ANSWER":
            self.answered = True
        elif e.name in ("HANGUP", "CHAN_END"):
            self.gone, self.bridge = True, None
        elif e.name == marks.CONF_JOIN.name:
            self.conf_join = True
        elif e.name == "BRIDGE_ENTER":
            self.bridge = str(e.extra.get("bridge_id") or "?")
        elif e.name == "BRIDGE_EXIT" and self.bridge == str(e.extra.get("bridge_id") or "?"):
            self.bridge = None


@dataclass(frozen=True)
class Leg:
    """An originated leg (three-way call) that is live."""

    linkedid: str
    channel: str
    target: str
    answered: bool


@dataclass
class LiveCall:
    """What call control needs to know of a live conversation."""

    call_id: str
    caller: str | None = None                  # the caller's channel, while it is up
    in_conference: bool = False                # the caller is in (or on its way into) the conference
    seat_with_caller: str | None = None        # the seat's channel bridged with the caller (two-party)
    conference_seats: list[str] = field(default_factory=list)   # seat channels in the conference
    legs: list[Leg] = field(default_factory=list)
    others: list[str] = field(default_factory=list)             # transfer targets dialled, live

    @property
    def answered_by_seat(self) -> bool:
        return self.caller is not None and (self.seat_with_caller is not None
                                            or (self.in_conference and bool(self.conference_seats)))

    @property
    def seats(self) -> set[str]:
        """The seats on the call now (with the caller, or in its three-way call)."""
        channels = [self.seat_with_caller, *self.conference_seats]
        return {seat for seat in (endpoint_of(c) for c in channels if c) if seat}

    def to_dict(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "caller_channel": self.caller, "in_conference": self.in_conference,
                "seat_channel": self.seat_with_caller,
                "conference_seats": list(self.conference_seats),
                "legs": [{"channel": leg.channel, "target": leg.target, "answered": leg.answered}
                         for leg in self.legs]}


def live_view(call_id: str, own: Iterable[CelEvent], legs: Mapping[str, Iterable[CelEvent]],
              directory: Directory) -> LiveCall:
    """What is live in conversation ``call_id``: a pure function of its events (``own``) and of
    its originated legs' (by Linkedid), so unit tests feed it transcripts."""
    chans: dict[str, _Chan] = {}
    view = LiveCall(call_id)
    for e in sorted(own, key=lambda e: (e.time, e.uniqueid)):
        if e.linkedid != call_id:
            continue
        chans.setdefault(e.uniqueid, _Chan(e.uniqueid)).add(e)
        if e.uniqueid == call_id:  # where the caller is
            if e.name == marks.CONF_JOIN.name:
                view.in_conference = True
            elif e.name == marks.TRANSFER_DIAL.name or (
                    e.name == "BRIDGE_ENTER" and e.extra.get("bridge_technology") not in (None, "", "softmix")):
                view.in_conference = False
    caller = chans.get(call_id)
    if caller is not None and not caller.gone:
        view.caller = caller.name
    else:
        view.in_conference = False
    for uid, ch in chans.items():
        if uid == call_id or ch.gone:
            continue
        if endpoint_of(ch.name) in directory.seats:
            if ch.conf_join:
                view.conference_seats.append(ch.name)
            elif caller is not None and ch.answered and ch.bridge is not None and ch.bridge == caller.bridge:
                view.seat_with_caller = ch.name
        elif not ch.name.startswith("Local/"):
            view.others.append(ch.name)
    for lid, events in legs.items():
        leg = _Chan(lid)
        target = ""
        for e in sorted(events, key=lambda e: (e.time, e.uniqueid)):
            if e.uniqueid != lid:
                continue
            leg.add(e)
            tag = parse_account(e.accountcode) if e.accountcode else None
            if tag is not None and tag[0] == call_id:
                target = tag[1]
        if leg.name and not leg.gone:
            view.legs.append(Leg(lid, leg.name, target, leg.answered))
    return view


def dial_endpoint(dial: str) -> str:
    """The PJSIP endpoint a dial string uses: ``PJSIP/110@trunk-carrier`` -> ``trunk-carrier``,
    ``PJSIP/dept-renshe`` -> ``dept-renshe``."""
    rest = dial.removeprefix("PJSIP/")
    return rest.split("@", 1)[1] if "@" in rest else rest


# --- the service ------------------------------------------------------------------------------


class CallControl:
    def __init__(self, site: SiteConfig, tracker: CallTracker, ami: AmiPort, directory: Directory, *,
                 action_timeout: float = 5.0) -> None:
        self._site = site
        self._tracker = tracker
        self._ami = ami
        self._directory = directory
        plan = call_plan(site)
        self._dial = plan.dial()   # exactly what hotline-transfer can dial
        known = plan.targets
        self._targets = {k: known.get(k) or Target(k, "other", None, None, DEFAULT_RING_S) for k in self._dial}
        self._timeout = action_timeout
        self._hotline = site.site.hotline_number
        self._tasks: set[asyncio.Future[Any]] = set()

    # -- the directory --------------------------------------------------------------------
    def targets(self) -> list[dict[str, Any]]:
        return [t.to_dict() for t in self._targets.values()]

    def target(self, value: object, field: str = "target") -> Target:
        """The directory entry for ``value``; raises before anything touches a call."""
        key = value if isinstance(value, str) else str(value)
        found = self._targets.get(key)
        if found is not None:
            return found
        if key in EMERGENCY_SERVICES:
            raise NotConfigured(key, field=field)
        raise NoSuchTarget(key, field=field)

    def live(self, call_id: str) -> LiveCall | None:
        got = self._tracker.conversation(call_id)
        if got is None:
            return None
        own, legs = got
        return live_view(call_id, own, legs, self._directory)

    def _answered(self, call_id: str) -> LiveCall:
        view = self.live(call_id)
        if view is None:
            raise CallNotLive(call_id, "is not a live call")
        if view.caller is None:
            raise CallNotLive(call_id, "has no caller on the line any more")
        if not view.answered_by_seat:
            raise CallNotLive(call_id, "is not answered by a seat")
        return view

    # -- requests -------------------------------------------------------------------------
    async def transfer(self, call_id: str, target: str, kind: str = "blind") -> dict[str, Any]:
        if kind not in TRANSFER_KINDS:
            raise InvalidRequest("kind", f"must be one of {', '.join(TRANSFER_KINDS)}", kind)
        entry = self.target(target)
        if kind == "attended" and not _DTMF.fullmatch(entry.key):
            # Asterisk's Atxfer keys the target in as DTMF digits after the feature code.
            raise InvalidRequest("kind", f"an attended transfer dials its target as DTMF digits, and {entry.key!r} "
                                         "is not one: transfer blind, or add it to a three-way call and leave",
                                 kind)
        view = self._answered(call_id)
        assert view.caller is not None
        if entry.type == SEAT_TARGET and entry.key in view.seats:
            raise CallStateConflict(call_id, f"seat {entry.key} is on the call already")
        sent: list[dict[str, str]] = []
        if kind == "blind":
            await self._do(sent, actions.redirect(view.caller, context=TRANSFER, exten=entry.key))
            # Out of a two-party bridge Asterisk hangs up the seat; out of a conference we do.
            for channel in [*view.conference_seats, *(leg.channel for leg in view.legs)]:
                await self._do(sent, actions.hangup(channel), required=False)
        else:
            if view.seat_with_caller is None:
                raise CallStateConflict(call_id, "an attended transfer needs the seat and the caller alone "
                                                 "together (drop the three-way call first, or transfer blind)")
            await self._do(sent, actions.atxfer(view.seat_with_caller, context=TRANSFER, exten=entry.key),
                           as_list=False)
        return self._done(call_id, "transfer", sent, kind=kind, target=entry.to_dict())

    async def conference_add(self, call_id: str, target: str) -> dict[str, Any]:
        entry = self.target(target)
        if entry.type == SEAT_TARGET:   # a seat in the conference would count as the call's seat
            raise InvalidRequest("target", "a seat takes a caller by transfer, not in a three-way call", entry.key)
        view = self._answered(call_id)
        assert view.caller is not None
        if any(leg.target == entry.key for leg in view.legs):
            raise CallStateConflict(call_id, f"{entry.key} is already on the call")
        sent: list[dict[str, str]] = []
        if not view.in_conference:
            await self._do(sent, actions.redirect(view.caller, context=CONFERENCE, exten=call_id,
                                                  extra_channel=view.seat_with_caller))
        dial = self._dial[entry.key]
        self._tracker.expect_leg(call_id, dial_endpoint(dial))
        await self._do(sent, actions.originate(
            dial, context=CONFERENCE, exten=call_id, caller_id=f'"{self._hotline}" <{self._hotline}>',
            timeout_ms=entry.ring_seconds * 1000, account=leg_account(call_id, entry.key)), as_list=False)
        return self._done(call_id, "conference_add", sent, target=entry.to_dict(),
                          conference=f"hotline-{call_id}", ring_seconds=entry.ring_seconds)

    async def conference_drop(self, call_id: str, party: str) -> dict[str, Any]:
        if party not in PARTIES:
            raise InvalidRequest("party", f"must be one of {', '.join(PARTIES)}", party)
        view = self.live(call_id)
        if view is None or view.caller is None:
            raise CallNotLive(call_id, "is not a live call" if view is None else "has no caller on the line any more")
        sent: list[dict[str, str]] = []
        if party == "seat":
            if not view.in_conference or not view.conference_seats:
                raise CallStateConflict(call_id, "the seat is not in a three-way call")
            if not any(leg.answered for leg in view.legs):
                raise CallStateConflict(call_id, "no department has answered yet: the caller would be alone")
            for channel in view.conference_seats:
                await self._do(sent, actions.hangup(channel))
        else:
            if not view.legs:
                raise CallStateConflict(call_id, "no department is on the call")
            for leg in view.legs:
                await self._do(sent, actions.hangup(leg.channel))
        return self._done(call_id, "conference_drop", sent, party=party)

    async def emergency(self, call_id: str, service: str = "110", mode: str = "transfer") -> dict[str, Any]:
        if mode not in EMERGENCY_MODES:
            raise InvalidRequest("mode", f"must be one of {', '.join(EMERGENCY_MODES)}", mode)
        entry = self._targets.get(service)
        if entry is None or entry.type != "emergency":
            if service in EMERGENCY_SERVICES:
                raise NotConfigured(service, field="service")
            raise InvalidRequest("service", f"not an emergency service ({', '.join(EMERGENCY_SERVICES)} or a "
                                            "configured emergency route)", service)
        if mode == "transfer":
            out = await self.transfer(call_id, service, "blind")
        else:
            out = await self.conference_add(call_id, service)
        out["emergency"] = {"service": service, "mode": mode}
        return out

    # -- keeping the conference tidy ------------------------------------------------------
    def on_event(self, event: CelEvent) -> None:
        """Tracker listener: after a hang-up in a conversation with a three-way call, end what
        no longer makes sense (the caller left: release the seat and the department legs; the
        caller alone in the conference: end the call)."""
        if event.name != "HANGUP":
            return
        tag = parse_account(event.accountcode) if event.accountcode else None
        call_id = tag[0] if tag is not None and tag[0] != event.linkedid else event.linkedid
        got = self._tracker.conversation(call_id)
        if got is None:
            return
        own, legs = got
        if not any(e.name == marks.CONF_JOIN.name for e in own):
            return
        view = live_view(call_id, own, legs, self._directory)
        channels: list[str] = []
        why = ""
        if event.uniqueid == call_id:  # the caller left: release who is still in the conference
            channels = view.conference_seats + [leg.channel for leg in view.legs]
            why = "the caller left the three-way call"
        elif view.in_conference and view.caller and not view.conference_seats and not view.legs:
            channels = [view.caller]
            why = "the caller was left alone in the conference"
        if channels:
            log.info("call %s: %s; hanging up %s", call_id, why, ", ".join(channels))
            self._spawn(self._hangup_quietly(channels))

    async def _hangup_quietly(self, channels: list[str]) -> None:
        for channel in channels:
            try:
                await self._ami.ask(actions.hangup(channel), timeout=self._timeout, as_list=False)
            except (CallControlUnavailable, AsteriskActionFailed, OSError) as exc:  # AMI down: nothing to repair
                log.info("hangup of %s: %s", channel, exc)

    def _spawn(self, coro: Awaitable[None]) -> None:
        try:
            task = asyncio.ensure_future(coro)
        except RuntimeError:  # no running loop (a synchronous caller): nothing to schedule on
            if asyncio.iscoroutine(coro):
                coro.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- sending ------------------------------------------------------------------------------
    async def _do(self, sent: list[dict[str, str]], action: dict[str, str], *, required: bool = True,
                  as_list: bool | None = False) -> None:
        reply = first_reply(await self._ami.ask(action, timeout=self._timeout, as_list=as_list, done=_names(sent)))
        if not succeeded(reply) and required:
            raise AsteriskActionFailed(action["Action"], str(reply.get("Message", "")) or "error",
                                       done=_names(sent))
        sent.append(action)

    def _done(self, call_id: str, what: str, sent: list[dict[str, str]], **details: Any) -> dict[str, Any]:
        log.info("call %s: %s %s (%s)", call_id, what, details, ", ".join(_names(sent)))
        return {"call_id": call_id, "action": what, **details, "steps": _names(sent)}


def _names(sent: list[dict[str, str]]) -> list[str]:
    return [a["Action"] + (f" {a['Channel']}" if "Channel" in a else "") for a in sent]
