"""SeatService: commands checked before anything is sent, AMI queue events applied as facts,
auto-pause, wrap-up and the rebuild from QueueStatus.

Asterisk is replaced by a recording ``send`` (answers are dicts with ``Response``/``Message``,
as panoramisk's Messages answer ``.get``); the live hub is the real one in memory mode. The
events replayed are tests/fixtures/ami/seat_queue_events.txt and queue_status.txt, written with
the field names of Asterisk's AMI documentation (app_queue, Asterisk 22).
"""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest

from hotline.ami.port import AmiPort
from hotline.ami.parse import parse_block
from hotline.config import parse_site
from hotline.config.site import SiteConfig
from hotline.exceptions import (AsteriskActionFailed, CallControlUnavailable, NoSuchSeat, SeatStateConflict,
                                UnknownPauseReason)
from hotline.live.hub import LiveHub
from hotline.privacy import mask_number
from hotline.seats.services import SeatService

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"
T = 1795444600.0

SITE: dict[str, Any] = {
    "site": {"name": "测试热线", "hotline_number": "12345", "default_queue": "hotline"},
    "trunks": [{"name": "carrier", "host": "192.0.2.10", "match": ["192.0.2.0/28"]}],
    "queues": [
        {"name": "hotline", "title": "市热线", "overflow": [{"to": "county", "after": 30}]},
        {"name": "wrapq", "wrapup": 30},
        {"name": "county", "county": "东县", "wrapup": 30},
    ],
    "seats": [
        {"id": "1001", "name": "坐席 1001", "secret": "s3cret-1001", "queues": ["hotline", "wrapq"], "penalty": 3},
        {"id": "1002", "name": "坐席 1002", "secret": "s3cret-1002", "queues": ["hotline"]},
        {"id": "1005", "name": "县坐席 1005", "secret": "s3cret-1005", "queues": ["county"],
         "external_number": "13900000005"},
    ],
    "seat_rules": {"auto_pause_after": 2},
}


def load_blocks(name: str) -> list[dict[str, str]]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith(";")]
    blocks = [b for b in "\n".join(lines).split("\n\n") if b.strip()]
    out = []
    for block in blocks:
        headers, bad = parse_block(block)
        assert bad == 0, block
        out.append(headers)
    return out


EVENTS = load_blocks("seat_queue_events.txt")
QUEUE_STATUS = load_blocks("queue_status.txt")


class Clock:
    def __init__(self, t: float = T) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class FakeAmi:
    """Records actions; answers Success, or the configured error message or exception."""

    def __init__(self) -> None:
        self.actions: list[dict[str, str]] = []
        self.errors: dict[str, str | BaseException] = {}   # action name -> Message or exception
        self.queue_status: list[dict[str, str]] = []
        self.sent = asyncio.Event()

    async def send(self, action: dict[str, str], timeout: float | None = None, as_list: bool | None = None) -> Any:
        self.actions.append(dict(action))
        self.sent.set()
        error = self.errors.get(action["Action"])
        if isinstance(error, BaseException):
            raise error
        if error is not None:
            return {"Response": "Error", "ActionID": "x", "Message": error}
        if action["Action"] == "QueueStatus":
            return [dict(m) for m in self.queue_status]
        return {"Response": "Success", "ActionID": "x", "Message": "OK"}

    def named(self, name: str) -> list[dict[str, str]]:
        return [a for a in self.actions if a["Action"] == name]


@pytest.fixture
def site() -> SiteConfig:
    return parse_site(copy.deepcopy(SITE))


@pytest.fixture
def ami() -> FakeAmi:
    return FakeAmi()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state_rows() -> list[tuple[str, str, str | None, float, str | None]]:
    return []


@pytest.fixture
async def svc(site: SiteConfig, ami: FakeAmi, clock: Clock,
              state_rows: list[tuple[str, str, str | None, float, str | None]]) -> Any:
    hub = LiveHub("")
    service = SeatService(site, AmiPort(ami.send), hub, clock=clock,
                          state_log=lambda *row: state_rows.append(row))   # type: ignore[arg-type]
    yield service
    service.stop()


def replay(svc: SeatService, events: list[dict[str, str]]) -> None:
    for event in events:
        svc.on_ami_event(event)


