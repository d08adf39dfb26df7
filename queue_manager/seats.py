"""The seat (agent) state machine: pure, no I/O.

States::

    logged_out ──login──▶ idle ──ring──▶ ringing ──answer──▶ talking ──hangup──▶ wrapup ──done──▶ idle
        ▲                  │  ▲             │                                       │
        └──────logout──────┘  └──no_answer──┘ (N unanswered rings in a row: paused, reason 未接)
                     idle/wrapup ──pause(reason)──▶ paused ──unpause──▶ idle

A command that does not fit the current state raises :class:`SeatStateError` with a
stable id and leaves the state unchanged (the function returns a new state object).
Events coming from Asterisk (ring, answer, hangup, no_answer) are facts, not requests:
they are applied from any state they can occur in, so the machine follows reality.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum

AUTO_PAUSE_REASON = "no-answer"


class SeatState(str, Enum):
    logged_out = "logged_out"
    idle = "idle"
    ringing = "ringing"
    talking = "talking"
    wrapup = "wrapup"
    paused = "paused"


class SeatStateError(Exception):
    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id
        self.message = message


@dataclass(frozen=True)
class Seat:
    seat_id: str
    state: SeatState = SeatState.logged_out
    since: float = 0.0                 # epoch seconds the state began
    reason: str | None = None          # pause reason code
    unanswered: int = 0                # rings not answered in a row
    call_id: str | None = None         # the conversation while ringing/talking/wrapup

    def as_dict(self) -> dict[str, object]:
        return {"seat_id": self.seat_id, "state": self.state.value, "since": self.since, "reason": self.reason,
                "unanswered": self.unanswered, "call_id": self.call_id}


@dataclass(frozen=True)
class Policy:
    pause_reasons: frozenset[str]      # configured reason codes (小休, 培训, 整理, …)
    auto_pause_after: int = 3          # unanswered rings in a row; 0 disables


def _to(seat: Seat, state: SeatState, now: float, **changes: object) -> Seat:
    return replace(seat, state=state, since=now, **changes)  # type: ignore[arg-type]


# --- commands (from the seat, a supervisor or a feature code) --------------------------------

def login(seat: Seat, now: float) -> Seat:
    if seat.state != SeatState.logged_out:
        raise SeatStateError("seat-already-logged-in", f"seat {seat.seat_id} is already logged in")
    return _to(seat, SeatState.idle, now, reason=None, unanswered=0, call_id=None)


def logout(seat: Seat, now: float) -> Seat:
    if seat.state == SeatState.logged_out:
        raise SeatStateError("seat-not-logged-in", f"seat {seat.seat_id} is not logged in")
    if seat.state in (SeatState.ringing, SeatState.talking):
        raise SeatStateError("seat-busy", f"seat {seat.seat_id} is on a call; log out after it")
    return _to(seat, SeatState.logged_out, now, reason=None, unanswered=0, call_id=None)


def pause(seat: Seat, reason: str, policy: Policy, now: float) -> Seat:
    if reason not in policy.pause_reasons:
        raise SeatStateError("unknown-pause-reason",
                             f"pause reason {reason!r} is not configured (configured: {sorted(policy.pause_reasons)})")
    if seat.state == SeatState.logged_out:
        raise SeatStateError("seat-not-logged-in", f"seat {seat.seat_id} is not logged in")
    if seat.state == SeatState.paused:
        return replace(seat, reason=reason)
    # Pausing during a call takes effect for the next call: Asterisk stops offering calls now.
    return _to(seat, SeatState.paused, now, reason=reason,
               call_id=seat.call_id if seat.state in (SeatState.ringing, SeatState.talking) else None)


def unpause(seat: Seat, now: float, rest_until: float = 0.0, in_call: SeatState | None = None) -> Seat:
    """Back to the call the seat is still on (``in_call``: ringing or talking; a pause during a
    call holds for the next one), else to wrap-up when the last call's rest is not over
    (``rest_until``, see :func:`wrapup_until`: Asterisk offers no call before then, paused or
    not), else to idle."""
    if seat.state != SeatState.paused:
        raise SeatStateError("seat-not-paused", f"seat {seat.seat_id} is not paused")
    if in_call is not None and seat.call_id is not None:
        return _to(seat, in_call, now, reason=None)
    return _to(seat, SeatState.wrapup if rest_until > now else SeatState.idle, now, reason=None, unanswered=0,
               call_id=None)


# --- facts from Asterisk -------------------------------------------------------------------

def ring(seat: Seat, call_id: str, now: float) -> Seat:
    return _to(seat, SeatState.ringing, now, call_id=call_id)


def answer(seat: Seat, call_id: str, now: float) -> Seat:
    return _to(seat, SeatState.talking, now, call_id=call_id, unanswered=0, reason=None)


def hangup(seat: Seat, now: float, wrapup_s: float) -> Seat:
    if seat.state == SeatState.paused:
        return replace(seat, call_id=None)
    if wrapup_s > 0:
        return _to(seat, SeatState.wrapup, now)
    return _to(seat, SeatState.idle, now, call_id=None)


def asterisk_wrapuptime(wrapup_s: int) -> int:
    """queues.conf's ``wrapuptime`` for a queue whose seats must rest ``wrapup_s`` seconds.

    app_queue counts wrap-up in whole seconds from ``lastcall``, the second the call ended
    (``time(NULL)``, truncated): with ``wrapuptime=W`` a seat is offered the next call as soon as
    the clock's second is W past that second, which can be W-1 s after the call really ended
    (measured in bench/seat_truth.py: offers 1.2-1.9 s into a 2 s wrap-up). One second more makes
    the rest last at least ``wrapup_s`` and at most ``wrapup_s + 1``."""
    return wrapup_s + 1 if wrapup_s > 0 else 0


def wrapup_until(ended_at: float, wrapup_s: int) -> float:
    """When Asterisk offers the seat calls again after a call that ended at ``ended_at`` (the
    ``AgentComplete``'s time): ``lastcall`` (its whole second) plus :func:`asterisk_wrapuptime`."""
    return float(math.floor(ended_at) + asterisk_wrapuptime(wrapup_s)) if wrapup_s > 0 else ended_at


def wrapup_done(seat: Seat, now: float) -> Seat:
    if seat.state != SeatState.wrapup:
        return seat
    return _to(seat, SeatState.idle, now, call_id=None)


def no_answer(seat: Seat, policy: Policy, now: float) -> tuple[Seat, bool]:
    """A ring the seat did not answer. Returns (seat, auto_paused)."""
    count = seat.unanswered + 1
    if policy.auto_pause_after and count >= policy.auto_pause_after:
        return _to(seat, SeatState.paused, now, reason=AUTO_PAUSE_REASON, unanswered=count, call_id=None), True
    state = SeatState.idle if seat.state == SeatState.ringing else seat.state
    return replace(seat, state=state, since=now if state != seat.state else seat.since, unanswered=count,
                   call_id=None), False
