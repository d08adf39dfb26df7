"""What a seat may transfer or conference a caller to, as the records and call control see it.

The dial strings are the dialplan's (:func:`trunk_config.dialplan.transfer_targets`, the only
numbers the ``hotline-transfer`` context dials); this module adds what each key *is* (a parallel
number, a convenience partner, a duty phone, a registered department phone, an emergency route),
the number it dials and how long a three-way leg to it rings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hotline.config.site import NumberMode, SiteConfig
from trunk_config.pjsip import trunk_endpoint

from .assemble import Directory
from .legs import DEFAULT_RING_S, EMERGENCY_RING_S


@dataclass(frozen=True)
class Target:
    """One entry of the directory a seat may transfer or conference a caller to."""

    key: str                   # what the seat asks for: a number, or "dept-<id>" for a registered phone
    type: str                  # parallel | convenience | duty_phone | department_phone | emergency
    number: str | None         # what is dialled on a trunk; None for a phone registered here
    department: str | None
    ring_seconds: int          # how long a three-way leg rings before it counts as not answered

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.key, "type": self.type, "number": self.number, "department": self.department,
                "ring_seconds": self.ring_seconds}


def site_targets(site: SiteConfig) -> dict[str, Target]:
    """The metadata of every key of :func:`trunk_config.dialplan.transfer_targets`, built in the
    same order (a later entry replaces an earlier one with the same key there too).

    Ring time of a three-way leg: a parallel number's own ``ring_seconds``; a department's phones
    take the ring time of its parallel number, else 20 s; emergency routes 30 s."""
    ring: dict[str, int] = {}
    for n in site.legacy_numbers:
        if n.mode == NumberMode.parallel:
            ring.setdefault(n.department, n.ring_seconds)
    out: dict[str, Target] = {}
    for n in site.legacy_numbers:
        if n.mode == NumberMode.parallel:
            out[n.number] = Target(n.number, "parallel", n.target or n.number, n.department, n.ring_seconds)
        elif n.mode == NumberMode.convenience:
            out[n.number] = Target(n.number, "convenience", n.target or n.number, n.department,
                                   ring.get(n.department, DEFAULT_RING_S))
    for d in site.departments:
        if d.duty_phone:
            out[d.duty_phone] = Target(d.duty_phone, "duty_phone", d.duty_phone, d.id,
                                       ring.get(d.id, DEFAULT_RING_S))
        if d.phone_secret:
            key = f"dept-{d.id}"
            out[key] = Target(key, "department_phone", None, d.id, ring.get(d.id, DEFAULT_RING_S))
    for e in site.emergency:
        out[e.number] = Target(e.number, "emergency", e.dial or e.number, None, EMERGENCY_RING_S)
    return out


@dataclass(frozen=True)
class SiteDirectory(Directory):
    """The assembler's directory plus the transfer targets, so a record can say what a leg was."""

    targets: tuple[tuple[str, Target], ...] = ()

    def target(self, key: str) -> Target | None:
        for k, t in self.targets:
            if k == key:
                return t
        return None


def site_directory(site: SiteConfig) -> SiteDirectory:
    return SiteDirectory(trunks=frozenset(trunk_endpoint(t) for t in site.trunks),
                         seats=frozenset(s.id for s in site.seats),
                         targets=tuple(site_targets(site).items()))
