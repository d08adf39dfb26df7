"""Call control of a call on another node (issue 14, item 2: call control works the same on any node).

A call lives on the node whose Asterisk has its channels; its id names that node
(``<node>-<epoch>.<seq>``, :mod:`hotline.spine.ids`). A request to transfer, conference, drop a
party of or emergency-transfer a call of another node is relayed to that node's controller over
Redis and answered there by its :class:`~hotline.calls.control.CallControl`, with the same checks
(a seat user acts on its own calls only) and the same errors, which come back with their id,
status and details. The live list of every node is merged the same way.

* requests to node N on ``hotline:<site>:<N>:control``, answers on ``hotline:<site>:<from>:control-answers``
  (JSON: ``{"id", "from", "op", "call_id", "args", "role", "seat"}``; ``{"id", "ok", "result"}``
  or ``{"id", "ok": false, "error": {"error_id", "http_status", "message", "details"}}``);
* a node that nobody listens for (dead, cut off from Redis) fails at once with
  ``call-control-unavailable``; one that does not answer within ``timeout`` likewise;
* a bad message is counted and dropped, never kills the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from hotline.auth.roles import Role, may_act_on_call
from hotline.exceptions import CallControlUnavailable, HotlineError, NotYourCall
from hotline.redis_session import hold_connection, next_message
from hotline.spine.ids import parse as parse_call_id

from .control import CallControl

log = logging.getLogger(__name__)

OPS = ("transfer", "conference_add", "conference_drop", "emergency", "live", "seat_call")
LIVE_TIMEOUT_S = 2.0   # a peer's live list: a board must not wait long on a slow node


class RemoteError(HotlineError):
    """An error another node's call control answered with: its id and status, as that node said."""

    def __init__(self, error_id: str, http_status: int, message: str, details: dict[str, Any]) -> None:
        super().__init__(message, **details)
        self.error_id = error_id
        self.http_status = http_status


