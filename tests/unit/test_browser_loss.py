"""A browser seat whose phone became unreachable (hotline/seats/browser_loss.py): logged out, a ring
to it hung up first (its caller goes to the next seat); a desk phone keeps its login; a browser lost
mid-call sends its caller back to the queue (hotline-requeue) and is logged out once its leg ended.
The real flows (a frozen Chromium) are in tests/integration/test_console_webrtc.py."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from hotline.ami.port import AmiPort
from hotline.config import parse_site
from hotline.live.hub import LiveHub
from hotline.seats.browser_loss import BrowserAwareSeats

from test_seat_service import SITE, Clock, FakeAmi

WEB = "1011"


def _site() -> Any:
    d = copy.deepcopy(SITE)
    d["seats"].append({"id": WEB, "name": "网页坐席", "secret": "s3cret-1011", "queues": ["hotline"],
                       "phone": "browser"})
    return parse_site(d)


def _status(seat: str, status: str) -> dict[str, str]:
    return {"Event": "QueueMemberStatus", "Queue": "hotline", "MemberName": seat, "Interface": f"PJSIP/{seat}",
            "StateInterface": f"PJSIP/{seat}", "Membership": "dynamic", "Status": status, "Paused": "0",
            "InCall": "0"}


def _called(seat: str) -> dict[str, str]:
    return {"Event": "AgentCalled", "Queue": "hotline", "MemberName": seat, "Interface": f"PJSIP/{seat}",
            "Channel": "PJSIP/trunk-carrier-00000001", "CallerIDNum": "13812345678", "Uniqueid": "1795444600.1",
            "Linkedid": "1795444600.1", "DestChannel": f"PJSIP/{seat}-00000007"}


CALLER, LEG = "PJSIP/trunk-carrier-00000001", f"PJSIP/{WEB}-00000007"


def _connect(seat: str) -> dict[str, str]:
    return {"Event": "AgentConnect", "Queue": "hotline", "MemberName": seat, "Interface": f"PJSIP/{seat}",
            "Channel": CALLER, "CallerIDNum": "13812345678", "Uniqueid": "1795444600.1", "Linkedid": "1795444600.1",
            "DestChannel": f"PJSIP/{seat}-00000007", "HoldTime": "2", "RingTime": "1"}


def _complete(seat: str) -> dict[str, str]:
    return {**_connect(seat), "Event": "AgentComplete", "TalkTime": "40", "Reason": "agent"}


def _contact(seat: str, status: str) -> dict[str, str]:
    """As res_pjsip reports a contact's qualify result (system class)."""
    return {"Event": "ContactStatus", "Privilege": "system,all", "URI": f"sip:{seat}@127.0.0.1:40123;transport=ws",
            "ContactStatus": status, "AOR": seat, "EndpointName": seat, "RoundtripUsec": "0"}


@pytest.fixture
async def seats() -> Any:
    ami = FakeAmi()
    svc = BrowserAwareSeats(_site(), AmiPort(ami.send), LiveHub(""), clock=Clock())
    svc.ami = ami   # type: ignore[attr-defined]
    yield svc
    svc.stop()


async def _settled(svc: BrowserAwareSeats) -> None:
    for _ in range(50):
        if not svc._loss_tasks:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the loss was not handled")


async def test_an_unreachable_browser_is_logged_out_and_its_ring_hung_up_first(seats: Any) -> None:
    await seats.login(WEB)
    seats.on_ami_event(_status(WEB, "1"))
    seats.on_ami_event(_called(WEB))
    assert seats.view(WEB)["state"] == "ringing"
    seats.ami.actions.clear()
    seats.on_ami_event(_status(WEB, "5"))
    seats.on_ami_event(_status(WEB, "5"))   # the same news from another queue: handled once
    await _settled(seats)
    names = [a["Action"] for a in seats.ami.actions]
    assert names[0] == "Hangup" and seats.ami.actions[0]["Channel"] == f"/^PJSIP/{WEB}-.*$/"
    assert "QueueRemove" in names and names.count("Hangup") == 1
    assert seats.view(WEB)["state"] == "logged_out"


