"""The calls in progress of every node, so a node lost for good loses no record (issue 14, item 3).

Each node's controller writes its own calls in progress (their CEL events so far) into the shared
store every round and beats (``node_beats``). A node whose disk survives writes its calls' records
from its CEL log when it comes back; one that never comes back (the machine gone) would take them
with it. So every controller also looks for nodes whose beat is older than ``lost_after``: it closes
their calls from these rows (the caller-supplied ``build`` turns a row's events into the record of a
call cut when the node was last seen) and deletes the rows, in one transaction. Such a record never
replaces one that exists (:meth:`Store.write_call` with ``keep``), and the node, should it come back,
writes its own record over the guess (the usual upsert): a call is never recorded twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select

from hotline.records.call import CallRecord
from hotline.store.open_call_models import NodeBeatRow, OpenCallRow
from hotline.store.store import Store

log = logging.getLogger(__name__)

TAKE_BATCH = 500   # rows of lost nodes closed per round (the next round takes the rest)
Build = Callable[[str, dt.datetime], "CallRecord | None"]   # (events JSON, last seen) -> the record, None: not a call


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Taken:
    """What one :meth:`OpenCalls.take_lost` round did."""

    nodes: tuple[str, ...]        # nodes found lost with calls left open
    recorded: tuple[str, ...]     # call ids recorded (none of them had a record)
    dropped: int                  # rows closed without a record (not a call, or already recorded)


class OpenCalls:
    def __init__(self, store: Store, node: str, clock: Callable[[], dt.datetime] = _utcnow) -> None:
        """``node``: this controller's node name (``site.node``)."""
        self._store = store
        self.node = node
        self._clock = clock
        self._unreadable: set[str] = set()   # rows whose events could not be built (logged once each)

    def publish(self, changed: Mapping[str, str], open_ids: set[str]) -> None:
        """One round of this node: beat, write the rows of ``changed`` (call id -> events JSON) and
        delete this node's rows of calls no longer in ``open_ids`` (they ended: their record is in
        the journal). Raises :class:`hotline.exceptions.StoreError` when the database does not answer."""
        now = self._clock()
        with self._store.session() as session:
            beat = self._store.insert(NodeBeatRow).values(node=self.node, seen_at=now)
            session.execute(beat.on_conflict_do_update(index_elements=[NodeBeatRow.node], set_={"seen_at": now}))
            if changed:   # one statement, executed for every row (a batch, not a round trip each)
                row = self._store.insert(OpenCallRow)
                session.execute(row.on_conflict_do_update(index_elements=[OpenCallRow.call_id], set_={
                    "node": row.excluded.node, "events": row.excluded.events, "updated_at": row.excluded.updated_at}),
                    [{"call_id": c, "node": self.node, "events": e, "updated_at": now} for c, e in changed.items()])
            mine = set(session.scalars(select(OpenCallRow.call_id).where(OpenCallRow.node == self.node)))
            ended = sorted(mine - open_ids)
            for i in range(0, len(ended), TAKE_BATCH):
                session.execute(delete(OpenCallRow).where(OpenCallRow.call_id.in_(ended[i:i + TAKE_BATCH])))

    def lost_nodes(self, lost_after: dt.timedelta) -> dict[str, dt.datetime]:
        """The other nodes whose last beat is older than ``lost_after``: name -> last seen."""
        cutoff = self._clock() - lost_after
        with self._store.session() as session:
            rows = session.execute(select(NodeBeatRow.node, NodeBeatRow.seen_at)
                                   .where(NodeBeatRow.node != self.node, NodeBeatRow.seen_at < cutoff))
            return {node: seen for node, seen in rows}

    def take_lost(self, lost_after: dt.timedelta, build: Build) -> Taken:
        """Close the calls left open by nodes lost for longer than ``lost_after``: each row's record
        (``build(events, last seen)``) written unless one exists, the row deleted, in one
        transaction. A row ``build`` fails on stays (logged once) and is tried every round."""
        lost = self.lost_nodes(lost_after)
        if not lost:
            return Taken((), (), 0)
        recorded: list[str] = []
        dropped = 0
        with self._store.session() as session:
            rows = session.execute(select(OpenCallRow.call_id, OpenCallRow.node, OpenCallRow.events)
                                   .where(OpenCallRow.node.in_(sorted(lost)))
                                   .order_by(OpenCallRow.call_id).limit(TAKE_BATCH)).all()
            done: list[str] = []
            for call_id, node, events in rows:
                try:
                    record = build(events, lost[node])
                except Exception:
                    if call_id not in self._unreadable:
                        self._unreadable.add(call_id)
                        log.exception("call %s left open by lost node %s could not be closed: its row stays",
                                      call_id, node)
                    continue
                done.append(call_id)
                if record is not None and self._store.write_call(session, record, keep=True):
                    recorded.append(call_id)
                else:
                    dropped += 1
            if done:
                session.execute(delete(OpenCallRow).where(OpenCallRow.call_id.in_(done)))
        nodes = tuple(sorted({node for _, node, _ in rows}))
        if recorded:
            log.warning("node(s) %s lost for over %s: closed %d call(s) they had in progress", ", ".join(nodes),
                        lost_after, len(recorded))
        return Taken(nodes, tuple(recorded), dropped)
