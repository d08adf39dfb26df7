"""回访 tasks as data, and what a try's result does to one. Pure, table-tested.

A task is one 回访 of one order's verification (``verify``: the centre checked the unit's reply
and the order waits for the caller's rating). Statuses::

    pending --dial--> dialling --answered, rated 1/2/3------------> rated (the order evaluated)
       ^                 |--answered, pressed 0-------------------> with_seat (a seat rates it)
       |                 |--answered, no valid key twice----------> no_rating
       '--(tries left)---'--no answer / busy / failed / lost------> failed (K tries: given up)
    pending --a seat claims it--> claimed (the dialler leaves it alone) --released--> pending
    pending / claimed / dialling / with_seat / no_rating / failed --a seat rates it by hand--> rated
    created as skipped: no_revisit, confidential, refused, number_not_allowed, no_number (never dialled)
    pending / claimed --the order marked no_revisit (不需回访) meanwhile--> skipped (no_revisit)
    pending / claimed / dialling --the order left ``verified`` meanwhile----> superseded
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from hotline.privacy import mask_number


class Status(str, Enum):
    pending = "pending"        # waiting for its time (next_at), the quiet hours or a free line
    dialling = "dialling"      # a try is in progress
    with_seat = "with_seat"    # the caller pressed 0: a seat talks to them and records the rating
    claimed = "claimed"        # a seat took it by hand (``seat``): never dialled while claimed
    rated = "rated"            # the rating went to the order (evaluate: 满意/基本满意 close, 不满意 reopens)
    no_rating = "no_rating"    # answered, but no valid key (0-3) after being asked twice
    failed = "failed"          # every try unanswered, busy or failed: given up
    skipped = "skipped"        # never dialled (skip_reason)
    superseded = "superseded"  # the order was evaluated (or sent back) by other means first


OPEN = frozenset({Status.pending, Status.dialling, Status.with_seat, Status.claimed})
CLOSED = frozenset(Status) - OPEN

SKIP_REASONS = ("no_revisit", "confidential", "refused", "number_not_allowed", "no_number")
RESULTS = ("rated", "to_seat", "no_rating", "no_answer", "busy", "failed", "lost")
"""A try's result: answered (rated, to_seat, no_rating) or not (the others; ``lost``: no record
of the try arrived in time, e.g. Asterisk refused the Originate)."""

RATING_KEYS = {"1": "satisfied", "2": "basically_satisfied", "3": "unsatisfied"}
SEAT_KEY = "0"


class InvalidStep(ValueError):
    def __init__(self, status: Status, step: str) -> None:
        super().__init__(f"a {status.value} 回访 task cannot take {step}")
        self.status, self.step = status, step


@dataclass(frozen=True)
class Task:
    id: int
    work_order_id: str
    verify_event_id: int        # the verification it follows (a reopened order is verified again)
    number: str | None          # the digits dialled (the rule's form), None when skipped for it
    status: Status
    attempts: int               # tries placed
    max_attempts: int
    next_at: dt.datetime | None  # when the next try may be placed (pending)
    created_at: dt.datetime
    updated_at: dt.datetime
    skip_reason: str | None = None
    last_result: str | None = None
    rating: str | None = None
    keys: str = ""               # the keys pressed on the latest answered try
    seat: str | None = None      # who claimed it (claimed), who rated it by hand (rated)
    dialled_at: dt.datetime | None = None   # the current try's start (dialling)
    tries: tuple[dict[str, Any], ...] = field(default_factory=tuple)   # each try: call id, result, keys, at

    def to_dict(self, *, full: bool = True) -> dict[str, Any]:
        def iso(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value is not None else None
        number = self.number if full or self.number is None else mask_number(self.number)
        return {"id": self.id, "work_order_id": self.work_order_id, "verify_event_id": self.verify_event_id,
                "number": number, "status": self.status.value, "skip_reason": self.skip_reason,
                "attempts": self.attempts, "max_attempts": self.max_attempts, "next_at": iso(self.next_at),
                "last_result": self.last_result, "rating": self.rating, "keys": self.keys, "seat": self.seat,
                "created_at": iso(self.created_at), "updated_at": iso(self.updated_at),
                "tries": [dict(t) for t in self.tries]}


@dataclass(frozen=True)
class TryResult:
    """What the record of one try says (:func:`hotline.revisits.outcome.result_of`)."""

    call_id: str
    attempt: int
    result: str                  # one of RESULTS
    keys: str = ""
    rating: str | None = None    # RATING_KEYS' value when result is rated


def dial(task: Task, now: dt.datetime) -> Task:
    """A try is placed."""
    if task.status is not Status.pending:
        raise InvalidStep(task.status, "dial")
    return replace(task, status=Status.dialling, attempts=task.attempts + 1, dialled_at=now, next_at=None,
                   updated_at=now)


def finish(task: Task, result: TryResult, now: dt.datetime, spacing: dt.timedelta) -> Task:
    """The task after its current try ended with ``result``; raises :class:`InvalidStep` when the
    try is not the current one (a replayed record changes nothing: check :func:`is_current` first).
    A task a seat rated during the try (the caller pressed 0) only records the try."""
    if not is_current(task, result):
        raise InvalidStep(task.status, f"try result {result.result}")
    entry = {"call_id": result.call_id, "attempt": result.attempt, "result": result.result, "keys": result.keys,
             "at": now.isoformat()}
    base = replace(task, tries=(*task.tries, entry), last_result=result.result, dialled_at=None, updated_at=now)
    if task.status is Status.rated:
        return base
    if result.result == "rated":
        return replace(base, status=Status.rated, rating=result.rating, keys=result.keys)
    if result.result == "to_seat":
        return replace(base, status=Status.with_seat, keys=result.keys)
    if result.result == "no_rating":
        return replace(base, status=Status.no_rating, keys=result.keys)
    if task.attempts >= task.max_attempts:
        return replace(base, status=Status.failed)
    return replace(base, status=Status.pending, next_at=now + spacing)


def is_current(task: Task, result: TryResult) -> bool:
    """Whether ``result`` is the try the task waits for (not a replay of an earlier one)."""
    rated_during = task.status is Status.rated and task.seat is not None and task.dialled_at is not None
    return (task.status is Status.dialling or rated_during) and result.attempt == task.attempts and \
        all(t.get("call_id") != result.call_id for t in task.tries)


def rate_by_hand(task: Task, rating: str, seat: str, now: dt.datetime) -> Task:
    """A seat records the caller's rating (a task it took by hand, or one the caller pressed 0 on:
    during the call too, while the try is still ``dialling``; its record then only adds the try)."""
    if task.status not in (Status.pending, Status.claimed, Status.dialling, Status.with_seat, Status.no_rating,
                           Status.failed):
        raise InvalidStep(task.status, "a rating by hand")
    return replace(task, status=Status.rated, rating=rating, seat=seat, next_at=None, updated_at=now)


def claim(task: Task, seat: str, now: dt.datetime) -> Task:
    """A seat takes a pending task by hand: the dialler leaves it alone until it is released."""
    if task.status is not Status.pending:
        raise InvalidStep(task.status, "a claim")
    return replace(task, status=Status.claimed, seat=seat, updated_at=now)


def release(task: Task, now: dt.datetime) -> Task:
    """A claimed task goes back to the dialler (due at once, or when its spacing ends)."""
    if task.status is not Status.claimed:
        raise InvalidStep(task.status, "a release")
    return replace(task, status=Status.pending, seat=None, updated_at=now)


def skip(task: Task, reason: str, now: dt.datetime) -> Task:
    """A task not yet in a try is never dialled: its order was marked ``no_revisit`` meanwhile."""
    if task.status not in (Status.pending, Status.claimed):
        raise InvalidStep(task.status, f"a skip ({reason})")
    return replace(task, status=Status.skipped, skip_reason=reason, seat=None, next_at=None, updated_at=now)


def supersede(task: Task, now: dt.datetime) -> Task:
    return replace(task, status=Status.superseded, next_at=None, dialled_at=None, updated_at=now)


def renumber(task: Task, number: str, now: dt.datetime) -> Task:
    """A seat gives the number to dial (the caller's other phone): a pending task, or one skipped
    for want of a number the rule allows, dials it from now on."""
    if task.status is Status.pending or (task.status is Status.skipped
                                         and task.skip_reason in ("no_number", "number_not_allowed")):
        return replace(task, number=number, status=Status.pending, skip_reason=None, updated_at=now)
    raise InvalidStep(task.status, "a new number")
