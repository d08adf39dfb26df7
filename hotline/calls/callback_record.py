"""The record of a callback try (issue #3). Pure functions.

A callback try is a conversation of its own that does not start on a trunk:

* **queue callback**: a placeholder (a Local channel pair) waits in the queue in the caller's
  place; the seat that answers it is bridged with its ``;2`` half, and the ``;1`` half dials the
  citizen through the trunk (``HOTLINE_CALLBACK_DIAL``) and reports ``HOTLINE_CALLBACK_RESULT``;
* **abandoned call taken by a seat**: the controller originates the seat's phone; when it
  answers, it dials the citizen the same way.

Every channel of a try carries the accountcode ``cb-<original call id>`` (set by the dialplan),
which links the try to the original call: ``extra.callback_of``. The record: ``caller_number``
and ``dialled_number`` are the citizen's number, ``answered_at`` is when the citizen answered,
``outcome`` ``answered`` (connected) or ``failed``; ``queued_at`` stays empty, so a callback is
never counted as an offered inbound call in the KPIs.
"""

from __future__ import annotations

from datetime import datetime, timezone

from hotline.spine import marks
from hotline.spine.marks import callback_of
from hotline.spine.numbers import dialled_digits
from hotline.spine.plan import TRUNK_PREFIX, endpoint_of

from .cel import CelEvent
from hotline.records.call import CallRecord, Outcome

from .model import HANGUP_CAUSES, Directory


def _at(t: float | None) -> datetime | None:
    return datetime.fromtimestamp(t, tz=timezone.utc) if t is not None else None


def _secs(s: float | None) -> float | None:
    return None if s is None else round(max(s, 0.0), 3)


def callback_parent(events: list[CelEvent]) -> str | None:
    """The original conversation a callback try belongs to, or None (not a callback try)."""
    for e in events:
        parent = callback_of(e.accountcode) if e.accountcode else None
        if parent is not None:
            return parent
    for e in events:
        if e.name in (marks.CALLBACK_DIAL.name, marks.CALLBACK_HOLD.name):
            first = marks.BY_NAME[e.name].of(e).call_id.strip()
            parent = callback_of("cb-" + first) if first else None
            if parent is not None:
                return parent
    return None


def assemble_callback(evs: list[CelEvent], directory: Directory, source: str = "live") -> CallRecord | None:
    """The record of one callback try (events sorted, one Linkedid), or None when the
    conversation is not a callback try."""
    parent = callback_parent(evs)
    if parent is None or not evs:
        return None
    linkedid = evs[0].linkedid
    hold = marks.CALLBACK_HOLD.first(evs)
    dial = marks.CALLBACK_DIAL.first(evs)
    result = marks.CALLBACK_RESULT.first(evs)
    number, kind, queue = "", "", None
    if dial is not None:
        dialling = marks.CALLBACK_DIAL.of(dial)
        number, kind = dialling.number.strip(), dialling.kind.strip()
    if hold is not None:
        queue = marks.CALLBACK_HOLD.of(hold).queue.strip() or None
        kind = kind or "queue_callback"
    trunk_legs = {e.uniqueid: e for e in evs
                  if e.name == "CHAN_START" and endpoint_of(e.channel, remote_seats=False) in directory.trunks}
    if not number and trunk_legs:
        first = next(iter(trunk_legs.values()))
        number = first.exten or first.dnid
    trunk_uid = next(iter(trunk_legs), None)
    trunk_ep = endpoint_of(trunk_legs[trunk_uid].channel, remote_seats=False) if trunk_uid else None
    answered = next((e for e in evs if e.name == "ANSWER" and e.uniqueid in trunk_legs), None)
    seat_answer = next((e for e in evs
                        if e.name == "ANSWER" and endpoint_of(e.channel, remote_seats=False) in directory.seats), None)
    seat = endpoint_of(seat_answer.channel, remote_seats=False) if seat_answer else None
    trunk_hangup = next((e for e in evs if e.name == "HANGUP" and e.uniqueid in trunk_legs), None)
    end = trunk_hangup if answered is not None and trunk_hangup is not None else \
        next((e for e in reversed(evs) if e.name in ("HANGUP", "CHAN_END", "LINKEDID_END")), evs[-1])
    cause = None
    if trunk_hangup is not None:
        try:
            cause = int(trunk_hangup.extra.get("hangupcause"))  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            cause = None
    status = marks.CALLBACK_RESULT.of(result).status.strip().upper() if result else ""
    if answered is not None:
        status = "ANSWER"
    extra: dict[str, object] = {"callback_of": parent, "direction": "callback",
                                "callback_kind": kind or "abandoned",
                                "callback_result": status.lower() if status else
                                ("seat_missed" if dial is None else "unknown")}
    if hold is not None and seat_answer is not None:
        extra["callback_wait_seconds"] = _secs(seat_answer.time - hold.time)
    return CallRecord(
        call_id=linkedid,
        dialled_number=dialled_digits(number) if number else "",
        caller_number=dialled_digits(number) if number else "anonymous",
        arrived_at=evs[0].at,
        trunk=trunk_ep.removeprefix(TRUNK_PREFIX) if trunk_ep else None,
        queue=queue,
        seat=seat,
        answered_at=_at(answered.time if answered else None),
        ended_at=_at(end.time),
        talk_seconds=_secs(end.time - answered.time) if answered else None,
        outcome=Outcome.answered if answered is not None else Outcome.failed,
        hangup_cause=cause,
        hangup_cause_text=HANGUP_CAUSES.get(cause) if cause is not None else None,
        recording=None,
        source=source,
        extra=extra,
    )
