"""Call control (hotline.calls.control) and its HTTP API: validation before anything touches a
call, and the exact AMI actions sent, with a fake AMI sender and a tracker fed CEL captured on
Asterisk 22 (tests/fixtures/cel/control_*.jsonl)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from test_call_legs import DIRECTORY, NO_ANSWER, SEAT_LEAVES, SITE, TRANSFER_110, events

from hotline.ami.port import AmiPort
from hotline.ami import actions
from hotline.calls.cel import CelEvent
from hotline.calls.control import CallControl, dial_endpoint, live_view
from hotline.calls.services import CallTracker
from hotline.exceptions import (
    AsteriskActionFailed,
    CallControlUnavailable,
    CallNotLive,
    CallStateConflict,
    InvalidRequest,
    NoSuchTarget,
    NotConfigured,
)
from hotline.store import Store
from apikit import api_app

CALLER, SEAT = "PJSIP/trunk-carrier-00000012", "PJSIP/1001-00000013"      # in control_three_way_seat_leaves
LEG = "PJSIP/dept-shuiwu-00000014"


class FakeAmi:
    """Records every action; answers Success unless told otherwise."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self.as_list: list[bool | None] = []
        self.answers: dict[str, dict[str, str]] = {}
        self.error: BaseException | None = None

    async def __call__(self, action: dict[str, str], timeout: float = 10.0, *, as_list: bool | None = None) -> Any:
        if self.error is not None:
            raise self.error
        self.sent.append(action)
        self.as_list.append(as_list)
        return self.answers.get(action["Action"], {"Response": "Success", "Message": "ok"})


def until(evs: list[CelEvent], stop: Callable[[CelEvent], bool]) -> list[CelEvent]:
    """The events before the first one ``stop`` picks."""
    return evs[:next(i for i, e in enumerate(evs) if stop(e))]


def two_party() -> list[CelEvent]:
    """Caller and seat 1001 bridged by the queue (before the three-way call began)."""
    return until(events("control_three_way_seat_leaves"), lambda e: e.name == "BRIDGE_EXIT")


def in_conference() -> list[CelEvent]:
    """Caller, seat and the department's answered leg in the conference."""
    evs = events("control_three_way_seat_leaves")
    joined = next(e for e in evs if e.name == "BRIDGE_ENTER" and e.channel == LEG)
    return until(evs, lambda e: e.time > joined.time)


def make(evs: list[CelEvent] | None = None, expect: tuple[str, str] | None = None
         ) -> tuple[CallControl, FakeAmi, CallTracker]:
    tracker = CallTracker(DIRECTORY, lambda r: None, on_partial=lambda lid: None)
    if expect is not None:  # what conference_add tells the tracker before its Originate
        tracker.expect_leg(*expect)
    ami = FakeAmi()
    control = CallControl(SITE, tracker, AmiPort(ami), DIRECTORY)
    tracker.subscribe(control.on_event)
    for e in evs or []:
        tracker.add(e)
    return control, ami, tracker


# -- validation: nothing is sent ------------------------------------------------------------------

@pytest.mark.parametrize(("call", "error", "error_id"), [
    (lambda c: c.transfer(SEAT_LEAVES, "88888888"), NoSuchTarget, "no-such-target"),
    (lambda c: c.transfer(SEAT_LEAVES, "12345"), NoSuchTarget, "no-such-target"),
    (lambda c: c.transfer(SEAT_LEAVES, "119"), NotConfigured, "emergency-route-not-configured"),
    (lambda c: c.conference_add(SEAT_LEAVES, "dept-nobody"), NoSuchTarget, "no-such-target"),
    (lambda c: c.conference_add(SEAT_LEAVES, "120"), NotConfigured, "emergency-route-not-configured"),
    (lambda c: c.emergency(SEAT_LEAVES, "119"), NotConfigured, "emergency-route-not-configured"),
    (lambda c: c.emergency(SEAT_LEAVES, "12395", "three_way"), NotConfigured, "emergency-route-not-configured"),
    (lambda c: c.emergency(SEAT_LEAVES, "96196"), InvalidRequest, "invalid-request"),
    (lambda c: c.emergency(SEAT_LEAVES, "110", "conference"), InvalidRequest, "invalid-request"),
    (lambda c: c.transfer(SEAT_LEAVES, "110", "warm"), InvalidRequest, "invalid-request"),
    (lambda c: c.transfer(SEAT_LEAVES, "dept-shuiwu", "attended"), InvalidRequest, "invalid-request"),
    (lambda c: c.conference_drop(SEAT_LEAVES, "caller"), InvalidRequest, "invalid-request"),
])
async def test_bad_requests_are_refused_and_the_call_is_untouched(call: Any, error: type[Exception],
                                                                 error_id: str) -> None:
    control, ami, _ = make(two_party())
    with pytest.raises(error) as raised:
        await call(control)
    assert raised.value.error_id == error_id  # type: ignore[attr-defined]
    assert ami.sent == []


