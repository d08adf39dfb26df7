"""Build one call record from the CEL events of one conversation. Pure functions.

A conversation (Asterisk Linkedid) becomes a record when its first leg, the one
whose Uniqueid equals the Linkedid, was created on a carrier trunk endpoint
(``PJSIP/trunk-<name>-…``). The dialplan marks the milestones with user-defined
CEL events: ``HOTLINE_ARRIVAL`` (dialled number|mode|department|origin),
``HOTLINE_QUEUE`` (queue joined) and ``HOTLINE_QUEUE_EXIT`` (the queue gave up).

Legacy numbers (issue #4) add: ``HOTLINE_PROMPT`` (a notice is played: its name),
``HOTLINE_WITHDRAWN`` (the call ends after the withdrawal notice), ``HOTLINE_DEPT_DIAL``
(a parallel number rings its department) and ``HOTLINE_OVERFLOW`` (the department did
not answer: the reason; the call goes on to the 12345 queue).

Issue #8 adds ``HOTLINE_ROUTING_FALLBACK`` (the bounded routing step went on without
FastAGI: ``timeout``, ``failure``, ``hangup``…), kept as ``extra.routing_fallback``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

from hotline.spine import marks
from hotline.spine.numbers import recorded_number
from hotline.spine.plan import NOT_LEGACY_MODES, TRUNK_PREFIX, endpoint_of

from .callback_record import assemble_callback
from .duty_probe_record import assemble_duty_probe
from .revisit_record import assemble_revisit
from .cel import CelEvent
from .legs import call_legs
from .seat_talk import seat_talk
from hotline.records.call import CallRecord, Outcome

from .model import HANGUP_CAUSES, Directory

_TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")   # prompt names, overflow reasons, origins

def _text(value: object) -> str:
    """An event-extra value as text: extras are decoded JSON, so any type can arrive."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(max(seconds, 0.0), 3)


def is_complete(events: Iterable[CelEvent]) -> bool:
    return any(e.name == "LINKEDID_END" for e in events)


def assemble(events: list[CelEvent], directory: Directory, source: str = "live") -> CallRecord | None:
    """The record for one conversation, or ``None`` when it did not enter through a trunk.

    ``events`` may arrive in any order and with duplicates (a replayed event is harmless).
    """
    if not events:
        return None
    unique = {(e.name, e.time, e.uniqueid, e.channel): e for e in events}
    evs = sorted(unique.values(), key=lambda e: (e.time, e.uniqueid))
    linkedid = evs[0].linkedid
    evs = [e for e in evs if e.linkedid == linkedid]
    caller_leg = [e for e in evs if e.uniqueid == linkedid]
    start = next((e for e in caller_leg if e.name == "CHAN_START"), None)
    if start is None:
        return None
    revisit = assemble_revisit(evs, directory, source) or assemble_duty_probe(evs, directory, source)  # issue 12
    trunk = endpoint_of(start.channel)
    if revisit is not None or trunk not in directory.trunks:
        # A callback try (issue #3) starts on a Local channel or a seat's phone, not on a trunk.
        return revisit or assemble_callback(evs, directory, source)
    arrived = _arrival(start, caller_leg)
    queue = _queue_path(caller_leg)
    queued = queue.first_join
    callback = marks.CALLBACK_REQUEST.first(caller_leg)
    answered_at, seat = _seat_answer(evs, caller_leg, directory)
    parallel = _parallel(evs, caller_leg, linkedid)
    if answered_at is None and parallel.answered_at is not None:   # the department answered its number
        answered_at = parallel.answered_at
    end = _end(evs, caller_leg)
    notice = _notice(caller_leg)
    extra: dict[str, object] = {}
    outcome = _outcome(answered_at is not None, queue, callback, notice,
                       end.source == start.channel or end.cause in (16, 31), extra)
    if end.source:
        extra["hangup_source"] = "caller" if end.source == start.channel else (
            "seat" if endpoint_of(end.source) in directory.seats else "other")
    # Legacy numbers (issue #4): the notice heard, who answered a parallel number, why it overflowed.
    if notice.prompt:
        extra["prompt"] = notice.prompt
    if seat is None and parallel.answered_at is not None:
        extra["answered_by"] = "department"
    if parallel.overflow:
        extra["overflow"] = parallel.overflow
    routing = marks.ROUTING_FALLBACK.first(caller_leg)
    if routing is not None:   # issue #8: FastAGI did not answer in time; the call went on without it
        extra["routing_fallback"] = _tag(marks.ROUTING_FALLBACK.of(routing).reason) or "other"
    extra.update(queue.extra)   # issue #3: priority and its reason, fallbacks taken
    extra.update(call_legs(linkedid, events, directory))  # call control: transfers, three-way calls

    ended_at = end.at
    wait = None
    if queued is not None:
        left = callback.time if callback is not None and answered_at is None else ended_at
        wait = (answered_at if answered_at is not None else left or queued.time) - queued.time
    talk = (ended_at - answered_at) if (answered_at is not None and ended_at is not None) else None

    return CallRecord(
        call_id=linkedid,
        dialled_number=recorded_number(arrived.dialled) if arrived.dialled else "",
        caller_number=recorded_number(arrived.caller),
        arrived_at=start.at,
        legacy_mode=arrived.mode,
        department=arrived.department,
        origin=arrived.origin,
        trunk=trunk.removeprefix(TRUNK_PREFIX) if trunk else None,
        queue=queue.last_queue,
        seat=seat,
        queued_at=queued.at if queued else None,
        answered_at=_at(answered_at),
        ended_at=_at(ended_at),
        wait_seconds=_round(wait),
        talk_seconds=_round(talk),
        outcome=outcome,
        hangup_cause=end.cause,
        hangup_cause_text=HANGUP_CAUSES.get(end.cause) if end.cause is not None else None,
        recording=f"{linkedid}.wav" if answered_at is not None else (
            f"{linkedid}-message.wav" if outcome == Outcome.voice_message else None),
        source=source,
        extra={**extra, **seat_talk(evs, seat, answered_at, end.at, "legs" in extra)},   # a seat's AHT: its own talk
    )


