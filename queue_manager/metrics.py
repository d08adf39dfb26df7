"""Hotline KPIs from call records: pure functions, no I/O.

Definitions (also in the README, "Metrics"):

* **offered**: calls that asked for a seat, i.e. reached a queue (``queued_at`` set).
  A call that ended before the queue (e.g. during a withdrawal notice) was not offered.
* **short abandon**: an offered call abandoned in the queue within ``short_abandon_s``
  seconds (default 5): a misdial or an instant change of mind, excluded from the
  denominator as hotline assessment practice does (短时放弃).
* **base** = offered − short abandons.
* **answer rate (接通率)** = answered / base.
* **15-second answer rate** (GB/T 33358-2016) = answered with wait ≤ 15 s / base.
* **abandon rate** = (abandoned in queue − short abandons) / base.
* **ASA** (average speed of answer) = mean wait of answered calls.
* **AHT** (average handle time) = mean(talk + wrap-up) of answered calls. Per seat
  (``own_talk``), the seat's own talk: ``extra["seat_talk_seconds"]`` when the seat left a transfer or a
  three-way call before the caller, else the call's talk.
  Both are summed in whole milliseconds (:class:`Tally`) and the mean rounded to the ms exactly.
* **staffed time** of a seat: time logged in and not paused (idle, ringing, talking, wrap-up),
  from the seat state log.
* **occupancy** = handle time (talking + wrap-up) / staffed time, per seat and over all seats.

A rate with an empty base is ``None`` (not 0, not 100%): no calls, no claim.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, tzinfo
from typing import Any, Callable, Iterable, Protocol

SERVICE_LEVEL_S = 15.0
SHORT_ABANDON_S = 5.0
ANSWER_RATE_ALARM = 0.95


class RecordLike(Protocol):
    """What the KPIs read of a call record (read-only: a CallRecord or any object with these fields)."""

    @property
    def arrived_at(self) -> datetime: ...
    @property
    def queued_at(self) -> datetime | None: ...
    @property
    def outcome(self) -> object: ...
    @property
    def wait_seconds(self) -> float | None: ...
    @property
    def talk_seconds(self) -> float | None: ...
    @property
    def queue(self) -> str | None: ...
    @property
    def seat(self) -> str | None: ...
    @property
    def dialled_number(self) -> str: ...


@dataclass(frozen=True)
class Kpis:
    offered: int
    answered: int
    answered_in_sl: int
    abandoned: int
    short_abandons: int
    answer_rate: float | None
    answer_rate_15s: float | None
    abandon_rate: float | None
    asa_seconds: float | None
    aht_seconds: float | None

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _outcome(r: RecordLike) -> str:
    o = r.outcome
    return str(getattr(o, "value", o))


def _ratio(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def ms(seconds: float | None) -> int:
    """Seconds as whole milliseconds (records keep seconds rounded to the ms): the unit every sum
    is kept in, so a sum is exact and the same whatever the order or the place it is taken."""
    return round((seconds or 0.0) * 1000)


def mean_ms(total_ms: int, n: int) -> float | None:
    """The mean of ``n`` values summing to ``total_ms`` ms, in seconds rounded to the ms (half to even,
    exactly: no float noise decides a tie)."""
    if not n:
        return None
    q, r = divmod(total_ms, n)
    if 2 * r > n or (2 * r == n and q % 2):
        q += 1
    return q / 1000


@dataclass
class Tally:
    """The additive part of the KPIs: counts and ms sums. Tallies of disjoint record sets add up to
    the tally of their union, so a rollup of tallies gives exactly the KPIs of its records."""

    calls: int = 0            # records, offered or not (a group exists when it has one)
    offered: int = 0
    answered: int = 0
    answered_in_sl: int = 0
    abandoned: int = 0
    short_abandons: int = 0
    wait_ms: int = 0          # over answered calls
    handle_ms: int = 0        # talk + wrap-up over answered calls

    def add(self, other: "Tally", sign: int = 1) -> None:
        for name in TALLY_FIELDS:
            setattr(self, name, getattr(self, name) + sign * getattr(other, name))

    def kpis(self) -> Kpis:
        base = self.offered - self.short_abandons
        return Kpis(offered=self.offered, answered=self.answered, answered_in_sl=self.answered_in_sl,
                    abandoned=self.abandoned, short_abandons=self.short_abandons,
                    answer_rate=_ratio(self.answered, base), answer_rate_15s=_ratio(self.answered_in_sl, base),
                    abandon_rate=_ratio(self.abandoned - self.short_abandons, base),
                    asa_seconds=mean_ms(self.wait_ms, self.answered),
                    aht_seconds=mean_ms(self.handle_ms, self.answered))


TALLY_FIELDS = tuple(f.name for f in fields(Tally))


def talk_of(r: RecordLike, own_talk: bool = False) -> float | None:
    """The talk a handle time counts: the call's, or with ``own_talk`` the answering seat's own
    (``extra["seat_talk_seconds"]``, set when the seat left a transfer or three-way call before the caller)."""
    own = (getattr(r, "extra", None) or {}).get("seat_talk_seconds") if own_talk else None
    return r.talk_seconds if own is None else float(own)


def tally_of(r: RecordLike, *, service_level_s: float = SERVICE_LEVEL_S, short_abandon_s: float = SHORT_ABANDON_S,
             wrapup_ms: int = 0, own_talk: bool = False) -> Tally:
    """One record's tally (``wrapup_ms``: the wrap-up its handle time includes when answered;
    ``own_talk``: the seat's own talk, for a seat's KPIs)."""
    t = Tally(calls=1)
    if r.queued_at is None:
        return t
    t.offered = 1
    outcome = _outcome(r)
    wait = r.wait_seconds or 0.0
    if outcome == "answered":
        t.answered = 1
        t.wait_ms = ms(wait)
        t.answered_in_sl = int(wait <= service_level_s)
        t.handle_ms = ms(talk_of(r, own_talk)) + wrapup_ms
    elif outcome == "abandoned_in_queue":
        t.abandoned = 1
        t.short_abandons = int(wait < short_abandon_s)
    return t


def tally(records: Iterable[RecordLike], *, service_level_s: float = SERVICE_LEVEL_S,
          short_abandon_s: float = SHORT_ABANDON_S, wrapup_s: Callable[[RecordLike], float] | None = None,
          own_talk: bool = False) -> Tally:
    total = Tally()
    for r in records:
        total.add(tally_of(r, service_level_s=service_level_s, short_abandon_s=short_abandon_s,
                           wrapup_ms=ms(wrapup_s(r)) if wrapup_s else 0, own_talk=own_talk))
    return total


def kpis(records: Iterable[RecordLike], *, service_level_s: float = SERVICE_LEVEL_S,
         short_abandon_s: float = SHORT_ABANDON_S, wrapup_s: Callable[[RecordLike], float] | None = None,
         own_talk: bool = False) -> Kpis:
    return tally(records, service_level_s=service_level_s, short_abandon_s=short_abandon_s,
                 wrapup_s=wrapup_s, own_talk=own_talk).kpis()


INTERVALS = {"15min": timedelta(minutes=15), "hour": timedelta(hours=1), "day": timedelta(days=1)}


def interval_start(at: datetime, interval: str, tz: tzinfo | None = None) -> datetime:
    """The start of the interval holding ``at``; days start at local midnight of ``tz``."""
    local = at.astimezone(tz) if tz else at
    if interval == "day":
        return local.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    if interval == "15min":
        return local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
    raise ValueError(f"interval must be one of {sorted(INTERVALS)}, not {interval!r}")


GROUPS: dict[str, Callable[[RecordLike], str | None]] = {
    "queue": lambda r: r.queue,
    "seat": lambda r: r.seat,
    "dialled_number": lambda r: r.dialled_number,
}


def grouped(records: Iterable[RecordLike], by: str, *, interval: str | None = None, tz: tzinfo | None = None,
            **options: Any) -> dict[tuple[str | None, str | None], Kpis]:
    """KPIs per group (``queue``, ``seat``, ``dialled_number`` or ``all``) and per interval; by seat,
    AHT counts each seat's own talk (:func:`talk_of`)."""
    key_of = GROUPS.get(by) if by != "all" else (lambda r: None)
    if key_of is None:
        raise ValueError(f"group by must be one of {sorted(GROUPS) + ['all']}, not {by!r}")
    buckets: dict[tuple[str | None, str | None], list[RecordLike]] = defaultdict(list)
    for r in records:
        when = interval_start(r.arrived_at, interval, tz).isoformat() if interval else None
        buckets[(key_of(r), when)].append(r)
    options.setdefault("own_talk", by == "seat")
    return {k: kpis(v, **options) for k, v in sorted(buckets.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1])))}


