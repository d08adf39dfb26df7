"""The call plan: how the site's numbers are routed, what seats may dial, how endpoints are named.

Derived once from the site config (:func:`call_plan`), pure, and read by every party that
speaks about a call: the dialplan generator (``trunk_config``: which numbers get an inbound
context and what it does), the FastAGI routes (``agi_scripts``: the routing reason and office
hours), call control and the record assembler (``hotline.calls``: transfer targets, endpoints)
and the directory (``hotline.directory``).

**Adding a legacy-number mode**: its value in :class:`hotline.config.site.NumberMode`, its
:class:`ModeRule` in :data:`MODES` here (is it answered by 12345 and through which flow, may seats
transfer to it), and the docs. A mode whose calls take a flow the dialplan does not have yet also
needs that flow in the generator (``trunk_config/inbound.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from hotline.config.site import LegacyNumber, NumberMode, SiteConfig, Transition

# --- endpoints and the contexts call control dials into ---------------------------------------

TRANSFER_CONTEXT = "hotline-transfer"     # what seats may transfer or conference a caller to
CONFERENCE_CONTEXT = "hotline-conf"       # three-way calls: the extension is the conversation id
REMOTE_SEAT_CONTEXT = "hotline-remote-seat"   # seats on an outside number (Local channel members)
CALLBACK_HOLD_CONTEXT = "hotline-cb-hold"     # a queue callback's placeholder waits in the queue
CALLBACK_DIAL_CONTEXT = "hotline-cb-dial"     # a seat took a callback: dial the citizen back
REVISIT_CONTEXT = "hotline-revisit"           # a 回访 call answered: the survey (trunk_config.revisit)
DUTY_PROBE_CONTEXT = "hotline-duty-probe"     # a duty-phone test answered: the notice (trunk_config.duty_probe)
SEAT_OFFER_CONTEXT = "hotline-seat-offer"     # a pooled queue's pre-dial handler: the one order over the nodes
PRIORITY_WEIGHT = 1000000   # a caller's rank: since (epoch s) less priority x this (a priority outranks any wait)
REQUEUE_CONTEXT = "hotline-requeue"           # a seat's phone lost mid-call: its caller back in the queue, first
REQUEUE_PRIORITY = 101                        # above any configured queue priority (those are 0..100)
TRUNK_PREFIX = "trunk-"
DEPT_PREFIX = "dept-"
DEFAULT_RING_S = 20       # a three-way leg to a department without a parallel number
EMERGENCY_RING_S = 30     # a three-way leg to an emergency route
SEAT_TARGET = "seat"      # the type of a transfer target that is another seat

_PJSIP = re.compile(r"^PJSIP/(?P<endpoint>.+)-[0-9a-f]{8}$")
_REMOTE_SEAT = re.compile(
    rf"^Local/(?P<endpoint>[0-9]{{3,8}})@{REMOTE_SEAT_CONTEXT}-[0-9a-f]{{8}};[12]$")


def trunk_endpoint(trunk_name: str) -> str:
    """The PJSIP endpoint of a carrier trunk."""
    return f"{TRUNK_PREFIX}{trunk_name}"


def department_endpoint(dept_id: str) -> str:
    """The PJSIP endpoint of a department's phone registered on the platform."""
    return f"{DEPT_PREFIX}{dept_id}"


def endpoint_of(channel: str, *, remote_seats: bool = True) -> str | None:
    """The PJSIP endpoint of a channel name (``PJSIP/<endpoint>-<8 hex>``), or None.

    ``remote_seats``: also the seat id of an external seat's Local channel
    (``Local/<seat>@hotline-remote-seat-…;1|2``), which is how the queue reaches that seat. The
    record's legs (transfers, three-way calls) and callback tries name PJSIP endpoints only
    (``remote_seats=False``), as they always did."""
    m = _PJSIP.match(channel) or (_REMOTE_SEAT.match(channel) if remote_seats else None)
    return m.group("endpoint") if m else None


# --- how each legacy-number mode is routed --------------------------------------------------------

class Flow(str, Enum):
    """How the dialplan takes a call to a number 12345 answers."""

    inbound = "inbound"     # 12345's inbound flow (the number's transition notices first, if any)
    parallel = "parallel"   # ring the department first (office hours), overflow to 12345's queue


@dataclass(frozen=True)
class ModeRule:
    flow: Flow | None     # how 12345 answers it; None: calls to it are not answered here
    target: bool          # seats may transfer or conference a caller to it (its line, via the trunk)


MODES: dict[NumberMode, ModeRule] = {
    NumberMode.merged: ModeRule(flow=Flow.inbound, target=False),
    NumberMode.parallel: ModeRule(flow=Flow.parallel, target=True),
    NumberMode.convenience: ModeRule(flow=None, target=True),
    NumberMode.emergency: ModeRule(flow=None, target=False),   # emergency routes are site.emergency
}


