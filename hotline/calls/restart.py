"""Conversations cut by an Asterisk restart: detected, and closed with their own outcome.

When Asterisk dies (kill -9, a crash, the machine), the calls in progress never get their
``LINKEDID_END``: without this they would get no record and stay "live" for hours. Two
signs of a new Asterisk process, used by the live tracker and the reconciler alike:

* the process start time (the mtime of the pid file Asterisk writes as it starts, on this
  host's clock like CEL's event times): a conversation whose last event is older was cut;
* the CEL log itself: a uniqueid is ``<creation time>.<sequence>`` and the sequence restarts
  at 0 with each process (:class:`EpochWatch`), so a channel created well after one with a
  sequence at least as high belongs to a new process.

A cut conversation is assembled as if it ended when Asterisk went down (:func:`cut_record`):
answered stays answered, talking until then; a caller still queued is ``abandoned_in_queue``;
``extra.cut_by`` says why (``asterisk_restart``) and ``extra.cut_end`` how the end was found:
``ami_lost``, the controller's AMI connection dropped then (:mod:`hotline.calls.downtime`: the
death itself); else ``last_logged``, the last event the old process wrote to the CEL log (it was
alive, and the call up, until then; the controller was not connected to see more).
"""

from __future__ import annotations

from hotline.spine.ids import parse as parse_call_id

from .assemble import assemble
from .cel import CelEvent
from hotline.records.call import CallRecord

from .model import Directory

CUT_BY_RESTART = "asterisk_restart"
END_AMI_LOST, END_LAST_LOGGED = "ami_lost", "last_logged"
EPOCH_GAP_S = 1.0   # channels created this close together may log their CHAN_START out of order


def sequence(uniqueid: str) -> int:
    """Asterisk's channel counter in ``uniqueid`` (-1 when it is not a call id)."""
    parsed = parse_call_id(uniqueid)
    return parsed.seq if parsed is not None else -1


class EpochWatch:
    """Feed every CEL event in log order; :meth:`see` is True at the first channel of a new process."""

    def __init__(self) -> None:
        self.max_seq = -1
        self.max_time = 0.0

    def see(self, event: CelEvent) -> bool:
        if event.name != "CHAN_START":
            return False
        seq = sequence(event.uniqueid)
        if seq < 0:
            return False
        restarted = 0 <= seq <= self.max_seq and event.time > self.max_time + EPOCH_GAP_S
        if restarted or seq > self.max_seq:
            self.max_seq, self.max_time = seq, event.time
        return restarted


def cut_record(events: list[CelEvent], directory: Directory, source: str, reason: str = CUT_BY_RESTART,
               *, lost_at: float | None = None, last_logged: float | None = None) -> CallRecord | None:
    """The record of a conversation that never ended because Asterisk went away: closed when the
    controller lost Asterisk (``lost_at``), else at the old process's last event in the CEL log
    (``last_logged``), never before its own last event. None when it is not a trunk call (like
    :func:`assemble`)."""
    if not events:
        return None
    last = max(events, key=lambda e: e.time)
    how, at = (END_AMI_LOST, lost_at) if lost_at is not None else (END_LAST_LOGGED, last_logged)
    at = max(last.time, at if at is not None else last.time)
    lid = events[0].linkedid
    # the conversation's end (the caller's leg has no HANGUP: its talk runs to this)
    end = CelEvent(name="LINKEDID_END", time=at, channel=last.channel, uniqueid=lid, linkedid=lid)
    record = assemble([*events, end], directory, source=source)
    if record is not None:
        record.extra["cut_by"] = reason
        record.extra["cut_end"] = how
    return record


def last_before(events: list[CelEvent], before: float) -> float | None:
    """The newest event time under ``before`` (the old process's last event in the log)."""
    return max((e.time for e in events if e.time < before), default=None)
