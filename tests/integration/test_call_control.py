"""Call control with the real Asterisk and SIP phones, through the HTTP API as a seat client uses
it: three-way calls with a department (audio among all three: bridge membership and RTP
counters), the seat leaving, the department dropped or never answering, transfers to 110 and to
a convenience partner, attended transfers, and bad requests that must leave the call untouched.

The PSTN behind the carrier trunk (110, parallel numbers, partners) is a sipp UAS on the trunk's
contact; department phones are sipp UASes registered as dept-<id> (rig.DEPT_PHONES).
"""

from __future__ import annotations

import subprocess
import wave
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from .livecall import ANSWERING, SILENT, Call, bridged_with, rtp_flows
from .rig import CONTROL_CONVENIENCE, CONTROL_EMERGENCY, CONTROL_SITE_EXTRA, Stack, http_json, wait_for


@pytest.fixture(scope="module")
def control(stack: Stack) -> Iterator[Stack]:
    previous = stack.extend_site(CONTROL_SITE_EXTRA)
    started: list[subprocess.Popen[bytes]] = []
    try:
        started += stack.start_department_phones()
        started.append(stack.start_pstn())
        yield stack
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        stack.restore_site(previous)


@pytest.fixture
def calls(control: Stack) -> Iterator[list[Call]]:
    placed: list[Call] = []
    yield placed
    for call in placed:
        call.close()


def place(control: Stack, calls: list[Call], caller: str) -> Call:
    call = Call(control, caller)
    calls.append(call)
    return call