def rule(mode: NumberMode) -> ModeRule:
    return MODES[mode]


# --- number routes -------------------------------------------------------------------------------

HOTLINE_MODE = "hotline"          # HOTLINE_MODE of the hotline number itself
DIVERTED_110_MODE = "diverted_110"
UNKNOWN_MODE = "unknown"
NOT_LEGACY_MODES = frozenset({HOTLINE_MODE, DIVERTED_110_MODE})   # the record says legacy_mode null


@dataclass(frozen=True)
class NumberRoute:
    """One number 12345 answers, as the dialplan routes it (``hotline-in-<number>``)."""

    number: str
    mode: str                  # HOTLINE_MODE: hotline | a NumberMode value | diverted_110
    department: str
    queue: str                 # the queue the call joins when FastAGI does not answer
    comment: str
    flow: Flow
    origin: str = ""           # "110": diverted from 110
    priority: int | None = None
    transition: Transition | None = None     # merged numbers: notices by date (双号并存)
    department_dial: str = ""  # parallel flow: where the department rings first
    ring_seconds: int = 0      # parallel flow: how long


def department_dial(site: SiteConfig, n: LegacyNumber) -> str:
    """Where a parallel number rings first: the department's registered phone, else its line via a trunk."""
    dept = site.department(n.department)
    if dept is not None and dept.phone_secret:
        return f"PJSIP/{department_endpoint(dept.id)}"
    return f"PJSIP/{n.target or n.number}@{trunk_endpoint(site.trunks[0].name)}"


def _legacy_route(site: SiteConfig, n: LegacyNumber, flow: Flow) -> NumberRoute:
    route = NumberRoute(n.number, n.mode.value, n.department, site.queue_for(n.number),
                        f"{n.mode.value} number of {n.department}", flow)
    if flow is Flow.parallel:
        return replace(route, department_dial=department_dial(site, n), ring_seconds=n.ring_seconds)
    return replace(route, transition=n.transition)


def number_routes(site: SiteConfig) -> tuple[NumberRoute, ...]:
    """Every number 12345 answers, in the dialplan's order: the hotline number, the legacy numbers
    whose mode has a flow, the numbers 110 diverts."""
    default = site.site.default_queue
    out = [NumberRoute(site.site.hotline_number, HOTLINE_MODE, "", default, "the hotline number", Flow.inbound)]
    for n in site.legacy_numbers:
        flow = MODES[n.mode].flow
        if flow is not None:
            out.append(_legacy_route(site, n, flow))
    for number in site.diversion_110.numbers:
        out.append(NumberRoute(number, DIVERTED_110_MODE, "", default, "non-police calls diverted from 110",
                               Flow.inbound, origin="110", priority=site.diversion_110.priority))
    return tuple(out)


def route_reason(site: SiteConfig, dialled: str) -> tuple[str, int]:
    """Why FastAGI routes a call to ``dialled`` as it does, and the priority the number gives:
    ``<mode>-number`` (any legacy number), ``hotline``, ``diverted-110``, ``unknown-number``."""
    number = site.number(dialled)
    if number is not None:
        return f"{number.mode.value}-number", 0
    if dialled == site.site.hotline_number:
        return "hotline", 0
    if dialled and dialled in site.diversion_110.numbers:
        return "diverted-110", site.diversion_110.priority
    return "unknown-number", 0


def rings_department(site: SiteConfig, dialled: str) -> LegacyNumber | None:
    """The legacy number ``dialled`` when its calls ring its department first (office hours apply)."""
    number = site.number(dialled)
    return number if number is not None and MODES[number.mode].flow is Flow.parallel else None


# --- transfer targets ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """One entry of the directory a seat may transfer or conference a caller to."""

    key: str                   # what the seat asks for: a number, "dept-<id>" for a registered phone, a seat id
    type: str                  # parallel | convenience | duty_phone | department_phone | emergency | seat
    number: str | None         # what is dialled on a trunk; None for a phone registered here
    department: str | None
    ring_seconds: int          # how long a three-way leg rings before it counts as not answered
    dial: str = ""             # the dial string (what hotline-transfer dials)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.key, "type": self.type, "number": self.number, "department": self.department,
                "ring_seconds": self.ring_seconds}


