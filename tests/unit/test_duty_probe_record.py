"""The record of a duty-phone test try (hotline.calls.duty_probe_record), the Originate that places
it (hotline.ami.actions.duty_probe_call) and the notice's dialplan (trunk_config.duty_probe): from
synthetic CEL events shaped like Asterisk 22's for an originated trunk channel."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.ami import actions
from hotline.calls.assemble import Directory, assemble
from hotline.calls.cel import CelEvent
from hotline.config.site import SiteConfig
from hotline.spine import marks
from ivr.prompts import PROMPTS
from trunk_config.dialplan import DialplanOptions, render

DIRECTORY = Directory(trunks=frozenset({"trunk-carrier"}), seats=frozenset({"1001"}))
CALL = "1796000000.20"
ACCOUNT = marks.duty_probe_account(9, 3, "4567890")
TRUNK = "PJSIP/trunk-carrier-00000014"


def ev(name: str, t: float, *, extra: dict[str, Any] | None = None, account: str = ACCOUNT) -> CelEvent:
    return CelEvent(name=name, time=1796000000.0 + t, channel=TRUNK, uniqueid=CALL, linkedid=CALL,
                    extra=extra or {}, accountcode=account)


def answered() -> list[CelEvent]:
    return [ev("CHAN_START", 0, account=""), ev("ANSWER", 4),
            ev(marks.DUTY_PROBE.name, 4.1, extra={"extra": "9|3"}),
            ev("HANGUP", 12, extra={"hangupcause": 16}), ev("CHAN_END", 12), ev("LINKEDID_END", 12)]


def unanswered(cause: int | None) -> list[CelEvent]:
    return [ev("CHAN_START", 0, account=""), ev("HANGUP", 30, extra={} if cause is None else {"hangupcause": cause}),
            ev("CHAN_END", 30), ev("LINKEDID_END", 30)]


@pytest.mark.parametrize(("events", "outcome", "result", "notice"), [
    (answered(), "answered", "answered", True),
    (unanswered(19), "failed", "no_answer", False),
    (unanswered(None), "failed", "no_answer", False),
    (unanswered(17), "failed", "busy", False),
    (unanswered(34), "failed", "failed", False),
    (unanswered(1), "failed", "failed", False),
])
def test_a_try_becomes_one_outbound_record(events: list[CelEvent], outcome: str, result: str, notice: bool) -> None:
    record = assemble(events, DIRECTORY)
    assert record is not None
    assert (record.outcome.value, record.extra["direction"]) == (outcome, "duty_probe")
    assert record.extra["duty_probe"] == {"probe": 9, "try": 3, "result": result, "notice": notice}
    assert (record.dialled_number, record.caller_number, record.trunk) == ("4567890", "4567890", "carrier")
    assert record.queued_at is None and record.queue is None, "never an offered inbound call"
    if outcome == "answered":
        assert record.talk_seconds == 8.0


def test_the_originate_and_the_account() -> None:
    action = actions.duty_probe_call("4567890", trunk="carrier", probe=9, attempt=3, ring_seconds=25,
                                     hotline_number="12345")
    assert action["Channel"] == "PJSIP/4567890@trunk-carrier" and action["Context"] == "hotline-duty-probe"
    assert (action["Timeout"], action["Account"]) == ("25000", "dp-9-3-4567890")
    assert action["Variable"] == "HOTLINE_DP_PROBE=9,HOTLINE_DP_TRY=3"
    assert marks.duty_probe_of("dp-9-3-4567890") == marks.ProbeTry(9, 3, "4567890")
    assert marks.duty_probe_of("rv-9-3-4567890") is None and marks.duty_probe_of("dp-x-3-1") is None
    with pytest.raises(ValueError):
        actions.duty_probe_call("45678;90", trunk="carrier", probe=9, attempt=3, ring_seconds=25,
                                hotline_number="12345")


def _site(enabled: bool) -> SiteConfig:
    return SiteConfig.model_validate({"trunks": [{"name": "carrier", "host": "127.0.0.2"}],
                                      "duty_probes": {"enabled": enabled}})


def test_the_notice_context_only_when_enabled() -> None:
    on = render(_site(True), DialplanOptions(None, "/r"))
    off = render(_site(False), DialplanOptions(None, "/r"))
    assert "[hotline-duty-probe]" in on and "hotline-duty-probe" not in off
    steps = on[on.index("[hotline-duty-probe]"):].split("\n\n")[0]
    assert "CELGenUserEvent(HOTLINE_DUTY_PROBE,${FILTER(0123456789,${HOTLINE_DP_PROBE})}|" in steps
    assert steps.index("Answer()") < steps.index("Playback(${HOTLINE_SOUNDS}/duty-probe-notice)") \
        < steps.index("Hangup()")
    assert PROMPTS["duty-probe-notice"].text.startswith("测试来电")
