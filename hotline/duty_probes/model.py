"""Duty-phone probes as data, and what a try's result does to one. Pure, table-tested.

A probe is one dial test of one unit's duty phone at one drawn time of one window of one day
(``duty_probes.windows``). Statuses::

    pending --dial--> dialling --answered (the notice played)--------------> answered
       ^                 |--no answer / busy / failed / lost, tries left---> pending (next_at = now + spacing)
       |                 '--no answer / busy / failed / lost, the last try-> unreachable (one 不通 event)
       '--postpone (the unit's number is in a call with 12345): next_at = now + postpone
    pending --not placed (Asterisk could not be asked): the try is not counted---> pending
    created as skipped: number_not_allowed (the outbound rule refuses the duty phone; audited)

An ``unreachable`` probe is the seeds' 不通 event ("间隔拨打3次，若无人接听，视为电话不通…每记录一次扣1分"):
its ``ended_at`` is when the last failure was recorded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from hotline.privacy import mask_number


class Status(str, Enum):
    pending = "pending"          # waiting for its time (next_at), a free line or the unit's number to be free
    dialling = "dialling"        # a try is in progress
    answered = "answered"        # a try was answered: the duty phone is manned
    unreachable = "unreachable"  # every try failed: one 不通 event
    skipped = "skipped"          # never dialled (skip_reason)


OPEN = frozenset({Status.pending, Status.dialling})
SKIP_REASONS = ("number_not_allowed",)
FAILED = ("no_answer", "busy", "failed", "lost")
RESULTS = ("answered", *FAILED)
"""A try's result: ``answered``, or a failure (``lost``: no record of the try arrived in time)."""


class InvalidStep(ValueError):
    def __init__(self, status: Status, step: str) -> None:
        super().__init__(f"a {status.value} duty-phone probe cannot take {step}")
        self.status, self.step = status, step


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class Probe:
    id: int
    unit_id: str
    window: str                  # duty_probes.windows[].name
    day: dt.date                 # the site-time day the window starts on
    slot: int                    # which of the window's probes of that unit (0..probes-1)
    number: str | None           # the digits dialled (the outbound rule's form); None when skipped for it
    status: Status
    attempts: int                # tries placed
    max_attempts: int
    due_at: dt.datetime          # the drawn time of its first try
    next_at: dt.datetime | None  # when the next try may be placed (pending)
    created_at: dt.datetime
    updated_at: dt.datetime
    skip_reason: str | None = None
    last_result: str | None = None
    dialled_at: dt.datetime | None = None   # the current try's start (dialling)
    ended_at: dt.datetime | None = None     # answered, or the 不通 event recorded
    postponed: int = 0                      # times put off because the unit's number was in a call
    tries: tuple[dict[str, Any], ...] = field(default_factory=tuple)   # each: call_id, attempt, result, at

    def to_dict(self, *, full: bool = True) -> dict[str, Any]:
        number = self.number if full or self.number is None else mask_number(self.number)
        return {"id": self.id, "unit": self.unit_id, "window": self.window, "day": self.day.isoformat(),
                "slot": self.slot, "number": number, "status": self.status.value, "skip_reason": self.skip_reason,
                "attempts": self.attempts, "max_attempts": self.max_attempts, "due_at": _iso(self.due_at),
                "next_at": _iso(self.next_at), "ended_at": _iso(self.ended_at), "last_result": self.last_result,
                "postponed": self.postponed, "tries": [dict(t) for t in self.tries]}


@dataclass(frozen=True)
class TryResult:
    """What the record of one try says (:mod:`hotline.calls.duty_probe_record`)."""

    call_id: str
    attempt: int
    result: str                  # one of RESULTS


def dial(probe: Probe, now: dt.datetime) -> Probe:
    """A try is placed."""
    if probe.status is not Status.pending:
        raise InvalidStep(probe.status, "dial")
    return replace(probe, status=Status.dialling, attempts=probe.attempts + 1, dialled_at=now, next_at=None,
                   updated_at=now)


def unplaced(probe: Probe, now: dt.datetime, retry: dt.timedelta) -> Probe:
    """The try just dialled could not be placed (Asterisk not reachable): not counted against
    the unit; the probe waits ``retry`` and tries again."""
    if probe.status is not Status.dialling:
        raise InvalidStep(probe.status, "an unplaced try")
    return replace(probe, status=Status.pending, attempts=probe.attempts - 1, dialled_at=None, next_at=now + retry,
                   updated_at=now)


def postpone(probe: Probe, now: dt.datetime, delay: dt.timedelta) -> Probe:
    """The unit's number is in a call with 12345: the probe waits ``delay`` (never rings a busy duty
    phone, never counts that as a failure)."""
    if probe.status is not Status.pending:
        raise InvalidStep(probe.status, "a postponement")
    return replace(probe, next_at=now + delay, postponed=probe.postponed + 1, updated_at=now)


def is_current(probe: Probe, result: TryResult) -> bool:
    """Whether ``result`` is the try the probe waits for (not a replay of an earlier one)."""
    return probe.status is Status.dialling and result.attempt == probe.attempts and \
        all(t.get("call_id") != result.call_id for t in probe.tries)


def finish(probe: Probe, result: TryResult, now: dt.datetime, spacing: dt.timedelta) -> Probe:
    """The probe after its current try ended with ``result``; raises :class:`InvalidStep` when the
    try is not the current one (a replayed record changes nothing)."""
    if not is_current(probe, result):
        raise InvalidStep(probe.status, f"try {result.attempt} ({result.call_id}): not the current one")
    if result.result not in RESULTS:
        raise ValueError(f"not a try result: {result.result!r}")
    entry = {"call_id": result.call_id, "attempt": result.attempt, "result": result.result, "at": now.isoformat()}
    base = replace(probe, tries=(*probe.tries, entry), last_result=result.result, dialled_at=None, updated_at=now)
    if result.result == "answered":
        return replace(base, status=Status.answered, ended_at=now)
    if probe.attempts >= probe.max_attempts:
        return replace(base, status=Status.unreachable, ended_at=now)
    return replace(base, status=Status.pending, next_at=now + spacing)
