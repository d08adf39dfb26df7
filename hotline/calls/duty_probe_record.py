"""The record of a duty-phone dial test's try (issue 12). Pure functions.

The controller originates the unit's duty phone on the trunk (``PJSIP/<number>@trunk-<name>``)
with the accountcode ``dp-<probe>-<try>-<number>`` (:func:`hotline.spine.marks.duty_probe_account`);
when it answers, its channel hears the notice (``hotline-duty-probe``: ``HOTLINE_DUTY_PROBE``, then
``duty-probe-notice``) and is hung up.

The record: ``caller_number`` and ``dialled_number`` are the number dialled, ``answered_at`` when the
duty phone answered, ``outcome`` ``answered`` or ``failed``; ``queued_at`` stays empty, so a test
call is never counted as an offered inbound call. ``extra.direction`` is ``duty_probe`` and
``extra.duty_probe`` holds the probe, the try and its ``result``: ``answered``, or ``busy`` (cause
17), ``no_answer`` (no answer in the ring time, cancelled, or no cause), ``failed`` (any other
cause: unallocated number, congestion, rejected...), as for 回访 tries.
"""

from __future__ import annotations

from datetime import datetime, timezone

from hotline.records.call import CallRecord, Outcome
from hotline.spine import marks
from hotline.spine.marks import ProbeTry, duty_probe_of
from hotline.spine.plan import TRUNK_PREFIX, endpoint_of

from .cel import CelEvent
from .model import HANGUP_CAUSES, Directory
from .outbound_try import hangup_cause, tried, unanswered


def probe_try(events: list[CelEvent]) -> ProbeTry | None:
    """The duty-phone test try a conversation is, or None."""
    return tried(events, duty_probe_of)


def result_of(answered: bool, cause: int | None) -> str:
    return "answered" if answered else unanswered(cause)


def assemble_duty_probe(evs: list[CelEvent], directory: Directory, source: str = "live") -> CallRecord | None:
    """The record of one test try (events sorted, one Linkedid), or None when it is not one."""
    found = probe_try(evs)
    if found is None or not evs:
        return None
    linkedid = evs[0].linkedid
    first = [e for e in evs if e.uniqueid == linkedid]
    start = next((e for e in first if e.name == "CHAN_START"), evs[0])
    trunk_ep = endpoint_of(start.channel, remote_seats=False)
    answered = next((e for e in first if e.name == "ANSWER"), None) or marks.DUTY_PROBE.first(evs)
    hangup = next((e for e in first if e.name == "HANGUP"), None)
    end = hangup or next((e for e in reversed(evs) if e.name in ("CHAN_END", "LINKEDID_END")), evs[-1])
    cause = hangup_cause(hangup)
    info: dict[str, object] = {"probe": found.probe, "try": found.attempt, "result": result_of(answered is not None,
                                                                                               cause),
                               "notice": marks.DUTY_PROBE.first(evs) is not None}
    return CallRecord(
        call_id=linkedid,
        dialled_number=found.number,
        caller_number=found.number,
        arrived_at=start.at,
        trunk=trunk_ep.removeprefix(TRUNK_PREFIX) if trunk_ep and trunk_ep in directory.trunks else None,
        answered_at=_at(answered.time) if answered is not None else None,
        ended_at=_at(end.time),
        talk_seconds=round(max(end.time - answered.time, 0.0), 3) if answered is not None else None,
        outcome=Outcome.answered if answered is not None else Outcome.failed,
        hangup_cause=cause,
        hangup_cause_text=HANGUP_CAUSES.get(cause) if cause is not None else None,
        recording=None,
        source=source,
        extra={"direction": "duty_probe", "duty_probe": info},
    )


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)
