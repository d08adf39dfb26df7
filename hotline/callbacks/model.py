"""Callback tasks as data, and their state machine. Pure functions, table-tested.

A task is one request to call a citizen back:

* ``queue_callback``: the caller pressed the queue's callback key (or a queue's max-wait
  fallback offered a callback, ``HOTLINE_CALLBACK_REQUEST`` with another reason); a placeholder
  keeps their place in the queue and the seat that answers it is connected to the caller;
* ``abandoned``: a supervisor asked for a callback of an abandoned call; a seat takes it.

Statuses and what moves them (``advance``)::

    requested --dial--------> dialling --answered--> connected
        |                        |--try_failed--> requested (tries left) | failed (none left)
        |                        '--seat_missed-> requested (no try used: the citizen was not dialled)
        |--answered / try_failed (the dialling step was not seen live, e.g. rebuilt from the log)
        '--cancel--> cancelled
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Any

from hotline.privacy import mask_number  # noqa: F401  (re-exported: callbacks mask numbers in their views)
from hotline.spine.ids import CALL_ID_PLAIN


class Kind(str, Enum):
    queue_callback = "queue_callback"
    abandoned = "abandoned"


class Status(str, Enum):
    requested = "requested"
    dialling = "dialling"
    connected = "connected"
    failed = "failed"
    cancelled = "cancelled"


OPEN = frozenset({Status.requested, Status.dialling})
CLOSED = frozenset({Status.connected, Status.failed, Status.cancelled})


class Step(str, Enum):
    dial = "dial"                  # a seat answered: the citizen's number is being dialled
    answered = "answered"          # the citizen answered: connected with the seat
    try_failed = "try_failed"      # the citizen did not answer (busy, no answer, congestion ...)
    seat_missed = "seat_missed"    # the seat did not answer its own ring: nobody dialled the citizen
    cancel = "cancel"


class InvalidTransition(ValueError):
    def __init__(self, status: Status, step: Step) -> None:
        super().__init__(f"a {status.value} callback task cannot take step {step.value}")
        self.status, self.step = status, step


@dataclass(frozen=True)
class TaskState:
    status: Status
    attempts: int        # tries that dialled the citizen
    max_attempts: int


def advance(state: TaskState, step: Step) -> TaskState:
    """The state after ``step``; raises :class:`InvalidTransition` when it makes no sense."""
    s = state.status
    if s in CLOSED:
        raise InvalidTransition(s, step)
    if step is Step.dial:
        if s is not Status.requested:
            raise InvalidTransition(s, step)
        return replace(state, status=Status.dialling)
    if step is Step.answered:
        return replace(state, status=Status.connected, attempts=state.attempts + 1)
    if step is Step.try_failed:
        attempts = state.attempts + 1
        return replace(state, attempts=attempts,
                       status=Status.failed if attempts >= state.max_attempts else Status.requested)
    if step is Step.seat_missed:
        return replace(state, status=Status.requested)
    if step is Step.cancel:
        return replace(state, status=Status.cancelled)
    raise InvalidTransition(s, step)  # pragma: no cover - every Step is handled above


@dataclass(frozen=True)
class CallbackTask:
    id: int
    kind: Kind
    call_id: str                 # the original conversation (Linkedid)
    number: str                  # the citizen's number, dialled through the trunk
    queue: str | None
    status: Status
    attempts: int
    max_attempts: int
    seat: str | None
    created_at: datetime
    updated_at: datetime
    last_result: str | None = None
    callback_call_id: str | None = None   # the conversation of the latest try

    @property
    def state(self) -> TaskState:
        return TaskState(self.status, self.attempts, self.max_attempts)

    def to_dict(self, *, full: bool = True) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind.value, "call_id": self.call_id,
                "number": self.number if full else mask_number(self.number), "queue": self.queue,
                "status": self.status.value, "attempts": self.attempts, "max_attempts": self.max_attempts,
                "seat": self.seat, "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.isoformat(), "last_result": self.last_result,
                "callback_call_id": self.callback_call_id}


# --- numbers --------------------------------------------------------------------------------

DIALABLE = re.compile(r"^[0-9]{5,20}$")
"""A caller number the platform calls back: digits only, 5 to 20 (no anonymous, no short codes)."""


def dialable(number: str | None) -> bool:
    return bool(number) and DIALABLE.fullmatch(number or "") is not None


# --- CEL payloads ------------------------------------------------------------------------------

REQUEST_EVENT = "HOTLINE_CALLBACK_REQUEST"   # number|queue|reason, on the caller's leg
DIAL_EVENT = "HOTLINE_CALLBACK_DIAL"         # call_id|number|kind: a seat answered, dialling the citizen
RESULT_EVENT = "HOTLINE_CALLBACK_RESULT"     # DIALSTATUS of the dial to the citizen
PLACEHOLDER_EVENT = "HOTLINE_CALLBACK_HOLD"  # call_id|queue|position: a placeholder joined the queue
ACCOUNT_PREFIX = "cb-"
_ACCOUNT = re.compile(rf"^cb-(?P<call>{CALL_ID_PLAIN})$")
_QUEUE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_REASON = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Request:
    number: str
    queue: str | None
    reason: str


def parse_request(payload: str) -> Request | None:
    """``number|queue|reason`` of HOTLINE_CALLBACK_REQUEST; None when the number is not dialable."""
    parts = (payload.split("|") + ["", "", ""])[:3]
    number, queue, reason = (p.strip() for p in parts)
    if not dialable(number):
        return None
    return Request(number, queue if _QUEUE.fullmatch(queue) else None,
                   reason.lower() if _REASON.fullmatch(reason.lower()) else "other")


def callback_account(call_id: str) -> str:
    """The accountcode of every channel of a callback try of conversation ``call_id``."""
    account = ACCOUNT_PREFIX + call_id
    if not _ACCOUNT.fullmatch(account):
        raise ValueError(f"not a conversation id: {call_id!r}")
    return account


def callback_of(accountcode: str) -> str | None:
    m = _ACCOUNT.fullmatch(accountcode) if accountcode.startswith(ACCOUNT_PREFIX) else None
    return m.group("call") if m else None


def step_for_result(dialstatus: str) -> Step:
    """The step a finished try takes, from Dial's DIALSTATUS towards the citizen."""
    return Step.answered if dialstatus.strip().upper() == "ANSWER" else Step.try_failed
