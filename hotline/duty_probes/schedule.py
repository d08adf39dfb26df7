"""When duty-phone probes are placed: the windows, the drawn times, the cap, lost tries. Pure.

Each site-time day, every window (``duty_probes.windows``: office 09:00-17:00, night 20:00-07:00,
one crossing midnight belongs to the day it starts) gets ``probes`` probes of each unit that has a
duty phone, at times drawn uniformly inside the window by the service's random generator (seeded
in tests). A window planned while it is already open draws from now to its end; one that is over
is not planned. The probes of a unit rotate over its duty phones (day, window, slot). Planning
is idempotent: a (unit, day, window, slot) is created once, so drawn times never move.

:func:`to_dial` names the due pending probes to dial now: at most ``max_concurrent`` tries in
progress at once, never two of one unit at once, the longest-waiting first. A try started inside
its window finishes its tries even past the window's end. :func:`lost` names tries whose record
never came (after ``ring + LOST_AFTER``).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from hotline.config.site import Department, ProbeWindow, Unit
from hotline.duty_probes.model import Probe, Status

LOST_AFTER = dt.timedelta(minutes=3)
"""How long after its ring time a try (the notice is ~10 s) may take to end before it counts as lost."""


@dataclass(frozen=True)
class Phone:
    """A duty phone of a unit as configured, and the config field that names it."""

    number: str
    field: str


@dataclass(frozen=True)
class Planned:
    unit_id: str
    window: str
    day: dt.date
    slot: int
    phone: Phone
    due_at: dt.datetime


def phones_of(index: int, unit: Unit, departments: Sequence[Department]) -> list[Phone]:
    """The duty phones of ``orders.units[index]``: its own ``duty_phones``, then its department's
    ``duty_phone`` (once)."""
    out = [Phone(p, f"orders.units.{index}.duty_phones.{j}") for j, p in enumerate(unit.duty_phones)]
    for i, d in enumerate(departments):
        if unit.department is not None and d.id == unit.department and d.duty_phone \
                and d.duty_phone not in unit.duty_phones:
            out.append(Phone(d.duty_phone, f"departments.{i}.duty_phone"))
    return out


def span(day: dt.date, window: ProbeWindow, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The window of ``day`` as aware datetimes (site time); its end is on the next day when it
    crosses midnight."""
    start = dt.datetime.combine(day, window.start, tzinfo=tz)
    end_day = day if window.end > window.start else day + dt.timedelta(days=1)
    return start, dt.datetime.combine(end_day, window.end, tzinfo=tz)


def open_windows(now: dt.datetime, windows: Sequence[ProbeWindow], tz: ZoneInfo) -> list[tuple[dt.date, ProbeWindow]]:
    """The (day, window) pairs not over yet at ``now``: yesterday's (a night window still open) and
    today's."""
    today = now.astimezone(tz).date()
    out = []
    for day in (today - dt.timedelta(days=1), today):
        for w in windows:
            if span(day, w, tz)[1] > now:
                out.append((day, w))
    return out


def plan(units: Iterable[tuple[str, Sequence[Phone]]], day: dt.date, window: ProbeWindow, position: int,
         tz: ZoneInfo, now: dt.datetime, rng: random.Random) -> list[Planned]:
    """The probes of ``window`` (the ``position``-th of the config) on ``day``: ``window.probes``
    per unit with phones, at drawn whole seconds in [max(start, now), end), earliest slot first."""
    start, end = span(day, window, tz)
    start = max(start, now)
    seconds = int((end - start).total_seconds())
    if seconds <= 0:
        return []
    out: list[Planned] = []
    for unit_id, phones in units:
        if not phones:
            continue
        times = sorted(rng.randrange(seconds) for _ in range(window.probes))
        for slot, offset in enumerate(times):
            phone = phones[(day.toordinal() + position + slot) % len(phones)]
            due = (start + dt.timedelta(seconds=offset)).astimezone(dt.UTC).replace(microsecond=0)
            out.append(Planned(unit_id, window.name, day, slot, phone, due))
    return out


def to_dial(probes: Sequence[Probe], now: dt.datetime, *, max_concurrent: int) -> list[Probe]:
    """The pending probes to dial now, in order (the cap; one try per unit at a time)."""
    dialling = [p for p in probes if p.status is Status.dialling]
    busy_units = {p.unit_id for p in dialling}
    free = max(max_concurrent - len(dialling), 0)
    due = sorted((p for p in probes if p.status is Status.pending and (p.next_at or p.due_at) <= now),
                 key=lambda p: (p.next_at or p.due_at, p.id))
    out: list[Probe] = []
    for p in due:
        if len(out) >= free:
            break
        if p.unit_id not in busy_units:
            out.append(p)
            busy_units.add(p.unit_id)
    return out


def lost(probes: Sequence[Probe], now: dt.datetime, ring: dt.timedelta) -> list[Probe]:
    """Tries in progress for longer than ``ring + LOST_AFTER``."""
    return [p for p in probes if p.status is Status.dialling and p.dialled_at is not None
            and now - p.dialled_at > ring + LOST_AFTER]


def month_span(year: int, month: int, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The local month as [start, end) in UTC."""
    start = dt.datetime(year, month, 1, tzinfo=tz)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)
