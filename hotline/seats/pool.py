"""One seat pool over the nodes behind the SIP edge (issue 14, item 2): a seat logged in, paused
or logged out on one node is so on every node.

Each node's Asterisk has its own app_queue, so each controller keeps its own node's memberships
(:class:`hotline.seats.services.SeatService`). What the seat wants is shared in Redis: the hash
``hotline:<site>:pool:seats`` holds each seat's wanted state (logged in, paused, reason, the node
that said so, when), and every change is published on ``hotline:<site>:pool``. A controller:

* announces a change of one of its seats whatever made it (the API, a supervisor, the phone's
  feature code, the unreachable-seat logout): the state its seat service now has is the seat's
  new wanted state, unless it is the one already known (so an applied change is not echoed);
* applies another node's announcement to its own node through the seat service's commands
  (the same checks, the same AMI actions, the same events and state log);
* converges its node to the hash whenever its seat service re-synced from Asterisk (a controller
  or a node that was down comes back to the pool's state) and whenever Redis comes back.

Last writer wins. An auto-pause (unanswered rings) stays on its node: each node counts its own
rings. Announcements wait, one per seat (the newest), while Redis is away: nothing grows with an
outage. Wrap-up is not shared (a node's app_queue rests a seat after its own calls only).

The seat state log (occupancy) of a pool is written by one controller at a time
(:class:`PooledStateLog`, a duty lease): every controller sees every seat's calls (the shared
device state) and logins and pauses (the pool), and rows of one seat from several controllers
would interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from hotline.background import Duty
from hotline.exceptions import HotlineError
from hotline.redis_session import hold_connection, next_message
from hotline.seats.services import StateLog
from queue_manager import seats as sm

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Wanted:
    """A seat's wanted state in the pool."""

    logged_in: bool
    paused: bool = False
    reason: str | None = None

    @classmethod
    def parse(cls, raw: Any) -> tuple[str, str, Wanted, float]:
        """(seat, node, wanted, at) of one announcement; ValueError names what is wrong."""
        if not isinstance(raw, (str, bytes)):
            raise ValueError(f"not JSON text: {type(raw).__name__}")
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        seat, node, reason = data.get("seat"), data.get("node"), data.get("reason")
        if not isinstance(seat, str) or not isinstance(node, str):
            raise ValueError("seat and node must be strings")
        if not isinstance(data.get("logged_in"), bool) or not isinstance(data.get("paused", False), bool):
            raise ValueError("logged_in and paused must be booleans")
        if reason is not None and not isinstance(reason, str):
            raise ValueError("reason must be a string or null")
        at = data.get("at", 0.0)
        if isinstance(at, bool) or not isinstance(at, (int, float)):
            raise ValueError("at must be a number")
        return seat, node, cls(data["logged_in"], data.get("paused", False), reason), float(at)


class Seats(Protocol):
    """What the pool needs of the seat service."""

    seats: dict[str, sm.Seat]
    stats: dict[str, int]
    on_change: Callable[[str], None] | None

    async def login(self, seat_id: str) -> dict[str, Any]: ...
    async def logout(self, seat_id: str) -> dict[str, Any]: ...
    async def pause(self, seat_id: str, reason: str, queue: str | None = None) -> dict[str, Any]: ...
    async def unpause(self, seat_id: str, queue: str | None = None) -> dict[str, Any]: ...


def wanted_of(seat: sm.Seat) -> Wanted | None:
    """The wanted state a seat service's seat shows; None for a state the pool does not share
    (an auto-pause: each node counts its own unanswered rings)."""
    if seat.state == sm.SeatState.logged_out:
        return Wanted(False)
    if seat.state == sm.SeatState.paused:
        return None if seat.reason == sm.AUTO_PAUSE_REASON else Wanted(True, True, seat.reason)
    return Wanted(True)


