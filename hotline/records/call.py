"""The call record: one per conversation (Asterisk Linkedid) that entered through a trunk."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any


class Outcome(str, Enum):
    answered = "answered"                              # a seat answered
    abandoned_in_queue = "abandoned_in_queue"          # caller hung up while queued
    abandoned_before_queue = "abandoned_before_queue"  # caller hung up before joining a queue
    failed = "failed"                                  # the platform could not connect the call
    # A withdrawn number (after its transition, notice_then_end): the platform played the
    # withdrawal notice and ended the call as configured. Not offered to a queue, not an abandon.
    ended_after_notice = "ended_after_notice"
    # The queue's fallback (issue #3): the caller left a voice message (a work order is filed for
    # it), or asked to be called back (HOTLINE_CALLBACK_REQUEST). Offered, not answered.
    voice_message = "voice_message"
    # Queue callback (issue #3): the caller pressed the callback key (or took a max-wait fallback's
    # offer) and hung up keeping their place; not an abandon. The callback is a record of its own
    # with ``extra.callback_of`` = this call's id.
    callback_requested = "callback_requested"


@dataclass
class CallRecord:
    """Everything the work-order store keeps about one conversation.

    ``call_id`` is the Asterisk Linkedid of the conversation; every write is an
    upsert on it, so replaying events never duplicates a record.
    Times are timezone-aware UTC datetimes; seconds are floats rounded to ms.

    ``extra`` holds what only some calls have (issue #4): ``seat_talk_seconds`` (the answering seat's
    own talk when it left a transfer or three-way call before the caller, :mod:`hotline.calls.seat_talk`:
    a seat's AHT counts it; absent, the seat's talk is ``talk_seconds``), ``prompt`` (the notice the caller
    heard, e.g. ``merged-notice``), ``answered_by`` (``department`` when a parallel number's
    department answered it: seat and queue are then None), ``overflow`` (why a parallel number's
    call went to the 12345 seats: ``noanswer``, ``busy``, ``closed``, ``congestion``,
    ``chanunavail``), plus ``hangup_source`` and ``queue_status``.
    """

    call_id: str
    dialled_number: str
    caller_number: str
    arrived_at: datetime
    legacy_mode: str | None = None        # None for the hotline number itself
    department: str | None = None         # department id of a legacy number
    origin: str | None = None             # where the call was handed over from: "110" (diverted), else None
    trunk: str | None = None
    queue: str | None = None
    seat: str | None = None
    queued_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    wait_seconds: float | None = None
    talk_seconds: float | None = None
    outcome: Outcome = Outcome.failed
    hangup_cause: int | None = None
    hangup_cause_text: str | None = None
    recording: str | None = None          # file name, derived from call_id only
    source: str = "live"                  # "live" (the CEL log followed live) or "cel-reconcile"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["outcome"] = self.outcome.value
        for k, v in list(out.items()):
            if isinstance(v, datetime):
                out[k] = v.isoformat()
        return out
