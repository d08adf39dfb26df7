"""Turning CEL events into stored call records, live and after the fact.

* :class:`CallTracker` collects live CEL events per conversation (Linkedid) and,
  when Asterisk reports ``LINKEDID_END``, assembles the record and submits it.
  A conversation whose start it did not see (the controller was down when it
  began) is handed to the reconciler instead of being stored half-known.
* :class:`Reconciler` reads the cel_custom JSON log from the last offset it
  finished, and assembles every conversation that has ended. It runs at
  start-up (calls made while the controller was down), after every AMI
  re-login (events missed during the gap) and periodically as a safety net.

Both paths submit to the same sink (the durable journal); upserts keyed by the
Linkedid make a record written twice the same record.
"""

from __future__ import annotations

import logging
from collections import deque
import threading
import time
from pathlib import Path
from typing import Callable

from hotline.config.site import SiteConfig
from hotline.spine.plan import endpoint_of

from .assemble import assemble
from .cel import CelEvent
from .cellog import MAX_SPLIT_LINES, read_records  # noqa: F401  (MAX_SPLIT_LINES: public here too)
from .celpos import CelPosition, Segment, open_segments
from .legs import LegBook, parent_of, parse_account
from hotline.records.call import CallRecord

from .model import Directory
from .restart import CUT_BY_RESTART, EpochWatch, cut_record, last_before
from .targets import site_directory

log = logging.getLogger(__name__)

Sink = Callable[[CallRecord], None]
LostAt = Callable[[float, float], "float | None"]   # (a cut call's last event, Asterisk's new start) -> lost at
RECENT_MAX = 100_000
SWEEP_EVERY_S = 60.0


def directory_for(site: SiteConfig) -> Directory:
    """Trunks and seats, and the transfer targets (a :class:`~hotline.calls.targets.SiteDirectory`)."""
    return site_directory(site)


EXPECT_LEG_S = 10.0   # how long an originated leg's CHAN_START is waited for (it carries no accountcode)