async def test_unknown_target_is_named_in_the_error() -> None:
    control, _, _ = make(two_party())
    with pytest.raises(NoSuchTarget) as raised:
        await control.transfer(SEAT_LEAVES, "88888888")
    assert raised.value.details == {"field": "target", "target": "88888888"}
    assert "88888888" in raised.value.message


async def test_target_is_checked_before_the_call() -> None:
    control, ami, _ = make()  # no call at all: the target error comes first
    with pytest.raises(NoSuchTarget):
        await control.transfer("1.0", "88888888")
    with pytest.raises(CallNotLive) as raised:
        await control.transfer("1.0", "110")
    assert raised.value.error_id == "call-not-live" and ami.sent == []


async def test_a_call_still_queued_is_not_answered_by_a_seat() -> None:
    queued = until(events("control_three_way_seat_leaves"), lambda e: e.name == "CHAN_START" and e.channel == SEAT)
    control, ami, _ = make(queued)
    with pytest.raises(CallNotLive, match="not answered by a seat"):
        await control.conference_add(SEAT_LEAVES, "dept-shuiwu")
    assert ami.sent == []


async def test_an_ended_call_is_not_live() -> None:
    control, ami, _ = make(events("control_transfer_110"))
    with pytest.raises(CallNotLive):
        await control.transfer(TRANSFER_110, "110")
    assert ami.sent == []


# -- the actions ---------------------------------------------------------------------------------

async def test_blind_transfer_redirects_the_caller_to_the_transfer_context() -> None:
    control, ami, _ = make(two_party())
    done = await control.transfer(SEAT_LEAVES, "110")
    assert ami.sent == [actions.redirect(CALLER, context="hotline-transfer", exten="110")]
    assert done["steps"] == [f"Redirect {CALLER}"] and done["kind"] == "blind"
    assert done["target"]["type"] == "emergency"


async def test_emergency_transfer_is_a_blind_transfer_to_the_route() -> None:
    control, ami, _ = make(two_party())
    done = await control.emergency(SEAT_LEAVES)
    assert ami.sent == [{"Action": "Redirect", "Channel": CALLER, "Context": "hotline-transfer", "Exten": "110",
                         "Priority": "1"}]
    assert done["emergency"] == {"service": "110", "mode": "transfer"}


async def test_attended_transfer_is_an_atxfer_on_the_seat_channel() -> None:
    control, ami, _ = make(two_party())
    await control.transfer(SEAT_LEAVES, "96196", "attended")
    assert ami.sent == [{"Action": "Atxfer", "Channel": SEAT, "Context": "hotline-transfer", "Exten": "96196"}]
    assert ami.as_list == [False]  # "Atxfer successfully queued" is the whole answer


async def test_a_seat_is_a_transfer_target_blind_and_attended() -> None:
    """Another seat, by its id: dialled on its own endpoint through hotline-transfer."""
    control, ami, _ = make(two_party())
    done = await control.transfer(SEAT_LEAVES, "1002")
    assert ami.sent == [actions.redirect(CALLER, context="hotline-transfer", exten="1002")]
    assert done["target"] == {"target": "1002", "type": "seat", "number": None, "department": None,
                              "ring_seconds": 20}
    control, ami, _ = make(two_party())
    await control.transfer(SEAT_LEAVES, "1002", "attended")
    assert ami.sent == [{"Action": "Atxfer", "Channel": SEAT, "Context": "hotline-transfer", "Exten": "1002"}]