def site_targets(site: SiteConfig) -> dict[str, Target]:
    """Every number a seat may transfer or conference a caller to: legacy numbers whose mode is a
    target, department duty phones and registered phones, emergency routes, and the other seats
    on their own phones (transfers only: call control refuses a seat in a three-way call; a seat on
    an outside number is none). Nothing else is dialable from the platform (a later entry replaces
    an earlier one with the same key; a seat id never replaces a number).

    Ring time of a three-way leg: a parallel number's own ``ring_seconds``; a department's phones
    take the ring time of its parallel number, else 20 s; emergency routes 30 s."""
    trunk = trunk_endpoint(site.trunks[0].name)
    ring: dict[str, int] = {}
    for n in site.legacy_numbers:
        if MODES[n.mode].flow is Flow.parallel:
            ring.setdefault(n.department, n.ring_seconds)
    out: dict[str, Target] = {}
    for n in site.legacy_numbers:
        if MODES[n.mode].target:
            secs = n.ring_seconds if MODES[n.mode].flow is Flow.parallel else ring.get(n.department, DEFAULT_RING_S)
            out[n.number] = Target(n.number, n.mode.value, n.target or n.number, n.department, secs,
                                   f"PJSIP/{n.target or n.number}@{trunk}")
    for d in site.departments:
        if d.duty_phone:
            out[d.duty_phone] = Target(d.duty_phone, "duty_phone", d.duty_phone, d.id,
                                       ring.get(d.id, DEFAULT_RING_S), f"PJSIP/{d.duty_phone}@{trunk}")
        if d.phone_secret:
            key = department_endpoint(d.id)
            out[key] = Target(key, "department_phone", None, d.id, ring.get(d.id, DEFAULT_RING_S), f"PJSIP/{key}")
    for e in site.emergency:
        out[e.number] = Target(e.number, "emergency", e.dial or e.number, None, EMERGENCY_RING_S,
                               f"PJSIP/{e.dial or e.number}@{trunk_endpoint(e.trunk)}")
    for seat in site.seats:
        if seat.external_number is None:
            out.setdefault(seat.id, Target(seat.id, SEAT_TARGET, None, None, DEFAULT_RING_S, f"PJSIP/{seat.id}"))
    return out


def transfer_targets(site: SiteConfig) -> dict[str, str]:
    """Every transfer target's dial string, by key (what ``hotline-transfer`` dials)."""
    return {key: t.dial for key, t in site_targets(site).items()}


# --- the directory ------------------------------------------------------------------------------

Entry = dict[str, Any]


def _department_entries(site: SiteConfig) -> list[Entry]:
    out = []
    for d in site.departments:
        out.append({
            "kind": "department", "id": d.id, "name": d.name, "duty_phone": d.duty_phone,
            "hours": None if d.hours is None else {"days": d.hours.days, "start": d.hours.start.strftime("%H:%M"),
                                                   "end": d.hours.end.strftime("%H:%M")},
            "queue": d.queue or site.site.default_queue,
            "phone": department_endpoint(d.id) if d.phone_secret else None,
            "numbers": [n.number for n in site.legacy_numbers if n.department == d.id],
        })
    return out


def _number_entry(site: SiteConfig, n: LegacyNumber) -> Entry:
    dept = site.department(n.department)
    t = n.transition
    flow = MODES[n.mode].flow
    return {
        "kind": "number", "number": n.number, "mode": n.mode.value, "hotline": n.hotline,
        "department": n.department, "department_name": dept.name if dept else None,
        "queue": site.queue_for(n.number) if flow is not None else None,
        "note": n.note,
        "ring_seconds": n.ring_seconds if flow is Flow.parallel else None,
        "transition": None if t is None else {
            "prompt": t.prompt, "start": t.start.isoformat() if t.start else None,
            "end": t.end.isoformat() if t.end else None, "after": t.after},
    }


def directory_entries(site: SiteConfig) -> list[Entry]:
    """The directory (JSON-ready, what the API returns): one entry per department, then one per
    legacy number and per emergency route not listed as a number (hotline.directory.services)."""
    out = _department_entries(site) + [_number_entry(site, n) for n in site.legacy_numbers]
    listed = {n.number for n in site.legacy_numbers}
    for e in site.emergency:   # 110/119/120/12395 the seats transfer to, even when not listed as numbers
        if e.number not in listed:
            out.append({"kind": "number", "number": e.number, "mode": NumberMode.emergency.value, "hotline": None,
                        "department": None, "department_name": None, "queue": None, "note": None,
                        "ring_seconds": None, "transition": None})
    return out


def target_types() -> list[str]:
    """Every ``type`` a transfer target can have."""
    return [*(mode.value for mode, r in MODES.items() if r.target), "duty_phone", "department_phone", "emergency",
            SEAT_TARGET]


# --- the plan ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CallPlan:
    routes: tuple[NumberRoute, ...]
    targets: dict[str, Target]
    trunks: frozenset[str]     # trunk endpoints
    seats: frozenset[str]      # seat endpoints
    hotline_number: str

    def route(self, number: str) -> NumberRoute | None:
        return next((r for r in self.routes if r.number == number), None)

    def dial(self) -> dict[str, str]:
        return {key: t.dial for key, t in self.targets.items()}


def call_plan(site: SiteConfig) -> CallPlan:
    return CallPlan(routes=number_routes(site), targets=site_targets(site),
                    trunks=frozenset(trunk_endpoint(t.name) for t in site.trunks),
                    seats=frozenset(s.id for s in site.seats),
                    hotline_number=site.site.hotline_number)
