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

import json
import logging
from collections import deque
import threading
import time
from pathlib import Path
from typing import Callable, Literal

from hotline.config.site import SiteConfig
from trunk_config.pjsip import trunk_endpoint

from . import cel
from .assemble import Directory, assemble
from .cel import CelEvent
from .model import CallRecord

log = logging.getLogger(__name__)

Sink = Callable[[CallRecord], None]
MAX_SPLIT_LINES = 8
RECENT_MAX = 100_000
SWEEP_EVERY_S = 60.0


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
        self._last_sweep = time.monotonic()
        self.completed = 0
        self.bad_events = 0
        # Conversations recorded live from an unbroken event stream: the reconciler need not
        # write them again (it would write the same record: it is half the database writes).
        self._recent: set[str] = set()
        self._recent_order: deque[str] = deque()

    @property
    def live_count(self) -> int:
        return len(self._live)

    def recorded_live(self, call_id: str) -> bool:
        return call_id in self._recent

    def stream_broken(self) -> None:
        """The AMI connection dropped: events of the live conversations may be lost, so they are
        handed to the reconciler (the CEL log has all of them) instead of being assembled here."""
        for lid in list(self._live):
            self._live.pop(lid, None)
            self._seen_at.pop(lid, None)
            self._on_partial(lid)

    def live_calls(self) -> list[dict[str, object]]:
        """Conversations in progress that entered through a trunk, as partial records."""
        out = []
        cutoff = time.monotonic() - self._max_age
        for lid, events in self._live.items():
            if self._seen_at.get(lid, cutoff) < cutoff:  # silent too long: its end was missed
                continue
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
        now = time.monotonic()
        self._live.setdefault(lid, []).append(event)
        self._seen_at[lid] = now
        # A conversation whose LINKEDID_END was missed (AMI down at the time) would stay "live"
        # for ever: sweep stale ones regularly, not only when the cap is reached.
        if len(self._live) > self._max or now - self._last_sweep >= min(SWEEP_EVERY_S, self._max_age):
            self._evict(now)

    def _finish(self, lid: str, events: list[CelEvent]) -> None:
        if not any(e.name == "CHAN_START" and e.uniqueid == lid for e in events):
            # We joined this conversation late: the CEL log has all of it.
            self._on_partial(lid)
            return
        record = assemble(events, self._directory, source="ami")
        if record is not None:
            self.completed += 1
            self._recent.add(lid)
            self._recent_order.append(lid)
            if len(self._recent_order) > RECENT_MAX:
                self._recent.discard(self._recent_order.popleft())
            self._sink(record)

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


_Decoded = tuple[Literal["event", "unusable", "incomplete", "garbage"], "CelEvent | None"]


def _decode(data: bytes) -> _Decoded:
    """One cel_custom record, possibly spread over several physical lines.

    ``incomplete``: valid so far, but the record goes on (a raw line break inside a
    value); ``garbage``: broken before its end, so its first line is not a record start.
    """
    text = data.decode("utf-8", errors="replace")
    try:
        value = json.loads(text, strict=False)  # strict=False: raw CR/LF inside strings
    except json.JSONDecodeError as exc:
        repaired = cel.from_trusted_suffix(text) if text.rstrip().endswith("}") else None
        if repaired is not None:
            return "event", repaired
        if exc.msg.startswith("Unterminated string") or exc.pos >= len(text.rstrip()):
            return "incomplete", None
        return "garbage", None
    event = cel.from_json_object(value) if isinstance(value, dict) else None
    return ("event", event) if event is not None else ("unusable", None)


class Reconciler:
    """Assemble ended conversations from the cel_custom JSON log. Thread-safe; runs in a worker."""

    # An open conversation whose last event is this much older (CEL time) than the newest event
    # read was cut off (Asterisk died mid-call: no LINKEDID_END will come). It no longer holds
    # the offset back, or every later pass would read and submit everything since, for ever.
    OPEN_HORIZON = 6 * 3600.0

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
            last_time: dict[str, float] = {}
            ended: set[str] = set()
            newest = 0.0
            pos = offset
            # The physical lines of a record not complete yet: a raw line break inside a value
            # (a hostile caller-ID) splits one record over several lines.
            pending: list[tuple[int, bytes]] = []
            with self.path.open("rb") as fh:
                fh.seek(offset)
                for raw in fh:
                    if not raw.endswith(b"\n"):
                        break  # a line Asterisk is still writing
                    pending.append((pos, raw))
                    pos += len(raw)
                    while pending:
                        state, event = _decode(b"".join(line for _, line in pending))
                        if state == "incomplete" and len(pending) < MAX_SPLIT_LINES:
                            break  # wait for the rest of the record
                        if state == "event" and event is not None:
                            lid = event.linkedid
                            groups.setdefault(lid, []).append(event)
                            first_offset.setdefault(lid, pending[0][0])
                            last_time[lid] = max(last_time.get(lid, 0.0), event.time)
                            newest = max(newest, event.time)
                            if event.name == "LINKEDID_END":
                                ended.add(lid)
                            pending.clear()
                        elif state == "unusable":  # whole JSON, but not a CEL record we can use
                            self.bad_lines += 1
                            pending.clear()
                        else:  # its first line starts no record: drop that line, look at the rest again
                            self.bad_lines += 1
                            pending.pop(0)
            if pending:
                pos = pending[0][0]  # read the unfinished record again next time
            submitted = 0
            for lid in sorted(ended, key=first_offset.__getitem__):
                try:
                    record = assemble(groups[lid], self._directory, source="cel-reconcile")
                except Exception:  # one bad conversation must not stop every later pass
                    log.exception("CEL log: conversation %s could not be assembled; skipped", lid)
                    continue
                if record is not None:
                    self._sink(record)
                    submitted += 1
            open_starts = []
            for lid in groups:
                if lid in ended:
                    continue
                if last_time[lid] < newest - self.OPEN_HORIZON:
                    log.warning("CEL log: conversation %s never ended (silent since %.0f s before the newest "
                                "event); no longer waiting for it", lid, newest - last_time[lid])
                    continue
                open_starts.append(first_offset[lid])
            new_offset = min([*open_starts, pos])
            self._save_offset(max(new_offset, offset))
            self.records += submitted
            return submitted