def _outcome(answered: bool, queue: _QueuePath, callback: CelEvent | None, notice: _Notice,
             caller_hung_up: bool, extra: dict[str, object]) -> Outcome:
    """The record's outcome (what it adds to ``extra`` on the way: the callback asked for, the
    status of a queue that gave the caller back)."""
    if answered:
        return Outcome.answered
    if queue.voice_message:
        return Outcome.voice_message
    if callback is not None:
        request = marks.parse_request(marks.CALLBACK_REQUEST.of(callback))
        extra["callback"] = {"requested_at": callback.at.isoformat(),
                             "reason": request.reason if request else "other",
                             "queue": request.queue if request else None}
        return Outcome.callback_requested
    if queue.first_join is not None:
        if queue.gave_up is not None:
            extra["queue_status"] = queue.gave_up
            return Outcome.failed
        return Outcome.abandoned_in_queue
    if notice.withdrawn:
        return Outcome.ended_after_notice
    return Outcome.abandoned_before_queue if caller_hung_up else Outcome.failed


@dataclass(frozen=True)
class _Arrival:
    dialled: str
    caller: str
    mode: str | None          # a legacy number's mode, else None
    department: str | None
    origin: str | None


def _arrival(start: CelEvent, caller_leg: list[CelEvent]) -> _Arrival:
    """What HOTLINE_ARRIVAL says of the call (dialled number|mode|department|origin); without it,
    the first event's extension and caller."""
    arrival = marks.ARRIVAL.first(caller_leg)
    if arrival is None:
        return _Arrival(start.exten, start.caller_num, None, None, None)
    arrived = marks.ARRIVAL.of(arrival)
    mode = arrived.mode or None
    return _Arrival(dialled=arrived.dialled or start.exten, caller=arrival.caller_num or start.caller_num,
                    mode=None if mode in NOT_LEGACY_MODES else mode, department=arrived.department or None,
                    origin=_tag(arrived.origin))   # "110" for calls 110 diverted to 12345; before issue #4: absent


def _seat_answer(evs: list[CelEvent], caller_leg: list[CelEvent],
                 directory: Directory) -> tuple[float | None, str | None]:
    """When a seat answered and which: the caller's leg entered a bridge with a seat's leg."""
    for e in caller_leg:
        if e.name == "BRIDGE_ENTER":
            peer = endpoint_of(e.peer) if e.peer else None
            if peer in directory.seats:
                return e.time, peer
    seat_legs = {e.uniqueid for e in evs if e.name == "CHAN_START" and endpoint_of(e.channel) in directory.seats}
    seat_enter = next((e for e in evs if e.name == "BRIDGE_ENTER" and e.uniqueid in seat_legs), None)
    caller_enter = next((e for e in caller_leg if e.name == "BRIDGE_ENTER"), None)
    if seat_enter is not None and caller_enter is not None:
        return max(seat_enter.time, caller_enter.time), endpoint_of(seat_enter.channel)
    return None, None


@dataclass(frozen=True)
class _End:
    at: float | None       # when the caller's leg ended
    cause: int | None      # its hang-up cause (Q.850)
    source: str            # the channel that hung up, or ""


def _end(evs: list[CelEvent], caller_leg: list[CelEvent]) -> _End:
    hangup = next((e for e in caller_leg if e.name == "HANGUP"), None)
    end_event = hangup or next((e for e in caller_leg if e.name == "CHAN_END"), None) \
        or next((e for e in evs if e.name == "LINKEDID_END"), None)
    raw = hangup.extra.get("hangupcause") if hangup else None
    try:
        cause = int(raw) if raw is not None else None
    except (TypeError, ValueError, OverflowError):
        cause = None
    return _End(end_event.time if end_event else None, cause,
                _text(hangup.extra.get("hangupsource")) if hangup else "")


def _at(t: float | None) -> datetime | None:
    return datetime.fromtimestamp(t, tz=timezone.utc) if t is not None else None


def _tag(raw: object) -> str | None:
    """A short ascii tag the dialplan wrote (prompt name, overflow reason, origin), or None."""
    text = _text(raw).strip().lower()
    return text if _TAG.match(text) else None