class CallTracker:
    """Live conversations, from the CEL log's events (:meth:`add`: the tail hands them over on the
    event loop).
    Not thread-safe: used from the event loop only."""

    def __init__(self, directory: Directory, sink: Sink, on_partial: Callable[[str], None],
                 max_age: float = 6 * 3600, max_conversations: int = 20000) -> None:
        self._directory = directory
        self._sink = sink
        self._on_partial = on_partial
        self._live: dict[str, list[CelEvent]] = {}
        self._seen_at: dict[str, float] = {}
        self._max_age = max_age
        self._max = max_conversations
        self._last_sweep = time.monotonic()
        self.completed = 0
        # Conversations recorded live from an unbroken event stream: the reconciler need not
        # write them again (it would write the same record: it is half the database writes).
        self._recent: set[str] = set()
        self._recent_order: deque[str] = deque()
        # Three-way calls: legs the controller originated live in conversations of their own.
        self._legs = LegBook()
        self._leg_parent: dict[str, str] = {}                  # live leg conversation -> its parent
        self._expected: list[tuple[str, str, float]] = []      # (parent, endpoint, until) of originates
        self._listeners: list[Callable[[CelEvent], None]] = []
        self._epochs = EpochWatch()
        self.cut = 0
        self.lost_at: LostAt | None = None   # when the controller lost Asterisk (hotline.calls.downtime)

    @property
    def live_count(self) -> int:
        return len(self._live)

    def recorded_live(self, call_id: str) -> bool:
        return call_id in self._recent

    def live_calls(self) -> list[dict[str, object]]:
        """Conversations in progress that entered through a trunk, as partial records."""
        out = []
        cutoff = time.monotonic() - self._max_age
        for lid, events in self._live.items():
            if self._seen_at.get(lid, cutoff) < cutoff:  # silent too long: its end was missed
                continue
            if lid in self._leg_parent:  # a leg of another conversation (e.g. 110 through a trunk)
                continue
            rec = assemble(self._with_legs(lid, events), self._directory)
            if rec is not None:
                d = rec.to_dict()
                d["outcome"] = "in_progress"
                out.append(d)
        return out

    def open_conversations(self) -> dict[str, list[CelEvent]]:
        """Conversations in progress whose start was seen, each with its legs' events (what a node
        lost for good leaves for another node to close: :mod:`hotline.calls.node_loss`)."""
        return {lid: self._with_legs(lid, evs) for lid, evs in self._live.items() if lid not in self._leg_parent
                and any(e.name == "CHAN_START" and e.uniqueid == lid for e in evs)}

    def add(self, event: CelEvent) -> None:
        self._add(event)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a listener must never lose a record
                log.exception("CEL listener failed on %s", event.name)

    def _add(self, event: CelEvent) -> None:
        lid = event.linkedid
        if self._epochs.see(event):   # the first channel of a new Asterisk process
            self.cut_before(event.time)
        if event.accountcode or (self._expected and event.name == "CHAN_START"):
            self._note_leg(event)
        if event.name == "LINKEDID_END":
            events = self._live.pop(lid, [])
            self._seen_at.pop(lid, None)
            events.append(event)
            self._finish(lid, events)
            return
        now = time.monotonic()
        self._live.setdefault(lid, []).append(event)
        self._seen_at[lid] = now
        # A conversation whose LINKEDID_END was missed (AMI down at the time) would stay "live"
        # for ever: sweep stale ones regularly, not only when the cap is reached.
        if len(self._live) > self._max or now - self._last_sweep >= min(SWEEP_EVERY_S, self._max_age):
            self._evict(now)

    def _finish(self, lid: str, events: list[CelEvent]) -> None:
        self._leg_parent.pop(lid, None)
        parent = parent_of(events)
        if parent is not None:  # a leg of a three-way call: it belongs on its parent's record
            merged = self._legs.leg_ended(parent, events, parent_live=parent in self._live)
            if merged is not None:  # the parent ended first: its record is written again, with the leg
                record = assemble(merged, self._directory, source="live")
                if record is not None:
                    self._sink(record)
            return
        # with the legs that ended, and as far as they got, those still up (the record is written
        # again when they end: the watchdog hangs them up once the caller has gone)
        events = self._legs.with_legs(lid, events) + [e for leg, parent in self._leg_parent.items()
                                                       if parent == lid for e in self._live.get(leg, [])]
        self._legs.remember(lid, events)
        if not any(e.name == "CHAN_START" and e.uniqueid == lid for e in events):
            # We joined this conversation late: the CEL log has all of it.
            self._on_partial(lid)
            return
        record = assemble(events, self._directory, source="live")
        if record is not None:
            self.completed += 1
            self._recent.add(lid)
            self._recent_order.append(lid)
            if len(self._recent_order) > RECENT_MAX:
                self._recent.discard(self._recent_order.popleft())
            self._sink(record)

    def cut_before(self, started_at: float, reason: str = CUT_BY_RESTART, lost: LostAt | None = None) -> int:
        """Asterisk (re)started at ``started_at`` (epoch seconds): every conversation whose last
        event is older was cut and will never end; record it as it stood when Asterisk went
        (``lost(last event, started_at)``: when the controller lost it, else the old process's
        last event) and stop showing it. Such a record is not "recorded live": should its end
        turn up after all, the reconciler writes the whole conversation over it."""
        gone = [lid for lid, evs in self._live.items() if evs and max(e.time for e in evs) < started_at]
        logged = last_before([e for evs in self._live.values() for e in evs], started_at) if gone else None
        lost = lost or self.lost_at
        records = []
        for lid in gone:
            if lid in self._leg_parent:   # a leg goes on its parent's record
                continue
            events = self._with_legs(lid, self._live[lid])
            if not any(e.name == "CHAN_START" and e.uniqueid == lid for e in events):
                continue   # joined late: the reconciler has the whole of it
            try:
                last = max(e.time for e in events)
                record = cut_record(events, self._directory, "live", reason,
                                    lost_at=lost(last, started_at) if lost else None, last_logged=logged)
            except Exception:
                log.exception("conversation %s cut by an Asterisk restart could not be assembled", lid)
                continue
            if record is not None:
                records.append(record)
        for lid in gone:
            self._live.pop(lid, None)
            self._seen_at.pop(lid, None)
            self._leg_parent.pop(lid, None)
        for record in records:
            log.warning("conversation %s was cut by an Asterisk restart (%s); closed as %s", record.call_id,
                        reason, record.outcome.value)
            self.cut += 1
            self._sink(record)
        return len(records)

    # -- call control (hotline.calls.control) -------------------------------------------------
    def subscribe(self, listener: Callable[[CelEvent], None]) -> None:
        """Call ``listener(event)`` after each event has been taken into account."""
        self._listeners.append(listener)

    def expect_leg(self, parent: str, endpoint: str) -> None:
        """The controller is originating a leg of ``parent`` on ``endpoint``. Its CHAN_START carries
        no accountcode yet, so the next originated channel there is taken for it (live views only:
        records tie legs by accountcode alone)."""
        now = time.monotonic()
        self._expected = [x for x in self._expected if x[2] > now] + [(parent, endpoint, now + EXPECT_LEG_S)]

    def conversation(self, call_id: str) -> tuple[list[CelEvent], dict[str, list[CelEvent]]] | None:
        """The live events of conversation ``call_id`` (with those of its ended legs) and, by
        Linkedid, those of its live legs; None when it is not live here."""
        events = self._live.get(call_id)
        if events is None or call_id in self._leg_parent:
            return None
        legs = {lid: list(self._live.get(lid, [])) for lid, p in self._leg_parent.items() if p == call_id}
        return list(events) + self._legs.peek(call_id), legs

    def _with_legs(self, lid: str, events: list[CelEvent]) -> list[CelEvent]:
        out = events + self._legs.peek(lid)
        for leg, parent in self._leg_parent.items():
            if parent == lid:
                out += self._live.get(leg, [])
        return out

    def _note_leg(self, event: CelEvent) -> None:
        lid = event.linkedid
        tag = parse_account(event.accountcode) if event.accountcode else None
        if tag is not None:
            if tag[0] != lid:
                self._leg_parent[lid] = tag[0]
            return
        if event.name != "CHAN_START" or event.uniqueid != lid or event.exten not in ("s", ""):
            return
        now, endpoint = time.monotonic(), endpoint_of(event.channel)
        for i, (parent, expected, until) in enumerate(self._expected):
            if until > now and expected == endpoint:
                self._leg_parent[lid] = parent
                del self._expected[i]
                break
        if len(self._leg_parent) > 1000:  # legs whose end was never seen (AMI down)
            for stale in [k for k in self._leg_parent if k not in self._live][:500]:
                self._leg_parent.pop(stale, None)

    def _evict(self, now: float) -> None:
        """Drop conversations silent for ``max_age``, then the oldest while above the cap."""
        self._last_sweep = now
        cutoff = now - self._max_age
        gone = [k for k, t in self._seen_at.items() if t < cutoff]
        excess = len(self._seen_at) - len(gone) - self._max
        if excess > 0:
            fresh = sorted((k for k, t in self._seen_at.items() if t >= cutoff), key=self._seen_at.__getitem__)
            gone += fresh[:excess]
        for lid in gone:
            self._live.pop(lid, None)
            self._seen_at.pop(lid, None)
            self._on_partial(lid)


