"""Issue 10, item 4: a node's identity everywhere, on the real Asterisk started with a systemname.

With ``site.node`` set, asterisk.conf gets ``systemname``; Asterisk then names every channel
``<node>-<epoch>.<sequence>``. A call to 12345 reaches a seat and lands as a record whose id
carries the prefix: in the live state while it lasts (the live call and the seat's view), in the
store and through the API after, its recording named after it. A queue callback and a three-way
call (whose account codes and conference name carry the call id through the dialplan) too.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from hotline.spine import ids

from . import test_callbacks as cb
from .rig import Stack, http_json, wait_for
from .test_call_control import ANSWERING, Call, calls, control, only_leg, place  # noqa: F401  (fixtures)
from .test_callbacks import cb_stack  # noqa: F401  (a fixture)

NODE = "node01"


@pytest.fixture(scope="module")
def node(stack: Stack) -> Iterator[Stack]:
    """The session's stack with Asterisk restarted as node NODE; restored afterwards."""
    previous = stack.site_file.read_text(encoding="utf-8")
    data = yaml.safe_load(previous)
    data["site"] = {**data.get("site", {}), "node": NODE}
    try:
        stack.restart_asterisk_with_site(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
        yield stack
    finally:
        stack.restart_asterisk_with_site(previous)


def _asterisk_conf(stack: Stack) -> str:
    return (stack.runtime.host_path(stack.runtime.etc) / "asterisk.conf").read_text()


def _live_answered(stack: Stack, caller: str, proc: subprocess.Popen[bytes]) -> dict[str, Any] | None:
    if proc.poll() is not None:
        raise AssertionError(f"caller {caller} ended before a seat answered")
    code, body = http_json("GET", f"{stack.api}/api/calls/live")
    assert code == 200, body
    return next((c for c in body["items"] if c["caller_number"] == caller
                 and (c.get("control") or {}).get("seat_channel")), None)


def test_a_call_on_a_node_carries_its_prefix_from_live_state_to_the_record(node: Stack) -> None:
    assert "systemname = node01" in _asterisk_conf(node).splitlines()
    caller = "13900009901"
    proc = node.start_call("12345", caller)
    try:
        live = wait_for("the call answered by a seat, live", lambda: _live_answered(node, caller, proc), timeout=30)
        call_id = live["call_id"]
        parsed = ids.parse(call_id)
        assert parsed is not None and parsed.node == NODE, call_id
        assert live["outcome"] == "in_progress" and live["control"]["caller_channel"]
        # the seat's live view names the same conversation
        code, seats = http_json("GET", f"{node.api}/api/seats")
        assert code == 200, seats
        talking = [s for s in seats["items"] if s.get("call_id") == call_id]
        assert len(talking) == 1 and talking[0]["seat_id"] in {"1001", "1002"}, seats
        node.cli(f"channel request hangup {live['control']['caller_channel']}")   # the caller's line cleared
        proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    record = node.record_for(caller)
    assert record["call_id"] == call_id and record["outcome"] == "answered"
    assert record["seat"] == talking[0]["seat_id"] and record["dialled_number"] == "12345"
    assert record["recording"] == f"{call_id}.wav" and node.recording(record).is_file()
    code, body = http_json("GET", f"{node.api}/api/calls/{call_id}")
    assert code == 200 and body["call_id"] == call_id and body["source"] == "live", body
    assert [c["call_id"] for c in node.calls()].count(call_id) == 1


def test_the_node_dialplan_filter_keeps_a_node_id_and_drops_the_rest(node: Stack) -> None:
    """The characters the dialplan lets through for a call id (conference names, callback
    account codes): FILTER's range syntax, checked on Asterisk itself."""
    chars = ids.dialplan_filter(NODE)
    (kept, hostile) = node.ami({"Action": "Getvar", "Variable": f"FILTER({chars},node01-1796159078.17)"},
                               {"Action": "Getvar", "Variable": f"FILTER({chars},nö de;01/|x:y@z-17.0)"})
    assert kept["Response"] == "Success" and kept["Value"] == "node01-1796159078.17", kept
    assert hostile["Response"] == "Success" and hostile["Value"] == "nde01xyz-17.0", hostile


def test_a_queue_callback_on_a_node(node: Stack, cb_stack: Stack) -> None:  # noqa: F811
    """The callback's placeholder and its dial to the citizen carry the node's call id in their
    account code (``cb-<call id>``, through the dialplan's FILTER): the task connects and the
    try's record names the original call."""
    pstn = cb._uas(cb_stack, "seat_uas.xml")
    try:
        record = cb._request_callback(cb_stack, "13800009903")
        call_id = record["call_id"]
        assert (ids.parse(call_id) or ids.CallId(None, 0, 0)).node == NODE, call_id
        task = wait_for("the callback task", lambda: cb._task_for(cb_stack, call_id))
        assert (task["kind"], task["status"]) == ("queue_callback", "requested")
        wait_for("the placeholder in the queue",
                 lambda: "Local/hotline@hotline-cb-hold" in cb_stack.cli("queue show hotline"))
        cb_stack.login_seat_cli("1001")

        def connected() -> dict[str, Any] | None:
            # End every callback leg once the citizen answered (another module's task still
            # pending may be served first): each try then ends answered.
            for channel, bridge in cb_stack.channels().items():
                if channel.startswith("PJSIP/trunk-carrier-") and bridge:
                    cb_stack.cli(f"channel request hangup {channel}")
            task = cb._task_for(cb_stack, call_id) or {}
            return task if task.get("status") == "connected" else None
        done = wait_for("the task connected", connected, timeout=90, interval=0.5)
        tries = wait_for("the callback's record", lambda: cb._try_records(cb_stack, call_id))
        assert tries[0]["outcome"] == "answered" and tries[0]["seat"] == "1001", tries[0]
        assert (ids.parse(tries[0]["call_id"]) or ids.CallId(None, 0, 0)).node == NODE
        assert done["callback_call_id"] == tries[0]["call_id"] and done["seat"] == "1001"
    finally:
        cb._stop(pstn)


def test_a_three_way_call_on_a_node(node: Stack, control: Stack, calls: list[Call]) -> None:  # noqa: F811
    """The conference is named after the node's call id (the dialplan's conference context lets
    it through whole) and the department's leg lands on the call's record."""
    node.wait_reachable(ANSWERING)   # Asterisk was restarted as the node: its first qualify may be late
    call = place(control, calls, "13900009902")
    parsed = ids.parse(call.id)
    assert parsed is not None and parsed.node == NODE, call.id
    code, body = call.post("conference", {"target": ANSWERING})
    assert code == 202 and body["conference"] == f"hotline-{call.id}", body
    dept = wait_for("the department's leg", lambda: call.channel_of(ANSWERING))
    wait_for("caller, seat and department in the conference",
             lambda: call.members() == {call.channel, call.seat_channel, dept})
    record = call.hang_up()
    assert record["call_id"] == call.id and record["outcome"] == "answered"
    leg = only_leg(record)
    assert (leg["kind"], leg["target"], leg["answered"], leg["channel"]) == ("three_way", ANSWERING, True, dept)
