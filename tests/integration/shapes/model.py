"""The catalogue's row and what a row promises: per call its record and its hand-computed KPI effect.

Pure (no rig, no I/O): the README table and the unit test read the rows without a stack.

A shape's ``drive`` places real calls on the rig and returns one :class:`Expect` per conversation
it made. Each :class:`Expect` says what the record must hold and how the call counts, written by
hand (a preset of :class:`Effect`), never derived from the product's formulas: the check then
compares ``GET /api/metrics`` with the sum of the effects, group by group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Effect:
    """How one call counts: offered, answered, answered within 15 s, abandoned in the queue and
    short abandons (within 5 s; long = abandoned − short)."""

    offered: int = 0
    answered: int = 0
    answered_in_sl: int = 0
    abandoned: int = 0
    short_abandons: int = 0

    def __add__(self, other: Effect) -> Effect:
        return Effect(*(a + b for a, b in zip(self.counts(), other.counts())))

    def counts(self) -> tuple[int, int, int, int, int]:
        return (self.offered, self.answered, self.answered_in_sl, self.abandoned, self.short_abandons)

    @property
    def long_abandons(self) -> int:
        return self.abandoned - self.short_abandons


NOT_OFFERED = Effect()
ANSWERED_IN_15S = Effect(offered=1, answered=1, answered_in_sl=1)
ANSWERED_LATE = Effect(offered=1, answered=1)
SHORT_ABANDON = Effect(offered=1, abandoned=1, short_abandons=1)
LONG_ABANDON = Effect(offered=1, abandoned=1)
OFFERED_ONLY = Effect(offered=1)        # voice message, callback requested, failed in the queue

KPI_FIELDS = ("offered", "answered", "answered_in_sl", "abandoned", "short_abandons")


@dataclass(frozen=True)
class Expect:
    """One conversation's expected record and KPI effect.

    ``seats``: the seats that may have answered (``None``: the record has no seat); the seat group
    is the record's own seat once it is one of them. ``wait``/``talk``: the scripted timing as an
    inclusive range of seconds (``None``: the field must be null). ``fields``: more top-level
    fields that must be equal; ``extra``: keys of ``extra`` that must be equal (a value of
    :data:`ABSENT` says the key must be missing); ``legs``: the record's transfer and three-way legs,
    in order, each with at least these items."""

    caller: str
    outcome: str
    dialled: str
    queue: str | None
    effect: Effect
    seats: frozenset[str] | None = None
    wait: tuple[float, float] | None = None
    talk: tuple[float, float] | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    legs: tuple[dict[str, Any], ...] | None = None   # extra.legs: as many, each holding these items
    entered: bool = True   # False: a call the platform placed out (a callback try), no trunk call entered


ABSENT = object()


@dataclass(frozen=True)
class Shape:
    """A row of the catalogue. ``drive(stack, ctx)`` makes the calls and returns their Expects;
    ``needs`` names the set-up it runs in (``rig``: the session stack as it is; the others are
    fixtures of tests/integration/test_shapes.py); ``known_bug``: (the bug, the texts of the
    mismatches it explains): the shape is an expected failure while exactly those show;
    ``reconciled``: the reconciliation rules and notes (hotline/reconcile/rules.py) its calls carry,
    all of them and only them (none: both sides agree on every call)."""

    name: str
    group: str
    description: str
    counts: str
    drive: Callable[[Any, Any], list[Expect]]
    needs: str = "rig"
    known_bug: tuple[str, tuple[str, ...]] | None = None
    reconciled: tuple[str, ...] = ()


def record_mismatches(expect: Expect, record: dict[str, Any]) -> list[str]:
    """What in ``record`` differs from ``expect`` (empty: it matches)."""
    out: list[str] = []

    def differ(what: str, want: Any, got: Any) -> None:
        out.append(f"{expect.caller}: {what} is {got!r}, expected {want!r}")

    for name, want in (("outcome", expect.outcome), ("dialled_number", expect.dialled), ("queue", expect.queue),
                       *expect.fields.items()):
        if record.get(name) != want:
            differ(name, want, record.get(name))
    seat = record.get("seat")
    if (expect.seats is None and seat is not None) or (expect.seats is not None and seat not in expect.seats):
        differ("seat", sorted(expect.seats) if expect.seats else None, seat)
    for name, span in (("wait_seconds", expect.wait), ("talk_seconds", expect.talk)):
        got = record.get(name)
        if span is None and got is not None:
            differ(name, None, got)
        elif span is not None and (got is None or not span[0] <= got <= span[1]):
            differ(name, f"{span[0]}..{span[1]}", got)
    extra = record.get("extra") or {}
    for key, want in expect.extra.items():
        if want is ABSENT:
            if key in extra:
                differ(f"extra.{key}", "(absent)", extra[key])
        elif extra.get(key) != want:
            differ(f"extra.{key}", want, extra.get(key))
    if expect.legs is not None:
        legs = extra.get("legs") or []
        if len(legs) != len(expect.legs):
            differ("extra.legs", list(expect.legs), legs)
        else:
            for i, (want_leg, leg) in enumerate(zip(expect.legs, legs)):
                for name, want in want_leg.items():
                    if leg.get(name) != want:
                        differ(f"extra.legs[{i}].{name}", want, leg.get(name))
    return out