@dataclass(frozen=True)
class _Notice:
    prompt: str | None   # the name of the notice played to the caller
    withdrawn: bool      # the call ended after the withdrawal notice (notice_then_end)


def _notice(caller_leg: list[CelEvent]) -> _Notice:
    played = marks.PROMPT_PLAYED.first(caller_leg)
    prompt = None
    if played is not None:
        prompt = _tag(marks.PROMPT_PLAYED.of(played).prompt) or "unknown"
    return _Notice(prompt, marks.WITHDRAWN.first(caller_leg) is not None)


@dataclass(frozen=True)
class _Parallel:
    answered_at: float | None   # when the department answered its own number
    overflow: str | None        # why the call went on to the 12345 seats


def _parallel(evs: list[CelEvent], caller_leg: list[CelEvent], linkedid: str) -> _Parallel:
    """A parallel number: the dialplan rang the department (HOTLINE_DEPT_DIAL), then either the
    department answered (the caller's leg entered the Dial bridge, no HOTLINE_OVERFLOW) or the
    call overflowed to the queue (HOTLINE_OVERFLOW, the reason in its extra)."""
    overflow = marks.OVERFLOW.first(caller_leg)
    if overflow is not None:
        return _Parallel(None, _tag(marks.OVERFLOW.of(overflow).reason) or "other")
    dialled = marks.DEPT_DIAL.first(caller_leg)
    if dialled is None:
        return _Parallel(None, None)
    caller_enter = next((e for e in caller_leg if e.name == "BRIDGE_ENTER" and e.time >= dialled.time), None)
    if caller_enter is None:
        return _Parallel(None, None)   # the caller gave up while the department's phone rang
    other_enter = next((e for e in evs if e.name == "BRIDGE_ENTER" and e.uniqueid != linkedid
                        and e.time >= dialled.time), None)
    answered = caller_enter.time if other_enter is None else max(caller_enter.time, other_enter.time)
    return _Parallel(answered, None)


@dataclass(frozen=True)
class _QueuePath:
    """The caller's way through the queues (issue #3)."""

    first_join: CelEvent | None      # HOTLINE_QUEUE: when the call was first offered to a queue
    last_queue: str | None           # the queue the caller was in last (a fallback queue, say)
    gave_up: str | None              # QUEUESTATUS when a queue gave the caller back with nothing after
    voice_message: bool              # HOTLINE_VOICE_MESSAGE: the caller was recording a message
    extra: dict[str, object]


def _queue_path(caller_leg: list[CelEvent]) -> _QueuePath:
    """Joins (HOTLINE_QUEUE), exits (HOTLINE_QUEUE_EXIT: QUEUESTATUS), fallbacks (HOTLINE_FALLBACK:
    action|reason|queue|fallback queue) in the caller leg's order. A queue exit counts as the
    platform giving up only when nothing followed it (no fallback, no new join)."""
    joins = [(i, e) for i, e in enumerate(caller_leg) if e.name == marks.QUEUE_JOIN.name]
    exits = [(i, e) for i, e in enumerate(caller_leg) if e.name == marks.QUEUE_EXIT.name]
    fallbacks = [(i, e) for i, e in enumerate(caller_leg) if e.name == marks.FALLBACK.name]
    extra: dict[str, object] = {}
    last_queue = None
    if joins:
        first = marks.QUEUE_JOIN.of(joins[0][1])
        last_queue = _tag_queue(marks.QUEUE_JOIN.of(joins[-1][1]).queue)
        priority = first.priority.strip()
        if priority.isdigit() and int(priority) > 0:
            extra["priority"] = int(priority)
            reason = _tag(first.priority_reason)
            if reason:
                extra["priority_reason"] = reason
    # a seat that lost its phone mid-call sent the caller back to the queue (hotline.seats.browser_loss)
    requeued = [marks.REQUEUED.of(e).seat.strip() for e in caller_leg if e.name == marks.REQUEUED.name]
    if requeued:
        extra["requeued_from"] = [s for s in requeued if s.isdigit() and len(s) <= 8]
    gave_up = None
    if exits:
        last_exit_at, last_exit = exits[-1]
        later = [i for i, _ in joins + fallbacks if i > last_exit_at]
        if not later:
            gave_up = marks.QUEUE_EXIT.of(last_exit).status
    if fallbacks:
        fb = marks.FALLBACK.of(fallbacks[0][1])
        action, reason = _tag(fb.action) or "unknown", _tag(fb.reason) or "unknown"
        extra["fallback"] = {"action": action, "reason": reason, "queue": _tag_queue(fb.queue)}
        if action == "queue":
            extra["fallback"]["to"] = _tag_queue(fb.to)   # type: ignore[index]
    return _QueuePath(
        first_join=joins[0][1] if joins else None,
        last_queue=last_queue,
        gave_up=gave_up,
        voice_message=marks.VOICE_MESSAGE.first(caller_leg) is not None,
        extra=extra,
    )


_QUEUE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def _tag_queue(raw: str) -> str | None:
    text = raw.strip()
    return text if _QUEUE_NAME.match(text) else None
