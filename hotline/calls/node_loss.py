"""A node lost for good loses no record (issue 14, item 3): its calls in progress, closed by another.

Each controller of a pooled site (:meth:`NodeLoss.run`, every :data:`EVERY_S`) writes the calls its
node has in progress (their CEL events so far, those that changed) into the shared store and beats
(:class:`hotline.store.open_calls.OpenCalls`). It also closes the calls of any other node that has
not beaten for ``lost_after_s`` (the site's ``edge.node_lost_after_s``): each becomes the record of
a call cut when that node was last seen (:func:`hotline.calls.restart.cut_record`, ``extra.cut_by``
= ``node_lost``), unless the call has a record already. A node that comes back writes its own
records from its CEL log over these; one whose disk is gone leaves them as they are.

The time is generous (a minute by default) because a controller restarting also stops beating: its
node's calls go on, and a guess written meanwhile stands until it writes the real record.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging

from hotline.exceptions import StoreError
from hotline.records.call import CallRecord
from hotline.store.open_calls import OpenCalls, Taken

from .cel import CelEvent
from .model import Directory
from .restart import cut_record
from .services import CallTracker

log = logging.getLogger(__name__)

EVERY_S = 2.0
CUT_BY_NODE_LOSS = "node_lost"


def events_json(events: list[CelEvent]) -> str:
    # vars(), not dataclasses.asdict: no deep copy (the first round after an outage writes every call)
    return json.dumps([vars(e) for e in events], ensure_ascii=False, separators=(",", ":"))


def events_from_json(text: str) -> list[CelEvent]:
    """The events :func:`events_json` wrote; ValueError (or TypeError) on anything else."""
    items = json.loads(text)
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValueError("open call events must be a JSON list of objects")
    return [CelEvent(**item) for item in items]


def lost_record(directory: Directory, events: str, last_seen: dt.datetime) -> CallRecord | None:
    """The record of a call its node was lost with: cut when the node was last seen."""
    return cut_record(events_from_json(events), directory, "live", CUT_BY_NODE_LOSS, lost_at=last_seen.timestamp())


class NodeLoss:
    def __init__(self, tracker: CallTracker, open_calls: OpenCalls, directory: Directory,
                 lost_after_s: float, every_s: float = EVERY_S) -> None:
        self._tracker = tracker
        self._open = open_calls
        self._directory = directory
        self._lost_after = dt.timedelta(seconds=lost_after_s)
        self._every = every_s
        self._published: dict[str, int] = {}   # call id -> events written (a call with more is written again)
        self._failing = False
        self.closed = 0   # calls of lost nodes this controller recorded

    def snapshot(self) -> tuple[dict[str, list[CelEvent]], set[str]]:
        """On the event loop (the tracker's): the calls whose events changed since the last round
        written, and every call open now."""
        convs = self._tracker.open_conversations()
        changed = {lid: evs for lid, evs in convs.items() if self._published.get(lid) != len(evs)}
        return changed, set(convs)

    def write(self, changed: dict[str, list[CelEvent]], open_ids: set[str]) -> Taken:
        """In a worker thread: this node's round, then the lost nodes'."""
        self._open.publish({lid: events_json(evs) for lid, evs in changed.items()}, open_ids)
        self._published = {lid: n for lid, n in self._published.items() if lid in open_ids}
        self._published.update({lid: len(evs) for lid, evs in changed.items()})
        taken = self._open.take_lost(self._lost_after, lambda ev, seen: lost_record(self._directory, ev, seen))
        self.closed += len(taken.recorded)
        return taken

    async def run(self) -> None:
        """Until cancelled; a store that does not answer is retried the next round (every call
        written again then)."""
        while True:
            try:
                await asyncio.to_thread(self.write, *self.snapshot())
                if self._failing:
                    log.info("open calls written to the store again")
                self._failing = False
            except StoreError as exc:
                self._published.clear()
                if not self._failing:
                    log.warning("open calls not written to the store: %s (retried every %.0f s)", exc.message,
                                self._every)
                self._failing = True
            except Exception:
                self._published.clear()
                log.exception("open calls round failed (retried)")
            await asyncio.sleep(self._every)

    def status(self) -> dict[str, object]:
        return {"open_written": len(self._published), "lost_calls_closed": self.closed, "failing": self._failing}