def live_items(control: CallControl, live_calls: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """This node's live calls as ``/api/calls/live`` lists them: each with its ``control`` view and,
    under ``_seats``, the seats on it (for the disclosure rule; taken out before the answer)."""
    items = live_calls()
    for item in items:
        view = control.live(str(item.get("call_id")))
        if view is not None:
            item["control"] = view.to_dict()
            item["_seats"] = sorted(view.seats)
    return items


def check_may_act(control: CallControl, call_id: str, role: str | None, seat: str | None) -> None:
    """A seat user only on a call its seat is on (``not-your-call``); no role: the controller itself."""
    if role is None:
        return
    view = control.live(call_id)
    if view is not None and not may_act_on_call(Role(role), seat, view.seats):
        raise NotYourCall(call_id, seat, sorted(view.seats))


async def perform(control: CallControl, op: str, call_id: str, args: dict[str, Any]) -> Any:
    """One call-control request on this node's calls."""
    if op == "transfer":
        return await control.transfer(call_id, str(args["target"]), str(args.get("kind", "blind")))
    if op == "conference_add":
        return await control.conference_add(call_id, str(args["target"]))
    if op == "conference_drop":
        return await control.conference_drop(call_id, str(args["party"]))
    if op == "emergency":
        return await control.emergency(call_id, str(args.get("service", "110")), str(args.get("mode", "transfer")))
    raise ValueError(f"unknown op {op!r}")


class ControlRelay:
    def __init__(self, control: CallControl, live_items: Callable[[], list[dict[str, Any]]], redis_url: str, *,
                 site: str, node: str,
                 nodes: Iterable[str], timeout: float = 8.0, retry: tuple[float, float] = (0.5, 5.0)) -> None:
        """``live_items()``: this node's live calls as ``/api/calls/live`` lists them (with ``control``)."""
        self._control = control
        self._live_items = live_items
        self.redis_url = redis_url
        self.node = node
        self.peers = sorted(set(nodes) - {node})
        self._prefix = f"hotline:{site}"
        self._timeout = timeout
        self._retry = retry
        self._client: Any = None
        # the call at a seat on this node, for another node's screen pop (hotline.pop: live_call)
        self.seat_call: Callable[[str], Awaitable[dict[str, Any] | None]] | None = None
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.stats = {"relayed": 0, "served": 0, "bad_messages": 0, "redis_errors": 0, "timeouts": 0}

    def _requests(self, node: str) -> str:
        return f"{self._prefix}:{node}:control"

    def _answers(self, node: str) -> str:
        return f"{self._prefix}:{node}:control-answers"

    def owner(self, call_id: str) -> str | None:
        """The other node ``call_id`` is on; None when it is this node's (or names no known node)."""
        parsed = parse_call_id(call_id)
        return parsed.node if parsed is not None and parsed.node in self.peers else None

    # -- asking ---------------------------------------------------------------------------
    async def ask(self, node: str, op: str, call_id: str, args: dict[str, Any], *, role: str | None,
                  seat: str | None, timeout: float | None = None) -> Any:
        """``op`` on ``call_id`` at ``node``; its answer, or its error raised here."""
        client = self._client
        if client is None:
            raise CallControlUnavailable(f"call {call_id} is on node {node}, and Redis is not reachable from here")
        rid = uuid.uuid4().hex
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = waiter
        try:
            message = {"id": rid, "from": self.node, "op": op, "call_id": call_id, "args": args,
                       "role": role, "seat": seat}
            try:
                listeners = await client.publish(self._requests(node), json.dumps(message))
            except Exception as exc:
                raise CallControlUnavailable(f"call {call_id} is on node {node}: Redis failed ({exc})") from None
            if not listeners:
                raise CallControlUnavailable(f"call {call_id} is on node {node}, which is not reachable now")
            self.stats["relayed"] += 1
            try:
                answer = await asyncio.wait_for(waiter, timeout or self._timeout)
            except asyncio.TimeoutError:
                self.stats["timeouts"] += 1
                raise CallControlUnavailable(f"call {call_id} is on node {node}, which did not answer") from None
        finally:
            self._waiting.pop(rid, None)
        if answer.get("ok"):
            return answer.get("result")
        err: dict[str, Any] = answer["error"] if isinstance(answer.get("error"), dict) else {}
        details: dict[str, Any] = err["details"] if isinstance(err.get("details"), dict) else {}
        status = err.get("http_status")
        raise RemoteError(str(err.get("error_id", "remote-error")), status if isinstance(status, int) else 502,
                          str(err.get("message", f"node {node} refused the request")), {**details, "node": node})

    async def _ask_peers(self, op: str, args: dict[str, Any]) -> list[Any]:
        """``op`` asked of every other node at once, within LIVE_TIMEOUT_S: the answers, in node
        order, of those that gave one (a node that fails or does not answer in time is left out)."""
        async def one(node: str) -> Any:
            try:
                return await self.ask(node, op, "", args, role=None, seat=None, timeout=LIVE_TIMEOUT_S)
            except HotlineError:
                return None
        return [got for got in await asyncio.gather(*(one(n) for n in self.peers)) if got is not None]

    async def peers_live(self) -> list[dict[str, Any]]:
        """Every other node's live calls."""
        return [i for got in await self._ask_peers("live", {}) if isinstance(got, list) for i in got
                if isinstance(i, dict)]

    async def peer_seat_call(self, seat: str) -> dict[str, Any] | None:
        """The call at ``seat`` on another node (the first that has one), for this node's screen pop."""
        return next((got for got in await self._ask_peers("seat_call", {"seat": seat}) if isinstance(got, dict)),
                    None)

    # -- serving --------------------------------------------------------------------------
    async def _serve(self, raw: Any) -> None:
        try:
            msg = json.loads(raw)
            rid, sender, op = str(msg["id"]), str(msg["from"]), str(msg["op"])
            call_id, args = str(msg.get("call_id", "")), msg.get("args") or {}
            if op not in OPS or not isinstance(args, dict) or sender not in self.peers:
                raise ValueError(f"bad request {op!r} from {sender!r}")
            role, seat = msg.get("role"), msg.get("seat")
        except (ValueError, KeyError, TypeError) as exc:
            self.stats["bad_messages"] += 1
            log.warning("call control relay: a bad request ignored (%s): %.200r", exc, raw)
            return
        answer: dict[str, Any] = {"id": rid, "ok": True}
        try:
            if op == "live":
                answer["result"] = self._live_items()
            elif op == "seat_call":
                answer["result"] = await self.seat_call(str(args["seat"])) if self.seat_call else None
            else:
                check_may_act(self._control, call_id, role if isinstance(role, str) else None,
                              seat if isinstance(seat, str) else None)
                answer["result"] = await perform(self._control, op, call_id, args)
        except HotlineError as exc:
            answer = {"id": rid, "ok": False, "error": {**exc.to_dict(), "http_status": exc.http_status}}
        except Exception:
            log.exception("call control relay: %s of %s for %s failed", op, call_id, sender)
            answer = {"id": rid, "ok": False, "error": {"error_id": "internal-error", "http_status": 500,
                                                        "message": "internal error on the call's node", "details": {}}}
        self.stats["served"] += 1
        with contextlib.suppress(Exception):
            await self._client.publish(self._answers(sender), json.dumps(answer, default=str))

    def _answered(self, raw: Any) -> None:
        try:
            msg = json.loads(raw)
            waiter = self._waiting.get(str(msg["id"]))
        except (ValueError, KeyError, TypeError):
            self.stats["bad_messages"] += 1
            return
        if waiter is not None and not waiter.done() and isinstance(msg, dict):
            waiter.set_result(msg)

    async def run(self) -> None:
        """Until cancelled: listen for requests and answers; reconnect after a Redis outage."""
        await hold_connection(self.redis_url, self._listen, retry=self._retry, lost=self._lost)

    async def _listen(self, client: Any, up: Callable[[], None]) -> None:
        pubsub = client.pubsub()
        await pubsub.subscribe(self._requests(self.node), self._answers(self.node))
        self._client = client
        up()
        try:
            while True:
                msg = await next_message(pubsub, 1.0)
                if msg is None:
                    continue
                if msg.get("channel") == self._answers(self.node):
                    self._answered(msg["data"])
                else:   # served beside the loop: a slow AMI action must not hold the answers up
                    task = asyncio.create_task(self._serve(msg["data"]))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
        finally:
            self._client = None

    def _lost(self, exc: Exception) -> None:
        self.stats["redis_errors"] += 1
        log.warning("call control relay: Redis unavailable (%s: %s)", type(exc).__name__, exc)

    def status(self) -> dict[str, Any]:
        return {"ok": self._client is not None, "peers": self.peers, **self.stats}