def rolling_alarm(records: Iterable[RecordLike], now: datetime, *, window: timedelta = timedelta(hours=24),
                  threshold: float = ANSWER_RATE_ALARM, **options: Any) -> dict[str, object]:
    """GB/T 33358: at least 95% answered over any 24 h. The alarm is raised below ``threshold``."""
    start = now - window
    k = kpis([r for r in records if start <= r.arrived_at <= now], **options)
    return alarm_of(k, start, now, threshold)


def alarm_of(k: Kpis, start: datetime, now: datetime, threshold: float = ANSWER_RATE_ALARM) -> dict[str, object]:
    """The rolling alarm's report from the KPIs of the records that arrived in [start, now]."""
    return {"window_start": start.isoformat(), "window_end": now.isoformat(), "answer_rate": k.answer_rate,
            "threshold": threshold, "alarm": k.answer_rate is not None and k.answer_rate < threshold,
            "offered": k.offered, "answered": k.answered}


STAFFED_STATES = frozenset({"idle", "ringing", "talking", "wrapup"})
HANDLE_STATES = frozenset({"talking", "wrapup"})


def seat_times(changes: Iterable[tuple[str, str, datetime]], start: datetime, end: datetime
               ) -> dict[str, dict[str, float]]:
    """Seconds each seat spent in each state within [start, end), from its state changes
    ``(seat_id, state, at)`` (a state lasts until the seat's next change; a change before
    ``start`` gives the state the window opens with; the last state runs to ``end``)."""
    by_seat: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for seat, state, at in changes:
        by_seat[seat].append((at, state))
    out: dict[str, dict[str, float]] = {}
    for seat, rows in by_seat.items():
        rows.sort(key=lambda r: r[0])
        totals: dict[str, float] = defaultdict(float)
        for (at, state), nxt in zip(rows, [*rows[1:], (end, "")]):
            lo, hi = max(at, start), min(nxt[0], end)
            if hi > lo:
                totals[state] += (hi - lo).total_seconds()
        out[seat] = dict(totals)
    return out


def occupancy(times: dict[str, dict[str, float]]) -> dict[str, dict[str, float | None]]:
    """Per seat and ``"all"``: staffed seconds, handle seconds, occupancy (None when never staffed)."""
    out: dict[str, dict[str, float | None]] = {}
    total_staffed = total_handle = 0.0
    for seat, states in sorted(times.items()):
        staffed = sum(v for k, v in states.items() if k in STAFFED_STATES)
        handle = sum(v for k, v in states.items() if k in HANDLE_STATES)
        total_staffed += staffed
        total_handle += handle
        out[seat] = {"staffed_seconds": round(staffed, 3), "handle_seconds": round(handle, 3),
                     "occupancy": _ratio_f(handle, staffed)}
    out["all"] = {"staffed_seconds": round(total_staffed, 3), "handle_seconds": round(total_handle, 3),
                  "occupancy": _ratio_f(total_handle, total_staffed)}
    return out


def _ratio_f(n: float, d: float) -> float | None:
    return round(n / d, 4) if d > 0 else None
