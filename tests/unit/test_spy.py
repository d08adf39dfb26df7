"""Listen / whisper / barge: the AMI action, the dialplan context, the service and its route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hotline.ami.port import AmiPort
from hotline.ami import actions
from hotline.exceptions import AsteriskActionFailed, CallControlUnavailable
from hotline.spy.services import SpyService
from hotline.store import Store
from trunk_config.spy import SPY_CONTEXT, spy_context

from authkit import bearer, login, serve, site_with_users


@pytest.mark.parametrize("mode", ["listen", "whisper", "barge"])
def test_spy_originate(mode: str) -> None:
    assert actions.spy_originate("1003", "1001", mode) == {
        "Action": "Originate", "Channel": "PJSIP/1003", "Context": "hotline-spy", "Exten": "1001", "Priority": "1",
        "CallerID": f"{mode} <1001>", "Timeout": "30000", "Async": "true", "Variable": f"HOTLINE_SPY_MODE={mode}"}


@pytest.mark.parametrize(("phone", "seat", "mode"), [
    ("1003", "1001", "eavesdrop"), ("1003\r\nAction: Hangup", "1001", "listen"), ("1003", "1001,x", "listen"),
    ("PJSIP/1003", "1001", "listen"), ("1003", "", "listen"),
])
def test_spy_originate_refuses_bad_values(phone: str, seat: str, mode: str) -> None:
    with pytest.raises(ValueError):
        actions.spy_originate(phone, seat, mode)


def test_spy_dialplan_options_per_mode() -> None:
    name, _, steps = spy_context()
    assert name == SPY_CONTEXT == "hotline-spy"
    assert steps[0] == "Set(SPY_SEAT=${FILTER(0123456789,${EXTEN})})"
    spies = {s[1:s.index(")")]: s[s.index(")") + 1:] for s in steps if "ChanSpy" in s}
    assert spies == {"listen": "ChanSpy(PJSIP/${SPY_SEAT}-,qE)", "whisper": "ChanSpy(PJSIP/${SPY_SEAT}-,qEw)",
                     "barge": "ChanSpy(PJSIP/${SPY_SEAT}-,qEB)"}


class FakeAmi:
    """Answers CoreShowChannels with ``channels`` and Originate with success; records what was sent."""

    def __init__(self, channels: list[str], originate: str = "Success") -> None:
        self.channels = channels
        self.originate = originate
        self.sent: list[dict[str, str]] = []

    async def __call__(self, action: dict[str, str], timeout: float = 5.0, *, as_list: bool | None = None) -> Any:
        self.sent.append(action)
        if action["Action"] == "CoreShowChannels":
            return [{"Response": "Success", "EventList": "start"},
                    *({"Event": "CoreShowChannel", "Channel": c} for c in self.channels),
                    {"Event": "CoreShowChannelsComplete"}]
        return {"Response": self.originate, "Message": "Originate failed" if self.originate != "Success" else ""}


@pytest.mark.parametrize(("user", "seat", "channels", "status", "error_id"), [
    ("boss", "1001", ["PJSIP/1001-00000001", "PJSIP/trunk-carrier-00000000"], 202, None),
    ("boss", "1001", ["PJSIP/10010-00000001"], 409, "seat-not-on-call"),   # another seat's prefix
    ("boss", "1001", [], 409, "seat-not-on-call"),
    ("nophone", "1001", ["PJSIP/1001-00000001"], 409, "no-supervisor-phone"),
    ("boss", "1003", ["PJSIP/1003-00000001"], 400, "invalid-request"),       # their own phone
    ("boss", "1999", ["PJSIP/1999-00000001"], 404, "no-such-seat"),
    ("s1001", "1002", ["PJSIP/1002-00000001"], 403, "forbidden"),
])
async def test_spy_route(sqlite_store: Store, tmp_path: Path, user: str, seat: str, channels: list[str],
                         status: int, error_id: str | None) -> None:
    ami = FakeAmi(channels)
    async with serve(sqlite_store, tmp_path, ami_send=ami) as client:
        response = await client.post(f"/api/seats/{seat}/spy", json={"mode": "whisper"},
                                     headers=bearer(await login(client, user)))
        body = await response.json()
        assert response.status == status, body
        originated = [a for a in ami.sent if a["Action"] == "Originate"]
        if error_id:
            assert body["error_id"] == error_id and originated == []
        else:
            assert body == {"seat_id": "1001", "mode": "whisper", "phone": "1003", "channels": ["PJSIP/1001-00000001"]}
            assert originated == [actions.spy_originate("1003", "1001", "whisper")]


async def _no_ami(action: dict[str, str], **_: Any) -> Any:
    raise ConnectionError("AMI is not connected")


async def test_spy_refused_by_asterisk_and_without_ami() -> None:
    site = site_with_users()
    with pytest.raises(AsteriskActionFailed) as refused:
        await SpyService(site, AmiPort(FakeAmi(["PJSIP/1001-1"], originate="Error"))).spy(
            user="boss", phone="1003", seat_id="1001", mode="listen")
    assert refused.value.details["asterisk_message"] == "Originate failed"
    with pytest.raises(CallControlUnavailable):
        await SpyService(site, AmiPort(_no_ami)).spy(user="boss", phone="1003", seat_id="1001", mode="listen")


async def test_spy_bad_mode_is_invalid_request(sqlite_store: Store, tmp_path: Path) -> None:
    async with serve(sqlite_store, tmp_path, ami_send=FakeAmi(["PJSIP/1001-1"])) as client:
        response = await client.post("/api/seats/1001/spy", json={"mode": "eavesdrop"},
                                     headers=bearer(await login(client, "boss")))
        assert response.status == 400 and (await response.json())["details"]["field"] == "mode"