def seconds(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def only_leg(record: dict[str, Any]) -> dict[str, Any]:
    legs = record["extra"].get("legs")
    assert isinstance(legs, list) and len(legs) == 1, record["extra"]
    return legs[0]


# -- three-way calls ------------------------------------------------------------------------------

def test_three_way_call_audio_among_all_three_then_the_seat_leaves(control: Stack, calls: list[Call]) -> None:
    before = len(control.calls())
    call = place(control, calls, "13900000301")
    code, body = call.post("conference", {"target": ANSWERING})
    assert code == 202, body
    assert body["action"] == "conference_add" and body["conference"] == call.conference
    dept = wait_for("the department's leg", lambda: call.channel_of(ANSWERING))
    wait_for("caller, seat and department in the conference",
             lambda: call.members() == {call.channel, call.seat_channel, dept})
    rtp_flows(control, [call.channel, call.seat_channel, dept])
    joined = datetime.now().astimezone()

    code, body = call.delete("conference/seat")
    assert code == 202 and body["party"] == "seat", body
    wait_for("the seat gone, caller and department still together",
             lambda: call.members() == {call.channel, dept} and call.seat_channel not in control.channels())
    rtp_flows(control, [call.channel, dept])
    assert control.channels()[call.channel] == control.channels()[dept]  # one bridge: the conference

    record = call.hang_up()
    wait_for("the department released when the caller left", lambda: call.channel_of(ANSWERING) is None)
    assert record["outcome"] == "answered" and record["seat"] in {"1001", "1002"}
    leg = only_leg(record)
    assert leg["kind"] == "three_way" and leg["target"] == ANSWERING and leg["target_type"] == "department_phone"
    assert leg["answered"] is True and leg["outcome"] == "answered" and leg["channel"] == dept
    assert 0 < leg["ring_seconds"] < 5 and leg["talk_seconds"] > 0.3
    assert leg["left_first"] == "seat"
    # the recording is the caller's: it goes on through the conference until the caller leaves
    with wave.open(str(control.recording(record))) as w:
        recorded = w.getnframes() / w.getframerate()
    assert abs(recorded - record["talk_seconds"]) < 1.0
    assert recorded >= seconds(record["answered_at"], joined.isoformat())
    # the leg (a conversation of its own) is on the call's record, never a record of its own
    assert [c["call_id"] for c in control.calls()].count(call.id) == 1
    assert len(control.calls()) == before + 1


def test_seat_drops_the_department_and_keeps_the_caller(control: Stack, calls: list[Call]) -> None:
    call = place(control, calls, "13900000302")
    assert call.post("conference", {"target": ANSWERING})[0] == 202
    dept = wait_for("the department's leg", lambda: call.channel_of(ANSWERING))
    wait_for("three in the conference", lambda: call.members() == {call.channel, call.seat_channel, dept})
    code, body = call.delete("conference/department")
    assert code == 202 and body["steps"] == [f"Hangup {dept}"], body
    wait_for("caller and seat together again", lambda: call.members() == {call.channel, call.seat_channel})
    rtp_flows(control, [call.channel, call.seat_channel])
    leg = only_leg(call.hang_up())
    assert leg["answered"] is True and leg["left_first"] == "target"


def test_department_that_never_answers_rings_out_and_the_caller_stays_with_the_seat(
        control: Stack, calls: list[Call]) -> None:
    call = place(control, calls, "13900000303")
    code, body = call.post("conference", {"target": SILENT})
    assert code == 202, body
    ring = body["ring_seconds"]
    assert ring == 5  # the department's parallel number rings 5 s (rig.PARALLEL_RING_S)
    ringing = wait_for("the department's phone ringing", lambda: call.channel_of(SILENT))
    wait_for("caller and seat in the conference", lambda: call.members() == {call.channel, call.seat_channel})
    wait_for("the ring time over", lambda: ringing not in control.channels(), timeout=ring + 10)
    assert call.members() == {call.channel, call.seat_channel}
    rtp_flows(control, [call.channel, call.seat_channel])
    code, live = http_json("GET", f"{control.api}/api/calls/live")
    mine = next(c for c in live["items"] if c["call_id"] == call.id)
    assert mine["control"]["legs"] == [] and mine["extra"]["legs"][0]["outcome"] == "no_answer"
    record = call.hang_up()
    leg = only_leg(record)
    assert leg["target"] == SILENT and leg["answered"] is False and leg["outcome"] == "no_answer"
    assert ring - 0.5 < leg["ring_seconds"] < ring + 2
    assert leg["talk_seconds"] is None and leg["left_first"] is None
    assert record["outcome"] == "answered" and record["talk_seconds"] > ring


def test_three_way_call_with_110(control: Stack, calls: list[Call]) -> None:
    before = len(control.calls())
    call = place(control, calls, "13900000304")
    code, body = call.post("emergency", {"service": CONTROL_EMERGENCY, "mode": "three_way"})
    assert code == 202 and body["emergency"] == {"service": CONTROL_EMERGENCY, "mode": "three_way"}, body
    wait_for("caller, seat and 110 in the conference", lambda: len(call.members()) == 3)
    record = call.hang_up()
    leg = only_leg(record)
    assert (leg["kind"], leg["target"], leg["target_type"], leg["answered"]) == ("three_way", "110", "emergency",
                                                                                  True)
    assert record["extra"]["emergency"] == "110"
    # 110's leg is a channel created on the trunk, with a Linkedid of its own: never a record
    wait_for("no channel left", lambda: not [c for c in control.channels() if c.startswith("PJSIP/trunk-")])
    assert len(control.calls()) == before + 1


# -- transfers ------------------------------------------------------------------------------------

def test_one_click_transfer_to_110(control: Stack, calls: list[Call]) -> None:
    call = place(control, calls, "13900000305")
    code, body = call.post("emergency", {"service": CONTROL_EMERGENCY})
    assert code == 202 and body["action"] == "transfer" and body["kind"] == "blind", body

    pstn = wait_for("the caller bridged with 110 through the trunk, the seat released",
                    lambda: call.seat_channel not in control.channels() and bridged_with(control, call.channel))
    assert pstn.startswith("PJSIP/trunk-carrier-")
    record = call.hang_up()
    leg = only_leg(record)
    assert (leg["kind"], leg["target"], leg["number"], leg["answered"]) == ("blind", "110", "110", True)
    assert leg["channel"] == pstn and leg["left_first"] == "caller"
    assert record["extra"]["emergency"] == "110" and record["seat"] in {"1001", "1002"}


def received_invites(log: str) -> list[str]:
    """The INVITEs in a sipp message log (``-trace_msg``): one text per message received."""
    chunks = log.split("----------------------------------------------- ")
    return [c.split("\n\n", 1)[1] for c in chunks
            if "message received" in c and "\n\n" in c and c.split("\n\n", 1)[1].lstrip().startswith("INVITE ")]


def test_blind_transfer_to_a_department_shows_it_the_hotline_number_not_the_callers(control: Stack,
                                                                                    calls: list[Call]) -> None:
    """The complainant's identity is confidential: the department's phone is offered the call from
    12345 (the INVITE's From), and the citizen's number is nowhere in what it is sent."""
    caller = "13900000311"
    call = place(control, calls, caller)
    since = control.dept_messages_size(ANSWERING)
    code, body = call.post("transfer", {"target": ANSWERING})
    assert code == 202 and body["kind"] == "blind", body
    dept = wait_for("the caller bridged with the department phone, the seat released",
                    lambda: call.seat_channel not in control.channels()
                    and (bridged_with(control, call.channel) or "").startswith(f"PJSIP/{ANSWERING}-")
                    and bridged_with(control, call.channel))
    invites = wait_for("the department phone logged the INVITE",
                       lambda: received_invites(control.dept_messages(ANSWERING, since)), timeout=10)
    assert len(invites) == 1, invites
    headers = {line.split(":", 1)[0].strip().lower(): line.split(":", 1)[1].strip()
               for line in invites[0].splitlines() if ":" in line and not line.startswith(" ")}
    assert "<sip:12345@" in headers["from"], headers["from"]
    assert caller not in invites[0], invites[0]
    record = call.hang_up()
    leg = only_leg(record)
    assert (leg["kind"], leg["target"], leg["answered"], leg["channel"]) == ("blind", ANSWERING, True, dept)
    assert record["caller_number"] == caller   # the record keeps it: the API masks it per reader


def test_bad_targets_are_refused_and_the_call_is_untouched_then_a_referral(control: Stack,
                                                                           calls: list[Call]) -> None:
    call = place(control, calls, "13900000306")
    bridge = control.channels()[call.channel]
    code, body = call.post("transfer", {"target": "88888888"})
    assert code == 404 and body["error_id"] == "no-such-target" and body["details"]["target"] == "88888888"
    code, body = call.post("emergency", {"service": "119"})
    assert code == 422 and body["error_id"] == "emergency-route-not-configured"
    code, body = call.post("conference", {"target": "12345"})
    assert code == 404 and body["error_id"] == "no-such-target"
    code, body = call.post("transfer", {"target": CONTROL_EMERGENCY, "kind": "sideways"})
    assert code == 400 and body["details"]["field"] == "kind"
    code, body = http_json("POST", f"{control.api}/api/calls/1.0/transfer", {"target": CONTROL_EMERGENCY})
    assert code == 409 and body["error_id"] == "call-not-live"
    # untouched: still bridged with the same seat, audio both ways
    channels = control.channels()
    assert channels[call.channel] == bridge and channels[call.seat_channel] == bridge
    rtp_flows(control, [call.channel, call.seat_channel])

    # a convenience partner: the caller is referred, the record says so
    code, body = call.post("transfer", {"target": CONTROL_CONVENIENCE})
    assert code == 202, body
    wait_for("the caller with the partner", lambda: call.seat_channel not in control.channels()
             and bridged_with(control, call.channel) is not None)
    record = call.hang_up()
    assert record["extra"]["referral"] == CONTROL_CONVENIENCE
    leg = only_leg(record)
    assert leg["kind"] == "blind" and leg["target_type"] == "convenience" and leg["answered"] is True


def test_attended_transfer_completes_when_the_seat_hangs_up(control: Stack, calls: list[Call]) -> None:
    call = place(control, calls, "13900000307")
    number = next(n for n, t in ((t["target"], t) for t in http_json(
        "GET", f"{control.api}/api/transfer-targets")[1]["items"]) if t["type"] == "parallel" and n.isdigit())
    code, body = call.post("transfer", {"target": number, "kind": "attended"})
    assert code == 202 and body["steps"] == [f"Atxfer {call.seat_channel}"], body
    consulted = wait_for("the seat consulting the target", lambda: next(
        (c for c, b in control.channels().items() if c.startswith("PJSIP/trunk-carrier-") and c != call.channel
         and b), None))
    control.cli(f"channel request hangup {call.seat_channel}")   # the seat hangs up: the transfer completes
    wait_for("the caller with the target", lambda: control.channels().get(call.channel)
             and control.channels().get(call.channel) == control.channels().get(consulted))
    leg = only_leg(call.hang_up())
    assert leg["kind"] == "attended" and leg["target"] == number and leg["channel"] == consulted
    assert leg["answered"] is True and leg["left_first"] == "caller"
