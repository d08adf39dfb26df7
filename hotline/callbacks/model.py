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

from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Any

from hotline.privacy import mask_number  # noqa: F401  (re-exported: callbacks mask numbers in their views)
from hotline.spine import marks
from hotline.spine.marks import (  # noqa: F401  (re-exported: the callback marks' meaning lives in the spine)
    CALLBACK_ACCOUNT_PREFIX as ACCOUNT_PREFIX,
    Request,
    callback_account,
    callback_of,
)
from hotline.spine.numbers import DIALABLE, dialable  # noqa: F401  (re-exported)


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


# --- CEL payloads: the callback marks (hotline.spine.marks) -----------------------------------


def parse_request(payload: str) -> Request | None:
    """``number|queue|reason`` of HOTLINE_CALLBACK_REQUEST; None when the number is not dialable."""
    return marks.parse_request(marks.CALLBACK_REQUEST.read(payload))


def step_for_result(dialstatus: str) -> Step:
    """The step a finished try takes, from Dial's DIALSTATUS towards the citizen."""
    return Step.answered if dialstatus.strip().upper() == "ANSWER" else Step.try_failed