class PooledStateLog:
    """The seat state log of a pool, written only while this controller holds ``duty``; the new
    holder first writes where every seat stands, so the log goes on without a gap in states."""

    def __init__(self, write: StateLog, duty: Duty, *, every_s: float = 10.0) -> None:
        self.write = write
        self.duty = duty
        self.every_s = every_s
        self.seats: Seats | None = None   # set once the seat service is built
        self.stats = {"written": 0, "elsewhere": 0, "taken_over": 0}

    def __call__(self, seat_id: str, state: str, reason: str | None, at: float, call_id: str | None) -> None:
        if self.duty.holding:
            self.stats["written"] += 1
            self.write(seat_id, state, reason, at, call_id)
        else:
            self.stats["elsewhere"] += 1

    async def run(self) -> None:
        while True:
            try:
                was = self.duty.holding
                if await self.duty.held() and not was and self.seats is not None:
                    self.stats["taken_over"] += 1
                    now = time.time()
                    for seat in list(self.seats.seats.values()):
                        self.write(seat.seat_id, seat.state.value, seat.reason, now, seat.call_id)
            except Exception:   # a round that fails never ends the rounds
                log.exception("seat pool: the state log's duty round failed")
            await asyncio.sleep(self.every_s)


class SeatPool:
    def __init__(self, seats: Seats, redis_url: str, *, site: str, node: str, state_log: PooledStateLog | None = None,
                 retry: tuple[float, float] = (0.5, 10.0), poll_s: float = 0.1) -> None:
        self.seats = seats
        self.state_log = state_log
        self.redis_url = redis_url
        self.node = node
        self.hash = f"hotline:{site}:pool:seats"
        self.channel = f"hotline:{site}:pool"
        # the newest wanted state seen per seat, ours or another node's, and when it was wanted
        self._known: dict[str, tuple[Wanted, float]] = {}
        self._pending: dict[str, tuple[Wanted, float]] = {}   # ours, not yet in Redis (the newest per seat)
        self._applying: set[str] = set()
        self._retry = retry
        self._poll_s = poll_s   # how soon a change of ours goes out, an Asterisk re-sync is seen
        self._task: asyncio.Task[None] | None = None
        self.ok = False
        self.stats = {"announced": 0, "applied": 0, "refused": 0, "bad_messages": 0, "redis_errors": 0,
                      "converged": 0, "stale": 0}
        seats.on_change = self.observed

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="seat-pool")

    async def stop(self) -> None:
        self.seats.on_change = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def status(self) -> dict[str, Any]:
        log_here = self.state_log.duty.holding if self.state_log else None
        return {"ok": self.ok, "node": self.node, "pending": len(self._pending), **self.stats,
                "state_log_here": log_here, **({"state_log": self.state_log.stats} if self.state_log else {})}

    # -- this node's changes -------------------------------------------------------------------
    def observed(self, seat_id: str) -> None:
        """The seat service changed ``seat_id`` (called on every change)."""
        seat = self.seats.seats.get(seat_id)
        wanted = wanted_of(seat) if seat is not None else None
        known = self._known.get(seat_id)
        if wanted is None or seat_id in self._applying or (known is not None and known[0] == wanted):
            return
        self._known[seat_id] = self._pending[seat_id] = (wanted, time.time())

    # -- another node's changes ----------------------------------------------------------------
    async def apply(self, seat_id: str, wanted: Wanted, at: float) -> None:
        """Bring this node's seat to ``wanted`` (wanted at ``at``) through the seat service's own
        commands, unless a newer state of it is known (the last writer wins)."""
        seat = self.seats.seats.get(seat_id)
        if seat is None:
            self.stats["bad_messages"] += 1
            log.warning("seat pool: no seat %r on this node (site configs differ?)", seat_id)
            return
        known = self._known.get(seat_id)
        if known is not None and at < known[1]:
            self.stats["stale"] += 1
            return
        self._known[seat_id] = (wanted, at)
        self._pending.pop(seat_id, None)
        self._applying.add(seat_id)
        try:
            now = wanted_of(seat)
            if now == wanted or (now is None and wanted.logged_in):   # an auto-pause stays here
                return
            if wanted.logged_in and seat.state == sm.SeatState.logged_out:
                await self.seats.login(seat_id)
            if not wanted.logged_in:
                await self.seats.logout(seat_id)
            elif wanted.paused and wanted.reason:
                await self.seats.pause(seat_id, wanted.reason)
            elif not wanted.paused and self.seats.seats[seat_id].state == sm.SeatState.paused:
                await self.seats.unpause(seat_id)
            self.stats["applied"] += 1
        except HotlineError as exc:   # a command that does not fit this node's seat now
            self.stats["refused"] += 1
            log.warning("seat pool: %s of seat %s not applied here: %s", wanted, seat_id, exc)
        except Exception:   # this node's AMI away, ...: the next re-sync converges it
            self.stats["refused"] += 1
            log.exception("seat pool: %s of seat %s failed here", wanted, seat_id)
        finally:
            self._applying.discard(seat_id)

    # -- Redis -----------------------------------------------------------------------------------
    async def run(self) -> None:
        """Until cancelled: connect, converge, announce and apply; reconnect after an outage (and
        keep the state log's duty)."""
        await asyncio.gather(self._share(), *([self.state_log.run()] if self.state_log else []))

    async def _share(self) -> None:
        await hold_connection(self.redis_url, self._connected, retry=self._retry, lost=self._lost)

    async def _connected(self, client: Any, up: Callable[[], None]) -> None:
        await client.ping()
        pubsub = client.pubsub()
        await pubsub.subscribe(self.channel)
        self.ok = True
        up()
        log.info("seat pool: connected (node %s)", self.node)
        await self._serve(client, pubsub)

    def _lost(self, exc: Exception) -> None:
        self.stats["redis_errors"] += 1
        if self.ok:
            log.warning("seat pool: Redis unavailable (%s: %s); changes wait", type(exc).__name__, exc)
        self.ok = False

    async def _serve(self, client: Any, pubsub: Any) -> None:
        resyncs = 0   # converge once the seat service has read its node (its first re-sync), then after each
        while True:
            if self.seats.stats.get("resyncs", 0) != resyncs:   # (re)synced from Asterisk: converge
                resyncs = self.seats.stats.get("resyncs", 0)
                await self._converge(client)
            await self._flush(client)
            msg = await next_message(pubsub, self._poll_s)
            if msg is not None:
                await self._receive(msg["data"])

    async def _flush(self, client: Any) -> None:
        while self._pending:
            seat_id, (wanted, at) = next(iter(self._pending.items()))
            payload = self._payload(seat_id, wanted, at)
            async with client.pipeline(transaction=True) as pipe:
                pipe.hset(self.hash, seat_id, payload)
                pipe.publish(self.channel, payload)
                await pipe.execute()
            if self._pending.get(seat_id) == (wanted, at):   # unless it changed meanwhile
                del self._pending[seat_id]
            self.stats["announced"] += 1

    def _payload(self, seat_id: str, wanted: Wanted, at: float) -> str:
        return json.dumps({"seat": seat_id, "node": self.node, "at": at, **asdict(wanted)})

    def _parse(self, raw: Any, what: str) -> tuple[str, str, Wanted, float] | None:
        try:
            return Wanted.parse(raw)
        except ValueError as exc:
            self.stats["bad_messages"] += 1
            log.warning("seat pool: %s ignored (%s): %.200r", what, exc, raw)
            return None

    async def _receive(self, raw: Any) -> None:
        parsed = self._parse(raw, "a bad announcement")
        if parsed is not None and parsed[1] != self.node:
            await self.apply(parsed[0], parsed[2], parsed[3])

    async def _converge(self, client: Any) -> None:
        """This node to the pool's state. A seat the pool has no state for (a new pool, or a Redis
        that lost its data) gets this node's view, unless another node's came first; a view is
        the weakest state there is (time 0): any change a node made since wins over it."""
        await self._flush(client)   # changes made here while Redis was away come first
        stored = await client.hgetall(self.hash)
        for seat_id in sorted(self.seats.seats):
            raw = stored.get(seat_id)
            if raw is None:
                seat = self.seats.seats[seat_id]
                view = wanted_of(seat) or Wanted(True, True, seat.reason)
                payload = self._payload(seat_id, view, 0.0)
                if await client.hsetnx(self.hash, seat_id, payload):
                    self._known.setdefault(seat_id, (view, 0.0))
                    await client.publish(self.channel, payload)
                    self.stats["announced"] += 1
                    continue
                raw = await client.hget(self.hash, seat_id)
            parsed = self._parse(raw, f"a bad state of seat {seat_id}")
            if parsed is not None:
                await self.apply(seat_id, parsed[2], parsed[3])
        self.stats["converged"] += 1
