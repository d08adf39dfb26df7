"""A logged-in seat whose phone Asterisk cannot reach (device unavailable) is logged out after
``seat_rules.unreachable_logout_after`` seconds; reachable again in time, it stays (issue 13:
a browser that loses its network leaves the queue)."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from hotline.ami.port import AmiPort
from hotline.config import parse_site
from hotline.live.hub import LiveHub
from hotline.seats.reach import UnreachableWatch
from hotline.seats.services import SeatService

from test_seat_service import EVENTS, SITE, FakeAmi

AFTER_S = 1


def status(seat: str, queue: str, code: str) -> dict[str, str]:
    """QueueMemberStatus as Asterisk 22 sends it (the recorded event, Status changed)."""
    event = next(e for e in EVENTS if e.get("Event") == "QueueMemberStatus")
    return {**event, "Queue": queue, "MemberName": seat, "Interface": f"PJSIP/{seat}",
            "StateInterface": f"PJSIP/{seat}", "Status": code}


@pytest.fixture
async def svc(after_s: int) -> Any:
    site = copy.deepcopy(SITE)
    site["seat_rules"] = {**site["seat_rules"], "unreachable_logout_after": after_s}
    ami = FakeAmi()
    service = SeatService(parse_site(site), AmiPort(ami.send), LiveHub(""))
    service.ami_fake = ami   # type: ignore[attr-defined]
    yield service
    service.stop()


async def logged_out(svc: SeatService, seat: str) -> None:
    while svc.view(seat)["state"] != "logged_out":
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("after_s", [AFTER_S])
async def test_an_unreachable_seat_is_logged_out_of_every_queue(svc: SeatService) -> None:
    ami: FakeAmi = svc.ami_fake   # type: ignore[attr-defined]
    await svc.login("1001")
    ami.actions.clear()
    svc.on_ami_event(status("1001", "hotline", "5"))   # AST_DEVICE_UNAVAILABLE
    assert svc.reach.pending() == ["1001"] and svc.view("1001")["device"] == "unavailable"
    await asyncio.wait_for(logged_out(svc, "1001"), 10)
    assert sorted(a["Queue"] for a in ami.named("QueueRemove")) == ["hotline", "wrapq"]
    assert svc.reach.logouts == 1 and svc.reach.pending() == []
    assert svc.view("1001")["queues"] == []


@pytest.mark.parametrize("after_s", [AFTER_S])
async def test_back_in_time_the_seat_stays(svc: SeatService) -> None:
    ami: FakeAmi = svc.ami_fake   # type: ignore[attr-defined]
    await svc.login("1002")
    svc.on_ami_event(status("1002", "hotline", "5"))
    svc.on_ami_event(status("1002", "hotline", "1"))   # NOT_INUSE: qualify answered again
    assert svc.reach.pending() == []
    ami.sent.clear()
    with pytest.raises(TimeoutError):   # nothing is sent in twice the delay
        await asyncio.wait_for(ami.sent.wait(), 2 * AFTER_S)
    assert svc.view("1002")["state"] == "idle" and svc.reach.logouts == 0


@pytest.mark.parametrize("after_s", [AFTER_S])
async def test_a_seat_logged_out_meanwhile_is_left_alone(svc: SeatService) -> None:
    await svc.login("1002")
    svc.on_ami_event(status("1002", "hotline", "5"))
    await svc.logout("1002")
    assert svc.reach.pending() == []


@pytest.mark.parametrize("after_s", [0])
async def test_zero_never_logs_out(svc: SeatService) -> None:
    await svc.login("1002")
    svc.on_ami_event(status("1002", "hotline", "5"))
    assert svc.reach.pending() == [] and svc.view("1002")["state"] == "idle"


async def test_a_failed_logout_is_logged_and_counted_nowhere() -> None:
    calls: list[str] = []

    async def refuse(seat: str) -> None:
        calls.append(seat)
        raise RuntimeError("AMI down")
    watch = UnreachableWatch(1, refuse)
    done = asyncio.get_running_loop().create_future()
    watch._logout = lambda s: _and_set(refuse(s), done)   # type: ignore[method-assign]
    watch.seen("1001", "invalid", True)
    await asyncio.wait_for(done, 10)
    await asyncio.sleep(0)   # the task's handler runs after the awaited coroutine's exception
    assert calls == ["1001"] and watch.logouts == 0 and watch.pending() == []
    watch.stop()


async def _and_set(coro: Any, done: asyncio.Future[None]) -> None:
    try:
        await coro
    finally:
        done.set_result(None)


@pytest.mark.parametrize("value", [-1, 86401, "soon"])
def test_the_setting_is_checked(value: object) -> None:
    site = copy.deepcopy(SITE)
    site["seat_rules"] = {"unreachable_logout_after": value}
    with pytest.raises(Exception) as err:   # noqa: B017  (the site's config error; its text is checked)
        parse_site(site)
    assert "unreachable_logout_after" in str(err.value)
