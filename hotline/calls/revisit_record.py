"""The record of a 回访 try (issue 12). Pure functions.

The controller originates the caller's number on the trunk (``PJSIP/<number>@trunk-<name>``)
with the accountcode ``rv-<task>-<try>-<number>`` (:func:`hotline.spine.marks.revisit_account`);
when they answer, their channel runs the survey (``hotline-revisit``: ``HOTLINE_REVISIT``, one
``HOTLINE_REVISIT_KEY`` per round, ``HOTLINE_REVISIT_SEAT`` when 0 sends them to a seat). The
conversation starts on a trunk channel like an inbound call; its accountcode tells them apart.

The record: ``caller_number`` and ``dialled_number`` are the number dialled, ``answered_at`` when
the caller answered, ``outcome`` ``answered`` or ``failed`` (not answered), ``queue``/``seat``
when 0 reached a seat; ``queued_at`` stays empty, so a 回访 is never counted as an offered
inbound call. ``extra.direction`` is ``revisit`` and ``extra.revisit`` holds the task, the try,
the order, the keys pressed per round and the try's ``result`` (:data:`hotline.revisits.model.RESULTS`):
``rated`` (with ``rating``), ``to_seat``, ``no_rating``, or not answered: ``busy`` (cause 17),
``no_answer`` (no answer in the ring time, cancelled, or no cause), ``failed`` (any other cause:
unallocated number, congestion, rejected...).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from hotline.records.call import CallRecord, Outcome
from hotline.spine import marks
from hotline.spine.marks import RevisitTry, revisit_of
from hotline.spine.plan import TRUNK_PREFIX, endpoint_of

from .cel import CelEvent
from .model import HANGUP_CAUSES, Directory
from .outbound_try import hangup_cause, tried, unanswered

RATINGS = {"1": "satisfied", "2": "basically_satisfied", "3": "unsatisfied"}
_ORDER = re.compile(r"WO-?([0-9]{8})-?([0-9]{1,12})")


def order_id(raw: str) -> str:
    """The order id the survey mark names (the dialplan's FILTER drops its dashes), or ""."""
    m = _ORDER.fullmatch(raw.strip())
    return f"WO-{m.group(1)}-{m.group(2)}" if m else ""


def revisit_try(events: list[CelEvent]) -> RevisitTry | None:
    """The 回访 try a conversation is, or None (not a 回访 call)."""
    return tried(events, revisit_of)


def _result(answered: bool, keys: list[str], to_seat: bool, cause: int | None) -> tuple[str, str | None]:
    """(result, rating) of a try."""
    if not answered:
        return unanswered(cause), None
    if to_seat:
        return "to_seat", None
    last = keys[-1] if keys else ""
    return ("rated", RATINGS[last]) if last in RATINGS else ("no_rating", None)


def assemble_revisit(evs: list[CelEvent], directory: Directory, source: str = "live") -> CallRecord | None:
    """The record of one 回访 try (events sorted, one Linkedid), or None when it is not one."""
    found = revisit_try(evs)
    if found is None or not evs:
        return None
    linkedid = evs[0].linkedid
    first = [e for e in evs if e.uniqueid == linkedid]
    start = next((e for e in first if e.name == "CHAN_START"), evs[0])
    trunk_ep = endpoint_of(start.channel, remote_seats=False)
    answered = next((e for e in first if e.name == "ANSWER"), None)
    survey = marks.REVISIT.first(evs)
    if answered is None and survey is not None:
        answered = survey
    keys = [marks.REVISIT_KEY.of(e).key.strip()[:1] for e in evs if e.name == marks.REVISIT_KEY.name]
    seat_mark = marks.REVISIT_SEAT.first(evs)
    seat_answer = next((e for e in evs if e.name == "ANSWER" and e.uniqueid != linkedid
                        and endpoint_of(e.channel, remote_seats=False) in directory.seats), None)
    hangup = next((e for e in first if e.name == "HANGUP"), None)
    end = hangup or next((e for e in reversed(evs) if e.name in ("CHAN_END", "LINKEDID_END")), evs[-1])
    cause = hangup_cause(hangup)
    result, rating = _result(answered is not None, keys, seat_mark is not None, cause)
    order = order_id(marks.REVISIT.of(survey).order) if survey is not None else ""
    info: dict[str, object] = {"task": found.task, "try": found.attempt, "result": result, "keys": keys}
    if rating is not None:
        info["rating"] = rating
    if order:
        info["order"] = order
    queue = marks.REVISIT_SEAT.of(seat_mark).target.strip() or None if seat_mark is not None else None
    seat = endpoint_of(seat_answer.channel, remote_seats=False) if seat_answer is not None else None
    return CallRecord(
        call_id=linkedid,
        dialled_number=found.number,
        caller_number=found.number,
        arrived_at=start.at,
        trunk=trunk_ep.removeprefix(TRUNK_PREFIX) if trunk_ep and trunk_ep in directory.trunks else None,
        queue=queue,
        seat=seat,
        answered_at=_at(answered.time) if answered is not None else None,
        ended_at=_at(end.time),
        talk_seconds=round(max(end.time - answered.time, 0.0), 3) if answered is not None else None,
        outcome=Outcome.answered if answered is not None else Outcome.failed,
        hangup_cause=cause,
        hangup_cause_text=HANGUP_CAUSES.get(cause) if cause is not None else None,
        recording=None,
        source=source,
        extra={"direction": "revisit", "revisit": info},
    )


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)
