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
from hotline.auth.roles import may_act_on_call
from hotline.calls.control import CallControl
from hotline.exceptions import NotYourCall
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


def add_routes(app: web.Application, control: CallControl, live_calls: LiveCalls) -> None:
    """Register before ``/api/calls/{call_id}`` so that ``/api/calls/live`` is not taken for an id."""

    def own_call(request: web.Request) -> CallControl:
        """The service, once the caller may act on this call: a seat user only on a call its seat
        is on (``not-your-call``); a call that is not live is left to the service to refuse."""
        ctl = control
        principal = principal_of(request)
        call_id = request.match_info["call_id"]
        view = ctl.live(call_id)
        if principal is not None and view is not None and not may_act_on_call(principal.role, principal.seat,
                                                                              view.seats):
            raise NotYourCall(call_id, principal.seat, sorted(view.seats))
        return ctl

    async def list_live(request: web.Request) -> web.Response:
        items = live_calls()
        seats: dict[str, set[str]] = {}
        for item in items:
            view = control.live(str(item.get("call_id")))
            if view is not None:
                item["control"] = view.to_dict()
                seats[str(item.get("call_id"))] = view.seats
        items = await request.app[DISCLOSURE].apply(
            request, items, mask=mask_record,
            handled_by=lambda i: {i.get("seat"), *seats.get(str(i.get("call_id")), set())})
        return json_response({"items": items, "total": len(items)})

    async def targets(request: web.Request) -> web.Response:
        items = control.targets()
        return json_response({"items": items, "total": len(items)})

    async def transfer(request: web.Request) -> web.Response:
        body = parse_json_body(TransferBody, await request.read())
        done = await own_call(request).transfer(request.match_info["call_id"], body.target, body.kind)
        return json_response(done, status=202)

    async def conference_add(request: web.Request) -> web.Response:
        body = parse_json_body(ConferenceBody, await request.read())
        return json_response(await own_call(request).conference_add(request.match_info["call_id"], body.target), status=202)

    async def conference_drop(request: web.Request) -> web.Response:
        done = await own_call(request).conference_drop(request.match_info["call_id"], request.match_info["party"])
        return json_response(done, status=202)

    async def emergency(request: web.Request) -> web.Response:
        body = parse_json_body(EmergencyBody, await request.read())
        done = await own_call(request).emergency(request.match_info["call_id"], body.service, body.mode)
        return json_response(done, status=202)

    app.router.add_get("/api/calls/live", list_live)
    app.router.add_get("/api/transfer-targets", targets)
    app.router.add_post("/api/calls/{call_id}/transfer", transfer)
    app.router.add_post("/api/calls/{call_id}/conference", conference_add)
    app.router.add_delete("/api/calls/{call_id}/conference/{party}", conference_drop)
    app.router.add_post("/api/calls/{call_id}/emergency", emergency)