async def test_a_seat_is_not_transferred_to_itself_nor_added_to_a_three_way_call() -> None:
    control, ami, _ = make(two_party())
    with pytest.raises(CallStateConflict, match="1001 is on the call"):
        await control.transfer(SEAT_LEAVES, "1001")
    with pytest.raises(InvalidRequest) as raised:
        await control.conference_add(SEAT_LEAVES, "1002")
    assert raised.value.details["field"] == "target" and ami.sent == []


async def test_three_way_call_moves_caller_and_seat_then_originates_the_tagged_leg() -> None:
    control, ami, tracker = make(two_party())
    done = await control.conference_add(SEAT_LEAVES, "dept-wuren")
    assert ami.sent == [
        {"Action": "Redirect", "Channel": CALLER, "Context": "hotline-conf", "Exten": SEAT_LEAVES, "Priority": "1",
         "ExtraChannel": SEAT, "ExtraContext": "hotline-conf", "ExtraExten": SEAT_LEAVES, "ExtraPriority": "1"},
        {"Action": "Originate", "Channel": "PJSIP/dept-wuren", "Context": "hotline-conf", "Exten": SEAT_LEAVES,
         "Priority": "1", "CallerID": '"12345" <12345>', "Timeout": "5000", "Async": "true",
         "Account": f"leg-{SEAT_LEAVES}-dept-wuren"},
    ]
    assert ami.as_list == [False, False]  # an async Originate's OriginateResponse never comes (filtered)
    assert done["ring_seconds"] == 5 and done["conference"] == f"hotline-{SEAT_LEAVES}"
    assert tracker._expected and tracker._expected[0][:2] == (SEAT_LEAVES, "dept-wuren")


async def test_three_way_with_110_through_the_trunk() -> None:
    control, ami, _ = make(two_party())
    done = await control.emergency(SEAT_LEAVES, "110", "three_way")
    assert ami.sent[1]["Channel"] == "PJSIP/110@trunk-carrier" and ami.sent[1]["Timeout"] == "30000"
    assert ami.sent[1]["Account"] == f"leg-{SEAT_LEAVES}-110"
    assert done["emergency"] == {"service": "110", "mode": "three_way"}


async def test_a_second_department_joins_the_conference_without_moving_anyone() -> None:
    control, ami, _ = make(in_conference())
    await control.conference_add(SEAT_LEAVES, "96196")
    assert [a["Action"] for a in ami.sent] == ["Originate"]
    with pytest.raises(CallStateConflict, match="already on the call"):
        await control.conference_add(SEAT_LEAVES, "dept-shuiwu")


async def test_seat_leaves_when_a_department_has_answered() -> None:
    control, ami, _ = make(in_conference())
    done = await control.conference_drop(SEAT_LEAVES, "seat")
    assert ami.sent == [actions.hangup(SEAT)] and done["party"] == "seat"


async def test_seat_cannot_leave_the_caller_alone() -> None:
    ringing = until(events("control_three_way_no_answer"), lambda e: e.name == "HANGUP")
    control, ami, _ = make(ringing, expect=(NO_ANSWER, "dept-wuren"))  # its CHAN_START has no accountcode
    with pytest.raises(CallStateConflict, match="no department has answered"):
        await control.conference_drop(NO_ANSWER, "seat")
    # the ringing department can be dropped (the call is then the seat's again)
    await control.conference_drop(NO_ANSWER, "department")
    assert ami.sent == [actions.hangup("PJSIP/dept-wuren-00000017")]