def pick(view: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    return {k: view[k] for k in keys}


@pytest.mark.parametrize(("value", "masked"), [
    ("13812345678", "138****5678"), ("075512345", "075**2345"), ("1234567", "*****67"), ("110", "***"),
    ("", ""), (None, None),
])
def test_mask_number(value: str | None, masked: str | None) -> None:
    assert mask_number(value) == masked


# --- commands ---------------------------------------------------------------------------------


async def test_login_adds_every_membership(svc: SeatService, ami: FakeAmi,
                                           state_rows: list[Any]) -> None:
    view = await svc.login("1001")
    assert ami.actions == [
        {"Action": "QueueAdd", "Queue": "hotline", "Interface": "PJSIP/1001", "Penalty": "3", "MemberName": "1001",
         "StateInterface": "PJSIP/1001", "Paused": "false"},
        {"Action": "QueueAdd", "Queue": "wrapq", "Interface": "PJSIP/1001", "Penalty": "3", "MemberName": "1001",
         "StateInterface": "PJSIP/1001", "Paused": "false"},
    ]
    assert pick(view, ["state", "since", "queues", "reason"]) == {
        "state": "idle", "since": T, "queues": ["hotline", "wrapq"], "reason": None}
    assert state_rows == [("1001", "idle", None, T, None)]
    assert svc.hub.seats["1001"] == view
    assert svc.queue_view("hotline")["logged_in"] == 1 and svc.queue_view("hotline")["available"] == 1


async def test_login_of_an_external_seat(svc: SeatService, ami: FakeAmi) -> None:
    view = await svc.login("1005")
    local = "Local/1005@hotline-remote-seat/n"
    assert ami.actions == [
        {"Action": "Setvar", "Variable": "DEVICE_STATE(Custom:seat1005)", "Value": "NOT_INUSE"},
        {"Action": "QueueAdd", "Queue": "county", "Interface": local, "Penalty": "0", "MemberName": "1005",
         "StateInterface": "Custom:seat1005", "Paused": "false"},
        # hotline overflows to county: the county seat joins hotline one tier up
        {"Action": "QueueAdd", "Queue": "hotline", "Interface": local, "Penalty": "1000", "MemberName": "1005",
         "StateInterface": "Custom:seat1005", "Paused": "false"},
    ]
    assert view["queues"] == ["county", "hotline"] and view["remote"] is True


async def test_login_tolerates_already_there(svc: SeatService, ami: FakeAmi) -> None:
    ami.errors["QueueAdd"] = "Unable to add interface: Already there"
    assert (await svc.login("1002"))["state"] == "idle"


async def test_logout_removes_every_membership(svc: SeatService, ami: FakeAmi, clock: Clock) -> None:
    await svc.login("1001")
    ami.actions.clear()
    clock.t = T + 60
    view = await svc.logout("1001")
    assert ami.actions == [{"Action": "QueueRemove", "Queue": "hotline", "Interface": "PJSIP/1001"},
                           {"Action": "QueueRemove", "Queue": "wrapq", "Interface": "PJSIP/1001"}]
    assert pick(view, ["state", "since", "queues"]) == {"state": "logged_out", "since": T + 60, "queues": []}
    # the queues the seat left are republished without it
    assert svc.hub.queues["hotline"]["logged_in"] == 0 and svc.hub.queues["wrapq"]["logged_in"] == 0


async def test_logout_tolerates_not_there(svc: SeatService, ami: FakeAmi) -> None:
    await svc.login("1002")
    ami.errors["QueueRemove"] = "Unable to remove interface: Not there"
    assert (await svc.logout("1002"))["state"] == "logged_out"


@pytest.mark.parametrize(("reason", "code", "name"), [
    ("break", "break", "小休"), ("小休", "break", "小休"), ("training", "training", "培训"), ("用餐", "meal", "用餐"),
])
async def test_pause_by_code_or_name(svc: SeatService, ami: FakeAmi, clock: Clock, reason: str, code: str,
                                     name: str) -> None:
    await svc.login("1001")
    ami.actions.clear()
    clock.t = T + 5
    view = await svc.pause("1001", reason)
    assert ami.actions == [{"Action": "QueuePause", "Interface": "PJSIP/1001", "Paused": "true", "Reason": code}]
    assert pick(view, ["state", "reason", "reason_name", "since"]) == {
        "state": "paused", "reason": code, "reason_name": name, "since": T + 5}
    ami.actions.clear()
    view = await svc.unpause("1001")
    assert ami.actions == [{"Action": "QueuePause", "Interface": "PJSIP/1001", "Paused": "false"}]
    assert pick(view, ["state", "reason", "reason_name"]) == {"state": "idle", "reason": None, "reason_name": None}


async def test_unknown_pause_reason(svc: SeatService, ami: FakeAmi) -> None:
    await svc.login("1001")
    ami.actions.clear()
    before = svc.view("1001")
    with pytest.raises(UnknownPauseReason) as exc:
        await svc.pause("1001", "nap")
    assert exc.value.error_id == "unknown-pause-reason" and exc.value.http_status == 422
    assert exc.value.details["configured"] == ["break (小休)", "training (培训)", "admin (整理)", "meal (用餐)"]
    assert ami.actions == [] and svc.view("1001") == before


@pytest.mark.parametrize(("prepare", "command", "error_id"), [
    ([], ("pause", "break"), "seat-not-logged-in"),
    ([], ("logout",), "seat-not-logged-in"),
    ([], ("unpause",), "seat-not-paused"),
    (["login"], ("login",), "seat-already-logged-in"),
    (["login"], ("unpause",), "seat-not-paused"),
])
async def test_commands_that_do_not_fit_send_nothing(svc: SeatService, ami: FakeAmi, prepare: list[str],
                                                     command: tuple[str, ...], error_id: str) -> None:
    for step in prepare:
        await getattr(svc, step)("1002")
    ami.actions.clear()
    before = svc.view("1002")
    with pytest.raises(SeatStateConflict) as exc:
        await getattr(svc, command[0])("1002", *command[1:])
    assert (exc.value.error_id, exc.value.http_status) == (error_id, 409)
    assert exc.value.details["state"] == before["state"]
    assert ami.actions == [] and svc.view("1002") == before


async def test_busy_seat_cannot_log_out(svc: SeatService, ami: FakeAmi) -> None:
    replay(svc, EVENTS[:11])   # 1001 talking to A
    ami.actions.clear()
    with pytest.raises(SeatStateConflict) as exc:
        await svc.logout("1001")
    assert exc.value.error_id == "seat-busy" and ami.actions == []


@pytest.mark.parametrize("command", [("login",), ("logout",), ("pause", "break"), ("unpause",)])
async def test_unknown_seat(svc: SeatService, ami: FakeAmi, command: tuple[str, ...]) -> None:
    with pytest.raises(NoSuchSeat) as exc:
        await getattr(svc, command[0])("9999", *command[1:])
    assert (exc.value.error_id, exc.value.http_status, exc.value.details["seat_id"]) == ("no-such-seat", 404, "9999")
    assert ami.actions == []


@pytest.mark.parametrize(("error", "expected", "error_id"), [
    (ConnectionError("not connected"), CallControlUnavailable, "call-control-unavailable"),
    # no reply in time: the action's fate is unknown, 502 like every AMI action (hotline.ami.port)
    (asyncio.TimeoutError(), AsteriskActionFailed, "asterisk-action-failed"),
    ("Interface not found", AsteriskActionFailed, "asterisk-action-failed"),
], ids=["ami-down", "ami-timeout", "asterisk-refuses"])
async def test_ami_failures_change_nothing(svc: SeatService, ami: FakeAmi, state_rows: list[Any],
                                           error: str | BaseException, expected: type[Exception],
                                           error_id: str) -> None:
    await svc.login("1001")
    state_rows.clear()
    before = svc.view("1001")
    ami.errors["QueuePause"] = error
    with pytest.raises(expected) as exc:
        await svc.pause("1001", "break")
    assert exc.value.error_id == error_id
    assert svc.view("1001") == before and svc.hub.seats["1001"] == before and state_rows == []
    ami.errors["QueueAdd"] = error
    with pytest.raises(expected):
        await svc.login("1002")
    assert svc.view("1002")["state"] == "logged_out"


async def test_asterisk_refusal_names_the_action(svc: SeatService, ami: FakeAmi) -> None:
    ami.errors["QueueAdd"] = "Unable to add interface to queue: No such queue"
    with pytest.raises(AsteriskActionFailed) as exc:
        await svc.login("1002")
    assert exc.value.details == {"action": "QueueAdd", "asterisk_message": "Unable to add interface to queue: "
                                 "No such queue", "interface": "PJSIP/1002", "queue": "hotline"}


# --- facts from Asterisk ----------------------------------------------------------------------

SEAT_KEYS = ["state", "reason", "reason_name", "caller", "call_id", "unanswered", "device", "queues"]
A_CALL = "1795444600.1"

# (events replayed, seat 1001, seat 1002, hotline waiting positions (caller masked), logged_in, available)
CHECKPOINTS = [
    (3, {"state": "idle", "reason": None, "reason_name": None, "caller": None, "call_id": None, "unanswered": 0,
         "device": "not_inuse", "queues": ["hotline", "wrapq"]},
     {"state": "idle", "reason": None, "queues": ["hotline"]}, [], 2, 2),
    (4, None, {"state": "paused", "reason": "training", "queues": ["hotline"]}, [], 2, 1),
    (7, None, None, [(1, "138****5678"), (2, "139****1111"), (3, "075**2345")], 2, 1),
    (9, {"state": "ringing", "reason": None, "reason_name": None, "caller": "138****5678", "call_id": A_CALL,
         "unanswered": 0, "device": "ringing", "queues": ["hotline", "wrapq"]}, None,
     [(1, "138****5678"), (2, "139****1111"), (3, "075**2345")], 2, 0),
    # A answered: A leaves, B and C move up
    (12, {"state": "talking", "reason": None, "reason_name": None, "caller": "138****5678", "call_id": A_CALL,
          "unanswered": 0, "device": "inuse", "queues": ["hotline", "wrapq"]}, None,
     [(1, "139****1111"), (2, "075**2345")], 2, 0),
    # B abandons (QueueCallerAbandon then QueueCallerLeave): C is first, once
    (14, None, None, [(1, "075**2345")], 2, 0),
    (16, {"state": "idle", "reason": None, "reason_name": None, "caller": None, "call_id": None, "unanswered": 0,
          "device": "not_inuse", "queues": ["hotline", "wrapq"]}, None, [(1, "075**2345")], 2, 1),
    (18, {"state": "idle", "reason": None, "reason_name": None, "caller": None, "call_id": None, "unanswered": 1,
          "device": "not_inuse", "queues": ["hotline", "wrapq"]}, None, [(1, "075**2345")], 2, 1),
    # the second unanswered ring: auto-paused with the reason no-answer
    (20, {"state": "paused", "reason": "no-answer", "reason_name": "未接自动置忙", "caller": None, "call_id": None,
          "unanswered": 2, "device": "not_inuse", "queues": ["hotline", "wrapq"]}, None, [(1, "075**2345")], 2, 0),
    (22, {"state": "paused", "reason": "no-answer", "reason_name": "未接自动置忙", "caller": None, "call_id": None,
          "unanswered": 2, "device": "not_inuse", "queues": ["hotline", "wrapq"]}, None, [(1, "075**2345")], 2, 0),
    # 1002 logs out with its phone; C leaves
    (24, None, {"state": "logged_out", "reason": None, "queues": []}, [], 1, 0),
]


@pytest.mark.parametrize(("n", "seat1001", "seat1002", "waiting", "logged_in", "available"), CHECKPOINTS,
                         ids=[f"after-{c[0]}" for c in CHECKPOINTS])
async def test_events_replayed(svc: SeatService, ami: FakeAmi, n: int, seat1001: dict[str, Any] | None,
                               seat1002: dict[str, Any] | None, waiting: list[tuple[int, str]],
                               logged_in: int, available: int) -> None:
    replay(svc, EVENTS[:n])
    if seat1001 is not None:
        assert pick(svc.view("1001"), list(seat1001)) == seat1001
    if seat1002 is not None:
        assert pick(svc.view("1002"), list(seat1002)) == seat1002
    hotline = svc.queue_view("hotline")
    assert [(e["position"], e["caller"]) for e in hotline["entries"]] == waiting
    assert (hotline["waiting"], hotline["logged_in"], hotline["available"]) == (len(waiting), logged_in, available)
    # what the wallboard holds is what the service says
    assert svc.hub.seats["1001"] == svc.view("1001") and svc.hub.queues["hotline"] == hotline
    await asyncio.sleep(0)   # let an auto-pause task finish before the loop closes


async def test_auto_pause_sends_queue_pause(svc: SeatService, ami: FakeAmi) -> None:
    replay(svc, EVENTS[:19])
    assert ami.named("QueuePause") == []
    replay(svc, EVENTS[19:20])
    await asyncio.wait_for(ami.sent.wait(), 5)
    assert ami.actions == [{"Action": "QueuePause", "Interface": "PJSIP/1001", "Paused": "true",
                            "Reason": "no-answer"}]
    assert svc.stats["auto_paused"] == 1


async def test_unpause_after_auto_pause_resets_the_count(svc: SeatService, ami: FakeAmi) -> None:
    replay(svc, EVENTS[:22])
    await asyncio.wait_for(ami.sent.wait(), 5)
    view = await svc.unpause("1001")
    assert pick(view, ["state", "reason", "unanswered"]) == {"state": "idle", "reason": None, "unanswered": 0}


async def test_wrapup_then_idle(svc: SeatService, clock: Clock, state_rows: list[Any]) -> None:
    """AgentComplete in a queue with wrap-up 30 s: wrap-up, then idle when the timer fires."""
    replay(svc, EVENTS[:3])
    call = {**EVENTS[10], "Queue": "wrapq"}          # the AgentConnect of A, in wrapq
    svc.on_ami_event(call)
    clock.t = T + 100
    svc.on_ami_event({**EVENTS[14], "Queue": "wrapq"})   # AgentComplete
    view = svc.view("1001")
    assert pick(view, ["state", "since", "call_id", "caller"]) == {
        "state": "wrapup", "since": T + 100, "call_id": A_CALL, "caller": "138****5678"}
    timer = svc._wrapup_timers["1001"]
    loop = asyncio.get_running_loop()
    # app_queue's wrapuptime is 31 (queues.conf) from the whole second the call ended: T+100 here
    assert 30 < timer.when() - loop.time() <= 31
    # the timer fires (called here instead of waiting 30 s)
    timer.cancel()
    clock.t = T + 131   # when it fires: Asterisk's lastcall T+100 + wrapuptime 31
    svc._wrapup_done("1001")
    assert pick(svc.view("1001"), ["state", "since", "call_id", "caller"]) == {
        "state": "idle", "since": T + 131, "call_id": None, "caller": None}
    assert [r[1] for r in state_rows if r[0] == "1001"] == ["idle", "talking", "wrapup", "idle"]


# (AgentComplete's Timestamp, when the controller reads it, wrap-up left): the call ended in second
# T+99 or T+100; Asterisk offers calls again at that second + 31.
WRAPUP_CASES = [(T + 99.6, T + 100.7, 29.3), (T + 100.2, T + 100.3, 30.7), (T + 99.0, T + 99.0, 31.0)]


@pytest.mark.parametrize(("ended", "read", "left"), WRAPUP_CASES)
async def test_wrapup_lasts_until_asterisk_offers_calls_again(svc: SeatService, clock: Clock, ended: float,
                                                             read: float, left: float) -> None:
    """Asterisk offers the seat a call again when time(NULL) - lastcall >= wrapuptime (31 in
    queues.conf for a wrap-up of 30: whole seconds, lastcall the second the call ended): the
    wallboard shows wrap-up until then, not until 30 s after the controller read the event."""
    replay(svc, EVENTS[:3])
    svc.on_ami_event({**EVENTS[10], "Queue": "wrapq"})
    clock.t = read
    svc.on_ami_event({**EVENTS[14], "Queue": "wrapq", "Timestamp": f"{ended:.6f}"})
    timer = svc._wrapup_timers["1001"]
    assert timer.when() - asyncio.get_running_loop().time() == pytest.approx(left, abs=0.05)


@pytest.mark.parametrize("how", ["api", "phone"])
async def test_unpause_before_the_rest_is_over_goes_back_to_wrapup(svc: SeatService, clock: Clock, how: str) -> None:
    """Paused and unpaused within the wrap-up: Asterisk still offers no call until LastCall +
    wrapuptime (measured in bench/seat_truth.py: we showed idle, Asterisk had the seat resting)."""
    replay(svc, EVENTS[:3])
    svc.on_ami_event({**EVENTS[10], "Queue": "wrapq"})
    clock.t = T + 100
    svc.on_ami_event({**EVENTS[14], "Queue": "wrapq", "Timestamp": f"{T + 100:.6f}"})   # rest until T+131
    await svc.pause("1001", "admin")
    clock.t = T + 110
    if how == "api":
        view = await svc.unpause("1001")
    else:   # the phone's feature code: only the event
        svc.on_ami_event({"Event": "QueueMemberPause", "Queue": "hotline", "Interface": "PJSIP/1001",
                          "MemberName": "1001", "Paused": "0"})
        view = svc.view("1001")
    assert pick(view, ["state", "since", "reason"]) == {"state": "wrapup", "since": T + 110, "reason": None}
    timer = svc._wrapup_timers["1001"]
    assert timer.when() - asyncio.get_running_loop().time() == pytest.approx(21, abs=0.05)
    # once the rest is over, an unpause goes straight to idle
    await svc.pause("1001", "admin")
    clock.t = T + 131
    assert (await svc.unpause("1001"))["state"] == "idle"


async def test_paused_during_the_call_rests_after_it(svc: SeatService, clock: Clock) -> None:
    """Paused while talking, the call ends, unpaused within the rest: wrap-up, as Asterisk has it
    (measured in bench/seat_truth.py: we showed idle while Asterisk still rested the seat)."""
    replay(svc, EVENTS[:3])
    svc.on_ami_event({**EVENTS[10], "Queue": "wrapq"})
    await svc.pause("1001", "admin")
    clock.t = T + 100
    svc.on_ami_event({**EVENTS[14], "Queue": "wrapq", "Timestamp": f"{T + 100:.6f}"})   # rest until T+131
    assert svc.view("1001")["state"] == "paused"
    clock.t = T + 105
    assert pick(await svc.unpause("1001"), ["state", "call_id"]) == {"state": "wrapup", "call_id": None}


async def test_unpaused_during_the_call_is_back_on_it(svc: SeatService, clock: Clock) -> None:
    """Paused while talking (it holds for the next call), unpaused before the call ends: talking,
    not idle (measured: we showed idle while Asterisk had the member in call)."""
    replay(svc, EVENTS[:12])                      # 1001 talking to A (device in use)
    assert svc.view("1001")["state"] == "talking"
    await svc.pause("1001", "break")
    clock.t = T + 50
    view = await svc.unpause("1001")
    assert pick(view, ["state", "call_id", "since"]) == {"state": "talking", "call_id": A_CALL, "since": T + 50}


async def test_pause_during_wrapup_cancels_the_timer(svc: SeatService) -> None:
    replay(svc, EVENTS[:3])
    svc.on_ami_event({**EVENTS[10], "Queue": "wrapq"})
    svc.on_ami_event({**EVENTS[14], "Queue": "wrapq"})
    timer = svc._wrapup_timers["1001"]
    view = await svc.pause("1001", "admin")
    assert pick(view, ["state", "reason_name", "call_id"]) == {"state": "paused", "reason_name": "整理",
                                                               "call_id": None}
    assert timer.cancelled()
    svc._wrapup_done("1001")   # the rest over while paused: still paused
    assert pick(svc.view("1001"), ["state", "reason"]) == {"state": "paused", "reason": "admin"}


async def test_events_of_an_external_seat(svc: SeatService) -> None:
    local = "Local/1005@hotline-remote-seat/n"
    added = {**EVENTS[0], "Queue": "county", "MemberName": "1005", "Interface": local,
             "StateInterface": "Custom:seat1005"}
    svc.on_ami_event(added)
    assert pick(svc.view("1005"), ["state", "queues", "device"]) == {
        "state": "idle", "queues": ["county"], "device": "not_inuse"}
    # the custom device state, known by its state interface only: a call that is not a queue call
    status = {"Event": "QueueMemberStatus", "Queue": "county", "StateInterface": "Custom:seat1005", "Paused": "0"}
    svc.on_ami_event({**status, "Status": "2"})
    assert pick(svc.view("1005"), ["state", "device", "call_id"]) == {"state": "talking", "device": "inuse",
                                                                      "call_id": ""}
    svc.on_ami_event({**status, "Status": "1"})
    assert pick(svc.view("1005"), ["state", "device", "call_id"]) == {"state": "idle", "device": "not_inuse",
                                                                      "call_id": None}


@pytest.mark.parametrize("dest", ["Local/1005@hotline-remote-seat-0000000a;1",
                                  "Local/1005@hotline-remote-seat-0000000a;2"])
async def test_external_seat_found_by_its_local_channel(svc: SeatService, dest: str) -> None:
    """An event naming the seat only by the Local channel app_queue dialled (no Interface, no
    MemberName): Asterisk names it <exten>@<context>-<8 hex digits>;<1|2>."""
    svc.on_ami_event({**EVENTS[0], "Queue": "county", "MemberName": "1005",
                      "Interface": "Local/1005@hotline-remote-seat/n", "StateInterface": "Custom:seat1005"})
    called = {k: v for k, v in EVENTS[7].items() if k not in ("Interface", "MemberName")}
    svc.on_ami_event({**called, "Queue": "county", "DestChannel": dest})
    assert pick(svc.view("1005"), ["state", "caller", "call_id"]) == {
        "state": "ringing", "caller": "138****5678", "call_id": A_CALL}


@pytest.mark.parametrize("dest", ["PJSIP/1001-0000001a", "PJSIP/1001-00000100"])
async def test_seat_found_by_its_pjsip_channel(svc: SeatService, dest: str) -> None:
    replay(svc, EVENTS[:1])
    called = {k: v for k, v in EVENTS[7].items() if k not in ("Interface", "MemberName")}
    svc.on_ami_event({**called, "DestChannel": dest})
    assert pick(svc.view("1001"), ["state", "call_id"]) == {"state": "ringing", "call_id": A_CALL}


async def test_unknown_members_and_queues_are_ignored(svc: SeatService) -> None:
    svc.on_ami_event({**EVENTS[0], "MemberName": "7777", "Interface": "PJSIP/7777", "StateInterface": "PJSIP/7777"})
    svc.on_ami_event({**EVENTS[4], "Queue": "other"})
    svc.on_ami_event({"Event": "SomethingElse"})
    assert all(v["state"] == "logged_out" for v in svc.views())
    assert all(svc.queue_view(q)["waiting"] == 0 for q in svc.queues)
    assert svc.stats["events"] == 3


# --- resync -----------------------------------------------------------------------------------


async def test_resync_rebuilds_seats_and_queues(svc: SeatService, ami: FakeAmi, clock: Clock) -> None:
    # stale state: 1002 idle, a caller that is long gone
    replay(svc, EVENTS[2:3] + EVENTS[4:5])
    ami.queue_status = QUEUE_STATUS
    clock.t = T
    await svc.resync()
    assert ami.actions == [{"Action": "QueueStatus"}]
    assert {s: pick(svc.view(s), ["state", "reason", "reason_name", "queues", "device", "since"])
            for s in ("1001", "1002", "1005")} == {
        "1001": {"state": "talking", "reason": None, "reason_name": None, "queues": ["hotline", "wrapq"],
                 "device": "inuse", "since": T},
        "1002": {"state": "paused", "reason": "meal", "reason_name": "用餐", "queues": ["hotline"],
                 "device": "not_inuse", "since": T},
        # LastCall T-10 with the county's wrap-up of 30 s: in wrap-up for 20 s more
        "1005": {"state": "wrapup", "reason": None, "reason_name": None, "queues": ["county", "hotline"],
                 "device": "not_inuse", "since": T},
    }
    timer = svc._wrapup_timers["1005"]
    assert 20 < timer.when() - asyncio.get_running_loop().time() <= 21   # wrapuptime 31 in queues.conf
    hotline = svc.queue_view("hotline")
    assert hotline["entries"] == [
        {"call_id": "1795444558.33", "caller": "138****5678", "since": T - 42, "position": 1, "priority": 0},
        {"call_id": "1795444593.35", "caller": "139****1111", "since": T - 7, "position": 2, "priority": 0},
    ]
    assert (hotline["waiting"], hotline["longest_wait_since"], hotline["logged_in"], hotline["available"]) == (
        2, T - 42, 3, 0)
    # the callers' channels in the line (the queue wake presses its key there after a reconnect)
    assert [e.channel for e in svc.queues["hotline"].in_line()] == [
        "PJSIP/trunk-carrier-00000021", "PJSIP/trunk-carrier-00000023"]
    county = svc.queue_view("county")
    assert (county["waiting"], county["logged_in"], county["available"]) == (0, 1, 0)
    assert svc.stats["resyncs"] == 1
    # everything was published
    assert svc.hub.seats == {s: svc.view(s) for s in svc.seats}
    assert svc.hub.queues == {q: svc.queue_view(q) for q in svc.queues}


async def test_resync_logs_out_seats_asterisk_does_not_know(svc: SeatService, ami: FakeAmi, clock: Clock) -> None:
    await svc.login("1002")
    ami.queue_status = [QUEUE_STATUS[0], QUEUE_STATUS[-1]]   # no members, no callers
    clock.t = T + 9
    await svc.resync()
    assert pick(svc.view("1002"), ["state", "since", "queues"]) == {"state": "logged_out", "since": T + 9,
                                                                   "queues": []}
    assert svc.queue_view("hotline")["logged_in"] == 0
