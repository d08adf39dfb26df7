"""The one AMI action port: the same failure maps to the same error for every feature."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotline.ami.port import AmiPort
from hotline.exceptions import AsteriskActionFailed, CallControlUnavailable

ACTION = {"Action": "QueuePause", "Interface": "PJSIP/1001"}


def port(reply: Any = None, error: BaseException | None = None) -> tuple[AmiPort, list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    async def send(action: dict[str, str], timeout: float, as_list: bool | None) -> Any:
        calls.append({"action": action, "timeout": timeout, "as_list": as_list})
        if error is not None:
            raise error
        return reply

    return AmiPort(send, timeout=3.0), calls


async def test_success_returns_the_first_reply_message() -> None:
    ami, calls = port([{"Response": "Success", "Message": "ok"}, {"Event": "X"}])
    assert await ami.act(ACTION) == {"Response": "Success", "Message": "ok"}
    assert calls == [{"action": ACTION, "timeout": 3.0, "as_list": False}]


@pytest.mark.parametrize(("reply", "error", "expected", "status", "message"), [
    (None, ConnectionError("AMI is not connected"), CallControlUnavailable, 503, None),
    (None, asyncio.TimeoutError(), AsteriskActionFailed, 502, "no response"),
    ({"Response": "Error", "Message": "Interface not found"}, None, AsteriskActionFailed, 502, "Interface not found"),
    ({"Response": "Error"}, None, AsteriskActionFailed, 502, "error"),
    (None, None, AsteriskActionFailed, 502, "error"),          # no reply message at all
    ([], None, AsteriskActionFailed, 502, "error"),
], ids=["unreachable", "timeout", "refused", "refused-silently", "none", "empty-list"])
async def test_one_error_mapping(reply: Any, error: BaseException | None, expected: type[Exception], status: int,
                                 message: str | None) -> None:
    ami, _ = port(reply, error)
    with pytest.raises(expected) as exc:
        await ami.act(ACTION, queue="hotline")
    assert getattr(exc.value, "http_status") == status
    if message is not None:
        assert exc.value.details == {"action": "QueuePause", "asterisk_message": message,   # type: ignore[attr-defined]
                                     "queue": "hotline"}


async def test_tolerated_refusal_and_per_call_timeout() -> None:
    ami, calls = port({"Response": "Error", "Message": "Unable to remove interface: Not there"})
    assert (await ami.act(ACTION, tolerate=("Not there",), timeout=10.0))["Response"] == "Error"
    assert calls[0]["timeout"] == 10.0


async def test_ask_returns_the_raw_reply() -> None:
    events = [{"Response": "Success"}, {"Event": "CoreShowChannel", "Channel": "PJSIP/1001-1"}]
    ami, calls = port(events)
    assert await ami.ask({"Action": "CoreShowChannels"}, as_list=True) == events
    assert calls[0]["as_list"] is True