async def test_drop_department() -> None:
    control, ami, _ = make(in_conference())
    await control.conference_drop(SEAT_LEAVES, "department")
    assert ami.sent == [actions.hangup(LEG)]
    control, ami, _ = make(two_party())
    with pytest.raises(CallStateConflict, match="no department"):
        await control.conference_drop(SEAT_LEAVES, "department")
    with pytest.raises(CallStateConflict, match="not in a three-way call"):
        await control.conference_drop(SEAT_LEAVES, "seat")
    assert ami.sent == []


async def test_blind_transfer_out_of_a_three_way_call_releases_seat_and_department() -> None:
    control, ami, _ = make(in_conference())
    await control.transfer(SEAT_LEAVES, "96890")
    assert ami.sent == [actions.redirect(CALLER, context="hotline-transfer", exten="96890"),
                        actions.hangup(SEAT), actions.hangup(LEG)]
    with pytest.raises(CallStateConflict):
        await control.transfer(SEAT_LEAVES, "96196", "attended")


async def test_asterisk_refusal_and_ami_down_are_clear_errors() -> None:
    control, ami, _ = make(two_party())
    ami.answers["Redirect"] = {"Response": "Error", "Message": "Channel does not exist"}
    with pytest.raises(AsteriskActionFailed) as raised:
        await control.transfer(SEAT_LEAVES, "110")
    assert raised.value.details["asterisk_message"] == "Channel does not exist"
    ami.error = ConnectionError("AMI is not connected")
    with pytest.raises(CallControlUnavailable):
        await control.conference_add(SEAT_LEAVES, "110")
    ami.error = TimeoutError()
    with pytest.raises(AsteriskActionFailed, match="no response"):
        await control.transfer(SEAT_LEAVES, "110")


# -- keeping the conference tidy --------------------------------------------------------------

async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_when_the_caller_leaves_the_conference_seat_and_department_are_released() -> None:
    evs = events("control_three_way_seat_leaves")
    caller_gone = next(i for i, e in enumerate(evs) if e.name == "HANGUP" and e.uniqueid == SEAT_LEAVES)
    # the seat stayed this time: drop its leaving from the transcript
    kept = [e for e in evs[:caller_gone + 1] if not (e.channel == SEAT and e.name in ("BRIDGE_EXIT", "HANGUP",
                                                                                      "CHAN_END"))]
    _, ami, _ = make(kept)
    await settle()
    assert ami.sent == [actions.hangup(SEAT), actions.hangup(LEG)]


async def test_the_department_that_never_answers_leaves_caller_and_seat_together() -> None:
    evs = events("control_three_way_no_answer")
    leg_gone = next(i for i, e in enumerate(evs) if e.name == "LINKEDID_END") + 1
    control, ami, _ = make(evs[:leg_gone])
    await settle()
    assert ami.sent == []  # nothing to tidy: the caller is back with the seat
    view = control.live(NO_ANSWER)
    assert view is not None and view.in_conference and view.conference_seats == ["PJSIP/1002-00000016"]
    assert view.legs == [] and view.answered_by_seat


async def test_a_caller_left_alone_in_the_conference_is_hung_up() -> None:
    evs = events("control_three_way_seat_leaves")
    seat_gone = next(i for i, e in enumerate(evs) if e.name == "CHAN_END" and e.channel == SEAT) + 1
    leg_hangup = next(e for e in evs if e.name == "HANGUP" and e.channel == LEG)
    control, ami, _ = make(evs[:seat_gone])
    await settle()
    assert ami.sent == []  # the seat left, the caller is with the department
    control._tracker.add(leg_hangup)  # then the department hangs up
    await settle()
    assert ami.sent == [actions.hangup(CALLER)]


def test_live_view_of_each_state() -> None:
    evs = events("control_three_way_seat_leaves")
    view = live_view(SEAT_LEAVES, two_party(), {}, DIRECTORY)
    assert (view.caller, view.seat_with_caller, view.in_conference) == (CALLER, SEAT, False)
    own = [e for e in in_conference() if e.linkedid == SEAT_LEAVES]
    legs = {"1795446782.30": [e for e in in_conference() if e.linkedid != SEAT_LEAVES]}
    view = live_view(SEAT_LEAVES, own, legs, DIRECTORY)
    assert view.in_conference and view.conference_seats == [SEAT] and view.seat_with_caller is None
    assert [(leg.channel, leg.target, leg.answered) for leg in view.legs] == [(LEG, "dept-shuiwu", True)]
    view = live_view(SEAT_LEAVES, [e for e in evs if e.linkedid == SEAT_LEAVES], {}, DIRECTORY)
    assert view.caller is None and not view.answered_by_seat