async def test_a_desk_phone_unavailable_keeps_its_login(seats: Any) -> None:
    await seats.login("1002")
    seats.ami.actions.clear()
    seats.on_ami_event(_status("1002", "5"))
    await asyncio.sleep(0.05)
    assert not seats.ami.named("QueueRemove") and seats.view("1002")["state"] != "logged_out"


async def test_a_browser_seat_talking_is_not_logged_out_on_its_device_state(seats: Any) -> None:
    await seats.login(WEB)
    seats.on_ami_event(_status(WEB, "2"))   # in use: talking
    assert seats.view(WEB)["state"] == "talking"
    seats.ami.actions.clear()
    seats.on_ami_event(_status(WEB, "5"))
    await _settled(seats)
    assert not seats.ami.named("QueueRemove") and not seats.ami.named("Hangup")


async def _talking(seats: Any, seat: str) -> None:
    await seats.login(seat)
    seats.on_ami_event(_status(seat, "1"))
    seats.on_ami_event(_called(seat))
    seats.on_ami_event(_connect(seat))
    seats.on_ami_event(_status(seat, "2"))
    assert seats.view(seat)["state"] == "talking"
    seats.ami.actions.clear()


async def test_a_browser_lost_mid_call_sends_its_caller_back_to_the_queue_then_logs_out(seats: Any) -> None:
    await _talking(seats, WEB)
    seats.on_ami_event(_contact(WEB, "Unreachable"))
    seats.on_ami_event(_contact(WEB, "Unreachable"))   # told twice: one requeue
    await _settled(seats)
    assert [a["Action"] for a in seats.ami.actions][:2] == ["Redirect", "Hangup"]
    assert seats.ami.actions[0] == {"Action": "Redirect", "Channel": CALLER, "Context": "hotline-requeue",
                                    "Exten": WEB, "Priority": "1"}
    assert seats.ami.actions[1]["Channel"] == LEG and seats.ami.named("QueueRemove")
    assert seats.view(WEB)["state"] == "logged_out" and seats.stats["requeued"] == 1
    seats.on_ami_event(_complete(WEB))   # an AgentComplete after all (app_queue sends none): nothing changes
    assert seats.view(WEB)["state"] == "logged_out"


async def test_a_caller_and_leg_gone_meanwhile_is_no_error(seats: Any) -> None:
    await _talking(seats, WEB)
    seats.ami.errors["Redirect"] = f"Channel does not exist: {CALLER}"
    seats.ami.errors["Hangup"] = "No such channel"
    seats.on_ami_event(_contact(WEB, "Unreachable"))
    await _settled(seats)
    assert seats.view(WEB)["state"] == "logged_out"


@pytest.mark.parametrize(("seat", "status"), [("1002", "Unreachable"), ("1002", "Removed"), (WEB, "Reachable"),
                                              (WEB, "Removed"), (WEB, "Created")])
async def test_other_contact_news_leave_the_call_alone(seats: Any, seat: str, status: str) -> None:
    """A desk phone's contact (its caller keeps the leg until the RTP timeout), a browser that answers
    again, or one re-registering (SIP.js reconnecting its WebSocket: Removed then Created, the media
    going on over ICE): no redirect."""
    await _talking(seats, seat)
    seats.on_ami_event(_contact(seat, status))
    await asyncio.sleep(0.05)
    assert not seats.ami.named("Redirect") and seats.view(seat)["state"] == "talking"


async def test_an_idle_browser_contact_unreachable_changes_nothing_here(seats: Any) -> None:
    """Not on a call: the device state's rule (QueueMemberStatus 5) handles it."""
    await seats.login(WEB)
    seats.ami.actions.clear()
    seats.on_ami_event(_contact(WEB, "Unreachable"))
    await asyncio.sleep(0.05)
    assert not seats.ami.actions
