"""A browser seat whose phone became unreachable (hotline/seats/browser_loss.py): logged out, a ring
to it hung up first (its caller goes to the next seat); a desk phone keeps its login; a seat on a
call is left alone. The real flow (a frozen Chromium) is tests/integration/test_console_webrtc.py."""

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


async def test_a_browser_seat_talking_is_not_logged_out(seats: Any) -> None:
    await seats.login(WEB)
    seats.on_ami_event(_status(WEB, "2"))   # in use: talking
    assert seats.view(WEB)["state"] == "talking"
    seats.ami.actions.clear()
    seats.on_ami_event(_status(WEB, "5"))
    await _settled(seats)
    assert not seats.ami.named("QueueRemove") and not seats.ami.named("Hangup")