@pytest.mark.parametrize(("dial", "endpoint"), [("PJSIP/110@trunk-carrier", "trunk-carrier"),
                                                ("PJSIP/dept-renshe", "dept-renshe")])
def test_dial_endpoint(dial: str, endpoint: str) -> None:
    assert dial_endpoint(dial) == endpoint


# -- the action builders ---------------------------------------------------------------------

def test_new_action_builders() -> None:
    assert actions.blind_transfer("PJSIP/1001-00000002", context="hotline-transfer", exten="110") == {
        "Action": "BlindTransfer", "Channel": "PJSIP/1001-00000002", "Context": "hotline-transfer", "Exten": "110"}
    assert actions.confbridge_list("hotline-1.2") == {"Action": "ConfbridgeList", "Conference": "hotline-1.2"}
    assert actions.confbridge_kick("hotline-1.2") == {"Action": "ConfbridgeKick", "Conference": "hotline-1.2",
                                                      "Channel": "all"}
    assert "Account" not in actions.originate("PJSIP/1001", context="c", exten="e")


@pytest.mark.parametrize("build", [
    lambda v: actions.redirect(v, context="c", exten="e"),
    lambda v: actions.redirect("PJSIP/1", context="c", exten="e", extra_channel=v),
    lambda v: actions.redirect("PJSIP/1", context=v, exten="e"),
    lambda v: actions.atxfer(v, context="c", exten="e"),
    lambda v: actions.atxfer("PJSIP/1", context="c", exten=v),
    lambda v: actions.blind_transfer("PJSIP/1", context="c", exten=v),
    lambda v: actions.originate("PJSIP/1", context="c", exten="e", account=v),
    lambda v: actions.confbridge_list(v),
    lambda v: actions.confbridge_kick("c", v),
])
def test_new_builders_refuse_line_breaks(build: Callable[[str], Any]) -> None:
    with pytest.raises(ValueError, match="line breaks"):
        build("x\r\nAction: Hangup")


# -- HTTP --------------------------------------------------------------------------------------

@pytest.fixture
async def api(sqlite_store: Store) -> AsyncIterator[tuple[TestClient[Any, Any], FakeAmi, CallTracker]]:
    control, ami, tracker = make(two_party())
    app = api_app(sqlite_store, control=control, live_calls=tracker.live_calls)
    async with TestClient(TestServer(app)) as client:
        yield client, ami, tracker


async def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    body: dict[str, Any] = await response.json()
    assert set(body) == {"error_id", "message", "details"}
    return body


async def test_http_live_calls_give_the_call_id_and_channels(api: Any) -> None:
    client, _, _ = api
    response = await client.get("/api/calls/live")
    assert response.status == 200
    body = await response.json()
    assert body["total"] == 1
    item = body["items"][0]
    assert item["call_id"] == SEAT_LEAVES and item["outcome"] == "in_progress" and item["seat"] == "1001"
    assert item["control"]["seat_channel"] == SEAT and item["control"]["caller_channel"] == CALLER


async def test_http_transfer_and_conference_answer_202_with_what_was_done(api: Any) -> None:
    client, ami, _ = api
    response = await client.post(f"/api/calls/{SEAT_LEAVES}/conference", json={"target": "dept-shuiwu"})
    assert response.status == 202
    body = await response.json()
    assert body["action"] == "conference_add" and body["steps"] == [f"Redirect {CALLER}", "Originate PJSIP/dept-shuiwu"]
    assert [a["Action"] for a in ami.sent] == ["Redirect", "Originate"]


