"""Conversations cut by an Asterisk restart: detected, and closed with their own outcome.

When Asterisk dies (kill -9, a crash, the machine), the calls in progress never get their
``LINKEDID_END``: without this they would get no record and stay "live" for hours. Two
signs of a new Asterisk process, used by the live tracker and the reconciler alike:

* the process start time (the mtime of the pid file Asterisk writes as it starts, on this
  host's clock like CEL's event times): a conversation whose last event is older was cut;
* the CEL log itself: a uniqueid is ``<creation time>.<sequence>`` and the sequence restarts
  at 0 with each process (:class:`EpochWatch`), so a channel created well after one with a
  sequence at least as high belongs to a new process.

A cut conversation is assembled as if it ended at its last event seen (:func:`cut_record`):
answered stays answered, talking until then; a caller still queued is ``abandoned_in_queue``;
``extra.cut_by`` says why (``asterisk_restart``).
"""

from __future__ import annotations

from hotline.spine.ids import parse as parse_call_id

from .assemble import assemble
from .cel import CelEvent
from hotline.records.call import CallRecord

from .model import Directory

CUT_BY_RESTART = "asterisk_restart"
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


def cut_record(events: list[CelEvent], directory: Directory, source: str,
               reason: str = CUT_BY_RESTART) -> CallRecord | None:
    """The record of a conversation that never ended because Asterisk went away: closed at its
    last event seen. None when it is not a trunk call (like :func:`assemble`)."""
    if not events:
        return None
    last = max(events, key=lambda e: e.time)
    lid = events[0].linkedid
    end = CelEvent(name="LINKEDID_END", time=last.time, channel=last.channel, uniqueid=lid, linkedid=lid)
    record = assemble([*events, end], directory, source=source)
    if record is not None:
        record.extra["cut_by"] = reason
    return record
