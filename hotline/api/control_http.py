"""Call control for seat clients: live calls, transfers, three-way calls, emergencies.

Bodies are validated (unknown fields refused, each problem named by its field) before the
service looks at the call; the service checks the target against the directory before it
touches the call. Accepted requests answer 202 with what was sent to Asterisk: the outcome
(answered or not, who left first) is on the call record, from CEL, once the call ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from hotline.api.responses import json_response
from hotline.audit.disclosure import DISCLOSURE
from hotline.auth.middleware import principal_of
from hotline.auth.roles import may_act_on_call
from hotline.calls.control import CallControl
from hotline.exceptions import CallControlUnavailable, InvalidRequest, NotYourCall
from hotline.privacy import mask_record

TargetKey = Annotated[str, StringConstraints(min_length=1, max_length=48)]
Service = Annotated[str, StringConstraints(min_length=1, max_length=20)]

LiveCalls = Callable[[], list[dict[str, Any]]]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TransferBody(_Body):
    target: TargetKey
    kind: Literal["blind", "attended"] = "blind"


class ConferenceBody(_Body):
    target: TargetKey


class EmergencyBody(_Body):
    service: Service = "110"
    mode: Literal["transfer", "three_way"] = "transfer"


_B = TypeVar("_B", bound="_Body")


def parse_body(model: type[_B], body: bytes) -> _B:
    """Parse and validate a JSON body; ``InvalidRequest`` naming the first field at fault."""
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"]) or "body"
        show_value = error["type"] not in ("missing", "json_invalid")
        raise InvalidRequest(field, error["msg"], error.get("input") if show_value else None) from None


def add_routes(app: web.Application, control: CallControl | None, live_calls: LiveCalls | None) -> None:
    """Register before ``/api/calls/{call_id}`` so that ``/api/calls/live`` is not taken for an id."""

    def service() -> CallControl:
        if control is None:
            raise CallControlUnavailable("this API runs without the controller's AMI connection")
        return control

    def own_call(request: web.Request) -> CallControl:
        """The service, once the caller may act on this call: a seat user only on a call its seat
        is on (``not-your-call``); a call that is not live is left to the service to refuse."""
        ctl = service()
        principal = principal_of(request)
        call_id = request.match_info["call_id"]
        view = ctl.live(call_id)
        if principal is not None and view is not None and not may_act_on_call(principal.role, principal.seat,
                                                                              view.seats):
            raise NotYourCall(call_id, principal.seat, sorted(view.seats))
        return ctl

    async def list_live(request: web.Request) -> web.Response:
        items = live_calls() if live_calls is not None else []
        seats: dict[str, set[str]] = {}
        if control is not None:
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
        items = service().targets()
        return json_response({"items": items, "total": len(items)})

    async def transfer(request: web.Request) -> web.Response:
        body = parse_body(TransferBody, await request.read())
        done = await own_call(request).transfer(request.match_info["call_id"], body.target, body.kind)
        return json_response(done, status=202)

    async def conference_add(request: web.Request) -> web.Response:
        body = parse_body(ConferenceBody, await request.read())
        return json_response(await own_call(request).conference_add(request.match_info["call_id"], body.target), status=202)

    async def conference_drop(request: web.Request) -> web.Response:
        done = await own_call(request).conference_drop(request.match_info["call_id"], request.match_info["party"])
        return json_response(done, status=202)

    async def emergency(request: web.Request) -> web.Response:
        body = parse_body(EmergencyBody, await request.read())
        done = await own_call(request).emergency(request.match_info["call_id"], body.service, body.mode)
        return json_response(done, status=202)

    app.router.add_get("/api/calls/live", list_live)
    app.router.add_get("/api/transfer-targets", targets)
    app.router.add_post("/api/calls/{call_id}/transfer", transfer)
    app.router.add_post("/api/calls/{call_id}/conference", conference_add)
    app.router.add_delete("/api/calls/{call_id}/conference/{party}", conference_drop)
    app.router.add_post("/api/calls/{call_id}/emergency", emergency)
