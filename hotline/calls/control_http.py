"""Call control for seat clients: live calls, transfers, three-way calls, emergencies.

Bodies are validated (unknown fields refused, each problem named by its field) before the
service looks at the call; the service checks the target against the directory before it
touches the call. Accepted requests answer 202 with what was sent to Asterisk: the outcome
(answered or not, who left first) is on the call record, from CEL, once the call ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import StringConstraints

from hotline.http.body import StrictBody, parse_json_body
from hotline.http.responses import json_response
from hotline.audit.disclosure import DISCLOSURE
from hotline.auth.middleware import principal_of
from hotline.calls.control import CallControl
from hotline.calls.relay import ControlRelay, check_may_act, live_items, perform
from hotline.privacy import mask_record

TargetKey = Annotated[str, StringConstraints(min_length=1, max_length=48)]
Service = Annotated[str, StringConstraints(min_length=1, max_length=20)]

LiveCalls = Callable[[], list[dict[str, Any]]]


class TransferBody(StrictBody):
    target: TargetKey
    kind: Literal["blind", "attended"] = "blind"


class ConferenceBody(StrictBody):
    target: TargetKey


class EmergencyBody(StrictBody):
    service: Service = "110"
    mode: Literal["transfer", "three_way"] = "transfer"


def add_routes(app: web.Application, control: CallControl, live_calls: LiveCalls,
               relay: ControlRelay | None = None) -> None:
    """Register before ``/api/calls/{call_id}`` so that ``/api/calls/live`` is not taken for an id.
    With a ``relay`` (several nodes), a call of another node is acted on by that node's controller."""

    async def act(request: web.Request, op: str, **args: Any) -> Any:
        """``op`` once the caller may act on this call: a seat user only on a call its seat is on
        (``not-your-call``); a call that is not live is left to the service to refuse."""
        call_id = request.match_info["call_id"]
        principal = principal_of(request)
        role, seat = (principal.role.value, principal.seat) if principal is not None else (None, None)
        node = relay.owner(call_id) if relay is not None else None
        if relay is not None and node is not None:   # on another node: its controller acts
            return await relay.ask(node, op, call_id, args, role=role, seat=seat)
        check_may_act(control, call_id, role, seat)
        return await perform(control, op, call_id, args)

    async def list_live(request: web.Request) -> web.Response:
        items = live_items(control, live_calls) + (await relay.peers_live() if relay is not None else [])
        seats = {str(i.get("call_id")): set(i.pop("_seats", None) or ()) for i in items}
        items = await request.app[DISCLOSURE].apply(
            request, items, mask=mask_record,
            handled_by=lambda i: {i.get("seat"), *seats.get(str(i.get("call_id")), set())})
        return json_response({"items": items, "total": len(items)})

    async def targets(request: web.Request) -> web.Response:
        items = control.targets()
        return json_response({"items": items, "total": len(items)})

    async def transfer(request: web.Request) -> web.Response:
        body = parse_json_body(TransferBody, await request.read())
        return json_response(await act(request, "transfer", target=body.target, kind=body.kind), status=202)

    async def conference_add(request: web.Request) -> web.Response:
        body = parse_json_body(ConferenceBody, await request.read())
        return json_response(await act(request, "conference_add", target=body.target), status=202)

    async def conference_drop(request: web.Request) -> web.Response:
        return json_response(await act(request, "conference_drop", party=request.match_info["party"]), status=202)

    async def emergency(request: web.Request) -> web.Response:
        body = parse_json_body(EmergencyBody, await request.read())
        return json_response(await act(request, "emergency", service=body.service, mode=body.mode), status=202)

    app.router.add_get("/api/calls/live", list_live)
    app.router.add_get("/api/transfer-targets", targets)
    app.router.add_post("/api/calls/{call_id}/transfer", transfer)
    app.router.add_post("/api/calls/{call_id}/conference", conference_add)
    app.router.add_delete("/api/calls/{call_id}/conference/{party}", conference_drop)
    app.router.add_post("/api/calls/{call_id}/emergency", emergency)