@pytest.mark.parametrize(("method", "path", "body", "status", "error_id", "field"), [
    ("post", "transfer", {"target": "88888888"}, 404, "no-such-target", "target"),
    ("post", "transfer", {"target": "119"}, 422, "emergency-route-not-configured", "target"),
    ("post", "transfer", {}, 400, "invalid-request", "target"),
    ("post", "transfer", {"target": 110}, 400, "invalid-request", "target"),
    ("post", "transfer", {"target": "110", "kind": "warm"}, 400, "invalid-request", "kind"),
    ("post", "transfer", {"target": "110", "priority": 1}, 400, "invalid-request", "priority"),
    ("post", "transfer", "not json", 400, "invalid-request", "body"),
    ("post", "transfer", {"target": "x" * 49}, 400, "invalid-request", "target"),
    ("post", "conference", {"target": "dept-nobody"}, 404, "no-such-target", "target"),
    ("post", "emergency", {"service": "119"}, 422, "emergency-route-not-configured", "service"),
    ("post", "emergency", {"service": "110", "mode": "both"}, 400, "invalid-request", "mode"),
    ("delete", "conference/caller", None, 400, "invalid-request", "party"),
])
async def test_http_bad_requests_name_the_field_and_touch_nothing(api: Any, method: str, path: str, body: Any,
                                                                  status: int, error_id: str, field: str) -> None:
    client, ami, _ = api
    kwargs: dict[str, Any] = {"json": body} if body is not None else {}
    if isinstance(body, str):   # malformed JSON, sent as JSON (other media types get 415 first)
        kwargs = {"data": body, "headers": {"Content-Type": "application/json"}}
    response = await getattr(client, method)(f"/api/calls/{SEAT_LEAVES}/{path}", **kwargs)
    error = await error_of(response, status)
    assert error["error_id"] == error_id and error["details"]["field"] == field
    assert ami.sent == []


async def test_http_call_not_live(api: Any) -> None:
    client, ami, _ = api
    error = await error_of(await client.post("/api/calls/1.0/transfer", json={"target": "110"}), 409)
    assert error["error_id"] == "call-not-live" and ami.sent == []


async def test_http_without_an_ami_connection(api: Any) -> None:
    """The API always has call control (one composition root); without an AMI connection a
    command on a live call answers 503 and the live list still answers."""
    client, ami, _ = api
    ami.error = ConnectionError("AMI is not connected")
    error = await error_of(await client.post(f"/api/calls/{SEAT_LEAVES}/transfer", json={"target": "110"}), 503)
    assert error["error_id"] == "call-control-unavailable" and ami.sent == []
    live = await client.get("/api/calls/live")
    assert live.status == 200 and [i["call_id"] for i in (await live.json())["items"]] == [SEAT_LEAVES]


async def test_http_responses_match_the_openapi_document(api: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    client, _, _ = api
    document = await (await client.get("/openapi.json")).json()
    resource = referencing.Resource.from_contents(document, default_specification=referencing.jsonschema.DRAFT202012)
    registry = referencing.Registry().with_resource("urn:hotline-api", resource)

    def check(schema: str, body: Any) -> None:
        jsonschema.Draft202012Validator({"$ref": f"urn:hotline-api#/components/schemas/{schema}"},
                                        registry=registry).validate(body)

    check("LiveCallPage", await (await client.get("/api/calls/live")).json())
    check("TransferTargetPage", await (await client.get("/api/transfer-targets")).json())
    check("CallControlResult", await (await client.post(f"/api/calls/{SEAT_LEAVES}/emergency",
                                                        json={"service": "110", "mode": "three_way"})).json())
    check("CallControlResult", await (await client.post(f"/api/calls/{SEAT_LEAVES}/transfer",
                                                        json={"target": "96196", "kind": "attended"})).json())
    check("Error", await (await client.post(f"/api/calls/{SEAT_LEAVES}/transfer", json={"target": "1"})).json())
    check("TransferRequest", {"target": "110", "kind": "blind"})
    with pytest.raises(jsonschema.ValidationError):
        check("TransferRequest", {"target": "110", "kind": "warm"})
