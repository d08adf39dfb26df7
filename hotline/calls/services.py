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
import threading
import time
from pathlib import Path
from typing import Callable

from hotline.config.site import SiteConfig
from trunk_config.pjsip import trunk_endpoint

from . import cel
from .assemble import Directory, assemble
from .cel import CelEvent
from .model import CallRecord

log = logging.getLogger(__name__)

Sink = Callable[[CallRecord], None]
MAX_SPLIT_LINES = 8


def directory_for(site: SiteConfig) -> Directory:
    return Directory(trunks=frozenset(trunk_endpoint(t) for t in site.trunks),
                     seats=frozenset(s.id for s in site.seats))


class CallTracker:
    """Live conversations, from AMI CEL events. Not thread-safe: used from the AMI loop."""

    def __init__(self, directory: Directory, sink: Sink, on_partial: Callable[[str], None],
                 max_age: float = 6 * 3600, max_conversations: int = 20000) -> None:
        self._directory = directory
        self._sink = sink
        self._on_partial = on_partial
        self._live: dict[str, list[CelEvent]] = {}
        self._seen_at: dict[str, float] = {}
        self._max_age = max_age
        self._max = max_conversations
        self.completed = 0
        self.bad_events = 0

    @property
    def live_count(self) -> int:
        return len(self._live)

    def live_calls(self) -> list[dict[str, object]]:
        """Conversations in progress that entered through a trunk, as partial records."""
        out = []
        for events in self._live.values():
            rec = assemble(events, self._directory)
            if rec is not None:
                d = rec.to_dict()
                d["outcome"] = "in_progress"
                out.append(d)
        return out

    def on_ami_event(self, headers: dict[str, str]) -> None:
        event = cel.from_ami(headers)
        if event is None:
            self.bad_events += 1
            log.warning("CEL event without usable ids or time skipped: %r", {k: headers.get(k) for k in
                        ("EventName", "UniqueID", "LinkedID", "EventTime")})
            return
        self.add(event)

    def add(self, event: CelEvent) -> None:
        lid = event.linkedid
        if event.name == "LINKEDID_END":
            events = self._live.pop(lid, [])
            self._seen_at.pop(lid, None)
            events.append(event)
            self._finish(lid, events)
            return
        self._live.setdefault(lid, []).append(event)
        self._seen_at[lid] = time.monotonic()
        if len(self._live) > self._max:
            self._evict()

    def _finish(self, lid: str, events: list[CelEvent]) -> None:
        if not any(e.name == "CHAN_START" and e.uniqueid == lid for e in events):
            # We joined this conversation late: the CEL log has all of it.
            self._on_partial(lid)
            return
        record = assemble(events, self._directory, source="ami")
        if record is not None:
            self.completed += 1
            self._sink(record)

    def _evict(self) -> None:
        cutoff = time.monotonic() - self._max_age
        for lid in [k for k, t in self._seen_at.items() if t < cutoff] or \
                sorted(self._seen_at, key=self._seen_at.__getitem__)[: len(self._live) - self._max]:
            self._live.pop(lid, None)
            self._seen_at.pop(lid, None)
            self._on_partial(lid)


class Reconciler:
    """Assemble ended conversations from the cel_custom JSON log. Thread-safe; runs in a worker."""

    def __init__(self, path: Path, directory: Directory, sink: Sink,
                 load_offset: Callable[[], int], save_offset: Callable[[int], None]) -> None:
        self.path = path
        self._directory = directory
        self._sink = sink
        self._load_offset = load_offset
        self._save_offset = save_offset
        self._lock = threading.Lock()
        self.records = 0
        self.bad_lines = 0

    def run(self) -> int:
        """One pass; returns the number of records submitted."""
        with self._lock:
            try:
                size = self.path.stat().st_size
            except FileNotFoundError:
                return 0
            offset = self._load_offset()
            if offset > size:  # the log was rotated or truncated
                offset = 0
            groups: dict[str, list[CelEvent]] = {}
            first_offset: dict[str, int] = {}
            ended: set[str] = set()
            pos = offset
            with self.path.open("rb") as fh:
                fh.seek(offset)
                pending = b""  # a record split by a raw line break inside a value (hostile caller-ID)
                pending_at = pos
                for raw in fh:
                    if not raw.endswith(b"\n"):
                        break  # a line Asterisk is still writing
                    line_at = pos
                    pos += len(raw)
                    if not pending:
                        pending_at = line_at
                    pending += raw
                    event = cel.from_json_line(pending)
                    if event is None and pending is not raw and len(pending) > len(raw):
                        alone = cel.from_json_line(raw)
                        if alone is not None:  # the earlier fragment was garbage, this line is whole
                            self.bad_lines += 1
                            event, pending_at = alone, line_at
                    if event is None:
                        if pending.count(b"\n") < MAX_SPLIT_LINES and not pending.rstrip().endswith(b"}"):
                            continue
                        self.bad_lines += 1
                        pending = b""
                        continue
                    pending = b""
                    groups.setdefault(event.linkedid, []).append(event)
                    first_offset.setdefault(event.linkedid, pending_at)
                    if event.name == "LINKEDID_END":
                        ended.add(event.linkedid)
                if pending:
                    pos = pending_at  # read the unfinished record again next time
            submitted = 0
            for lid in ended:
                record = assemble(groups[lid], self._directory, source="cel-reconcile")
                if record is not None:
                    self._sink(record)
                    submitted += 1
            open_starts = [first_offset[lid] for lid in groups if lid not in ended]
            new_offset = min(open_starts) if open_starts else pos
            self._save_offset(max(new_offset, offset))
            self.records += submitted
            return submitted
