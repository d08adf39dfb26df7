"""One order over the nodes of a seat pool (issue 14, item 2): the longest waiter of any node first.

Each node's app_queue keeps its own callers in order and re-checks a waiting caller's turn once a
``retry`` (1 s); on its own, a freed seat goes to the node whose caller re-checks first. The live
hub knows every node's waiting callers (:mod:`hotline.live.peers`), so this controller tells its
Asterisk, per queue, the best place (``rank``) among the *other* nodes' callers: the global
variable ``HOTLINE_GATE_<queue>`` = ``"<rank>/<epoch said>"``. A pooled queue's pre-dial handler
(``hotline-seat-offer``, trunk_config/dialplan.py) holds an offer back while another node's
caller ranks ahead of this one: the seat stays free for that node's next re-check. Never a stall:
a seat is held back at most once every few seconds, a callers' tie (half a second) is no order,
and a gate the controller stopped renewing is ignored.

A caller's rank is the time it first joined a queue less its priority times
:data:`hotline.spine.plan.PRIORITY_WEIGHT` (a priority outranks any wait), as the dialplan's
``HOTLINE_RANK``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable

from hotline.ami import actions
from hotline.spine import marks
from hotline.spine.plan import PRIORITY_WEIGHT

log = logging.getLogger(__name__)

EVERY_S = 0.25    # how often the other nodes' queues are looked at
RENEW_S = 5.0     # a gate is said again this often (the dialplan ignores one older than 15 s)


def best_ranks(peer_queues: dict[str, dict[str, dict[str, Any]]]) -> dict[str, float]:
    """Per queue, the lowest rank among the waiting callers of the other nodes (``peer_queues``:
    node → queue → view, as :class:`hotline.live.hub.LiveHub` keeps them): an entry's ``rank``
    (``HOTLINE_RANK``, in the queue events of a pool's node), else its ``since`` less its
    ``priority``'s weight. Entries with neither are skipped."""
    best: dict[str, float] = {}
    for queues in peer_queues.values():
        for name, view in queues.items():
            for entry in view.get("entries") or []:
                try:   # the dialplan's own rank (Asterisk says it), else the same from the view
                    rank = float(entry["rank"]) if entry.get("rank") is not None else (
                        float(entry["since"]) - int(entry.get("priority") or 0) * PRIORITY_WEIGHT)
                except (KeyError, TypeError, ValueError):
                    continue
                best[name] = min(best.get(name, rank), rank)
    return best


def gate_value(rank: float | None, now: float) -> str:
    """The global variable's value: ``"<rank>/<epoch>"``, or "" (no caller waits elsewhere)."""
    return "" if rank is None else f"{rank:.3f}/{int(now)}"


class PoolOrder:
    """Keeps this node's gates (one per queue seen) in step with the other nodes' callers."""

    def __init__(self, peers: Callable[[], dict[str, dict[str, dict[str, Any]]]],
                 ami_send: Callable[[dict[str, str]], Awaitable[Any]], *,
                 clock: Callable[[], float] = time.time) -> None:
        self._peers = peers
        self._send = ami_send
        self._clock = clock
        self._said: dict[str, tuple[str, float]] = {}   # queue -> (rank part, when said)

    async def step(self) -> int:
        """Say every gate that changed (or is due for renewal); the number said."""
        now = self._clock()
        best = best_ranks(self._peers())
        said = 0
        for queue in sorted({*best, *self._said}):
            rank = best.get(queue)
            part = "" if rank is None else f"{rank:.3f}"
            last = self._said.get(queue)
            if last is not None and last[0] == part and (part == "" or now - last[1] < RENEW_S):
                continue
            await self._send(actions.set_global(f"{marks.GATE_PREFIX}{queue}", gate_value(rank, now)))
            self._said[queue] = (part, now)
            said += 1
        return said

    async def run(self, every: float = EVERY_S) -> None:
        """Until cancelled; an AMI failure (Asterisk away) is retried at the next step."""
        while True:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:   # AMI down: the gates are said again once it is back
                self._said.clear()
                log.debug("seat pool order: gates not said (%s)", exc)
            await asyncio.sleep(every)