class Reconciler:
    """Assemble ended conversations from the cel_custom JSON log. Thread-safe; runs in a worker.

    The position it keeps (``load_offset``/``save_offset``) is a
    :class:`~hotline.calls.celpos.CelPosition` (offset and the identity of the file): a rotated
    log is read to its end before the new one, a truncated or replaced one from its start.
    Conversations cut by an Asterisk restart (:mod:`hotline.calls.restart`) are closed with their
    own outcome; ``started_at`` gives the current Asterisk process's start (epoch seconds) or None.
    """

    # An open conversation whose last event is this much older (CEL time) than the newest event
    # read was cut off (Asterisk died mid-call: no LINKEDID_END will come). It no longer holds
    # the offset back, or every later pass would read and submit everything since, for ever.
    OPEN_HORIZON = 6 * 3600.0

    def __init__(self, path: Path, directory: Directory, sink: Sink,
                 load_offset: Callable[[], CelPosition | int], save_offset: Callable[[CelPosition], None],
                 started_at: Callable[[], float | None] | None = None, lost_at: LostAt | None = None) -> None:
        self.path = path
        self._lost_at = lost_at
        self._directory = directory
        self._sink = sink
        self._load_offset = load_offset
        self._save_offset = save_offset
        self._started_at = started_at or (lambda: None)
        self._lock = threading.Lock()
        self._legs = LegBook()
        self.records = 0
        self.bad_lines = 0
        self.cut = 0

    def run(self) -> int:
        """One pass; returns the number of records submitted."""
        with self._lock:
            segments = open_segments(self.path, self._load_offset())
            if not segments:
                return 0
            try:
                return self._pass(segments)
            finally:
                for seg in segments:
                    seg.close()

    def _cut(self, events: list[CelEvent], restart: float, groups: dict[str, list[CelEvent]]) -> CallRecord | None:
        """A conversation cut by the restart at ``restart``: closed when the controller lost
        Asterisk, else at the old process's last event read (``restart.cut_record``)."""
        last = max(e.time for e in events)
        logged = max((t for t in (last_before(evs, restart) for evs in groups.values()) if t is not None),
                     default=None)
        return cut_record(events, self._directory, "cel-reconcile",
                          lost_at=self._lost_at(last, restart) if self._lost_at else None, last_logged=logged)

    def _pass(self, segments: list[Segment]) -> int:
        groups: dict[str, list[CelEvent]] = {}
        first_offset: dict[str, tuple[int, int]] = {}   # (segment, offset): log order across files
        last_time: dict[str, float] = {}
        ended: set[str] = set()
        cut: dict[str, float] = {}      # conversation -> the new process's start (the cut's bound)
        epochs = EpochWatch()
        newest = 0.0
        pos = segments[-1].start
        for si, seg in enumerate(segments):
            records, pos, bad = read_records(seg.fh, seg.start)
            self.bad_lines += bad
            for record_at, event in records:
                lid = event.linkedid
                if epochs.see(event):   # a new Asterisk process: what was still open never ends
                    cut.update((k, event.time) for k in groups if k not in ended and k not in cut
                               and last_time[k] < event.time)
                groups.setdefault(lid, []).append(event)
                first_offset.setdefault(lid, (si, record_at))
                last_time[lid] = max(last_time.get(lid, 0.0), event.time)
                newest = max(newest, event.time)
                if event.name == "LINKEDID_END":
                    ended.add(lid)
        started = self._started_at()
        if started is not None:
            cut.update((k, started) for k in groups if k not in ended and k not in cut and last_time[k] < started)
        for k in ended:
            cut.pop(k, None)
        submitted = 0
        # Legs of three-way calls (their own Linkedid, tagged by accountcode) go on their
        # parent's record; a leg that ended after its parent's record was written rewrites it.
        parents = {lid: p for lid, p in ((lid, parent_of(events)) for lid, events in groups.items())
                   if p is not None}
        legs_of: dict[str, list[CelEvent]] = {}
        late: list[tuple[list[CelEvent], bool]] = []
        for lid in sorted(parents.keys(), key=first_offset.__getitem__):
            parent = parents[lid]
            if parent in groups:  # a leg still up goes on the record as far as it got
                legs_of.setdefault(parent, []).extend(groups[lid])
            elif lid in ended:
                merged = self._legs.leg_ended(parent, groups[lid], parent_live=False)
                if merged is not None:
                    late.append((merged, False))
        for lid in sorted((ended | cut.keys()) - parents.keys(), key=first_offset.__getitem__):
            events = groups[lid] + legs_of.get(lid, [])
            if lid in cut:
                late.append((events, True))
                continue
            if any(e.name == "CHAN_START" and e.uniqueid == lid for e in events):
                self._legs.remember(lid, events)
            else:  # its start was read by an earlier pass (an open leg held the offset back)
                events = self._legs.extend_done(lid, events) or events
            late.append((events, False))
        for events, was_cut in late:
            try:
                record = self._cut(events, cut[events[0].linkedid], groups) if was_cut else \
                    assemble(events, self._directory, source="cel-reconcile")
            except Exception:  # one bad conversation must not stop every later pass
                log.exception("CEL log: conversation %s could not be assembled; skipped", events[0].linkedid)
                continue
            if record is not None:
                if was_cut:
                    log.warning("CEL log: conversation %s was cut by an Asterisk restart; closed as %s",
                                record.call_id, record.outcome.value)
                    self.cut += 1
                self._sink(record)
                submitted += 1
        open_starts = []
        for lid in groups:
            if lid in ended or lid in cut:
                continue
            if last_time[lid] < newest - self.OPEN_HORIZON:
                log.warning("CEL log: conversation %s never ended (silent since %.0f s before the newest "
                            "event); no longer waiting for it", lid, newest - last_time[lid])
                continue
            open_starts.append(first_offset[lid])
        si, offset = min([*open_starts, (len(segments) - 1, pos)])
        self._save_offset(segments[si].position(offset))
        self.records += submitted
        return submitted
