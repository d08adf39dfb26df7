"""Named AMI action builders (hotline.ami.actions): exact dicts, no header injection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hotline.ami import actions


@pytest.mark.parametrize(("built", "expected"), [
    pytest.param(actions.ping(), {"Action": "Ping"}, id="ping"),
    pytest.param(actions.core_show_channels(), {"Action": "CoreShowChannels"}, id="core_show_channels"),
    pytest.param(actions.queue_status(), {"Action": "QueueStatus"}, id="queue_status-all"),
    pytest.param(actions.queue_status("hotline"), {"Action": "QueueStatus", "Queue": "hotline"}, id="queue_status"),
    pytest.param(actions.queue_summary(), {"Action": "QueueSummary"}, id="queue_summary-all"),
    pytest.param(actions.queue_summary("renshe"), {"Action": "QueueSummary", "Queue": "renshe"}, id="queue_summary"),
    pytest.param(actions.hangup("PJSIP/trunk-carrier-00000001"),
                 {"Action": "Hangup", "Channel": "PJSIP/trunk-carrier-00000001", "Cause": "16"}, id="hangup"),
    pytest.param(actions.hangup("PJSIP/1001-00000002", cause=21),
                 {"Action": "Hangup", "Channel": "PJSIP/1001-00000002", "Cause": "21"}, id="hangup-cause"),
    pytest.param(actions.originate("PJSIP/1001", context="hotline-seats", exten="1002"),
                 {"Action": "Originate", "Channel": "PJSIP/1001", "Context": "hotline-seats", "Exten": "1002",
                  "Priority": "1", "Timeout": "30000", "Async": "true"}, id="originate-minimal"),
    pytest.param(actions.originate("PJSIP/1001", context="hotline-callback", exten="13800001111", priority=2,
                                   caller_id='"12345" <12345>', timeout_ms=45000,
                                   variables={"HOTLINE_ORDER": "WO-1", "HOTLINE_DEPT": "chengjian"}, async_=False),
                 {"Action": "Originate", "Channel": "PJSIP/1001", "Context": "hotline-callback",
                  "Exten": "13800001111", "Priority": "2", "CallerID": '"12345" <12345>', "Timeout": "45000",
                  "Async": "false", "Variable": "HOTLINE_ORDER=WO-1,HOTLINE_DEPT=chengjian"}, id="originate-full"),
    pytest.param(actions.originate("PJSIP/1001", context="c", exten="e", variables={}),
                 {"Action": "Originate", "Channel": "PJSIP/1001", "Context": "c", "Exten": "e",
                  "Priority": "1", "Timeout": "30000", "Async": "true"}, id="originate-empty-variables"),
    pytest.param(actions.queue_pause("PJSIP/1001", True),
                 {"Action": "QueuePause", "Interface": "PJSIP/1001", "Paused": "true"}, id="queue_pause"),
    pytest.param(actions.queue_pause("PJSIP/1001", False, queue="hotline", reason="午休"),
                 {"Action": "QueuePause", "Interface": "PJSIP/1001", "Paused": "false", "Queue": "hotline",
                  "Reason": "午休"}, id="queue_unpause-queue-reason"),
    pytest.param(actions.queue_add("hotline", "PJSIP/1001"),
                 {"Action": "QueueAdd", "Queue": "hotline", "Interface": "PJSIP/1001", "Penalty": "0",
                  "Paused": "false"}, id="queue_add-minimal"),
    pytest.param(actions.queue_add("renshe", "PJSIP/1002", penalty=3, member_name="张三",
                                   state_interface="PJSIP/1002", paused=True),
                 {"Action": "QueueAdd", "Queue": "renshe", "Interface": "PJSIP/1002", "Penalty": "3",
                  "MemberName": "张三", "StateInterface": "PJSIP/1002", "Paused": "true"}, id="queue_add-full"),
    pytest.param(actions.queue_remove("hotline", "PJSIP/1001"),
                 {"Action": "QueueRemove", "Queue": "hotline", "Interface": "PJSIP/1001"}, id="queue_remove"),
    pytest.param(actions.command("core show channels count"),
                 {"Action": "Command", "Command": "core show channels count"}, id="command"),
])
def test_builder_exact_dict(built: dict[str, str], expected: dict[str, str]) -> None:
    assert built == expected
    assert all(isinstance(v, str) for v in built.values())


BREAKS = ["\r\n", "\n", "\r", "x\r\nAction: Originate", "\r\n\r\n"]

# every builder, with one value slot to poison
SLOTS: list[tuple[str, Callable[[str], Any]]] = [
    ("queue_status.queue", lambda v: actions.queue_status(v)),
    ("queue_summary.queue", lambda v: actions.queue_summary(v)),
    ("hangup.channel", lambda v: actions.hangup(v)),
    ("originate.channel", lambda v: actions.originate(v, context="c", exten="e")),
    ("originate.context", lambda v: actions.originate("PJSIP/1001", context=v, exten="e")),
    ("originate.exten", lambda v: actions.originate("PJSIP/1001", context="c", exten=v)),
    ("originate.caller_id", lambda v: actions.originate("PJSIP/1001", context="c", exten="e", caller_id=v)),
    ("originate.variable-value", lambda v: actions.originate("PJSIP/1001", context="c", exten="e",
                                                              variables={"A": v})),
    ("originate.variable-name", lambda v: actions.originate("PJSIP/1001", context="c", exten="e",
                                                             variables={v: "1"})),
    ("queue_pause.interface", lambda v: actions.queue_pause(v, True)),
    ("queue_pause.queue", lambda v: actions.queue_pause("PJSIP/1001", True, queue=v)),
    ("queue_pause.reason", lambda v: actions.queue_pause("PJSIP/1001", True, reason=v)),
    ("queue_add.queue", lambda v: actions.queue_add(v, "PJSIP/1001")),
    ("queue_add.interface", lambda v: actions.queue_add("hotline", v)),
    ("queue_add.member_name", lambda v: actions.queue_add("hotline", "PJSIP/1001", member_name=v)),
    ("queue_add.state_interface", lambda v: actions.queue_add("hotline", "PJSIP/1001", state_interface=v)),
    ("queue_remove.queue", lambda v: actions.queue_remove(v, "PJSIP/1001")),
    ("queue_remove.interface", lambda v: actions.queue_remove("hotline", v)),
    ("command.cli", lambda v: actions.command(v)),
]


@pytest.mark.parametrize("brk", BREAKS, ids=repr)
@pytest.mark.parametrize(("slot", "build"), SLOTS, ids=[s for s, _ in SLOTS])
def test_line_break_in_any_value_is_refused(slot: str, build: Callable[[str], Any], brk: str) -> None:
    with pytest.raises(ValueError, match="line breaks"):
        build(f"hotline{brk}Action: Hangup")
    with pytest.raises(ValueError):
        build(brk)


def test_none_fields_are_omitted_not_sent_as_text() -> None:
    built = actions.originate("PJSIP/1001", context="c", exten="e", caller_id=None, variables=None)
    assert "CallerID" not in built and "Variable" not in built
    assert "None" not in built.values()
    built = actions.queue_add("hotline", "PJSIP/1001", member_name=None, state_interface=None)
    assert set(built) == {"Action", "Queue", "Interface", "Penalty", "Paused"}


def test_non_string_values_are_stringified() -> None:
    assert actions.hangup("PJSIP/1001-00000002", cause=17)["Cause"] == "17"
    assert actions.originate("PJSIP/1001", context="c", exten=1002, priority=3,  # type: ignore[arg-type]
                             timeout_ms=1500)["Exten"] == "1002"


def test_originate_variables_keep_order_and_unicode() -> None:
    built = actions.originate("PJSIP/1001", context="c", exten="e",
                              variables={"B": "2", "A": "1", "NAME": "张三"})
    assert built["Variable"] == "B=2,A=1,NAME=张三"


def test_builders_return_fresh_dicts() -> None:
    a = actions.ping()
    a["ActionID"] = "x"
    assert actions.ping() == {"Action": "Ping"}


@pytest.mark.parametrize("value", [
    pytest.param("1,HOTLINE_DEPT=evil", id="comma-adds-a-variable"),
    pytest.param('say "hi"', id="quotes-consumed"),
    pytest.param("a\\,b", id="backslash-escape"),
    pytest.param("x(", id="paren-merges-following"),
    pytest.param("x)", id="closing-paren"),
])
def test_originate_variable_value_cannot_split_the_variable_list(value: str) -> None:
    # Asterisk parses "Variable: A=1,B=2" with its dialplan argument splitter.
    with pytest.raises(ValueError, match="Originate variable value"):
        actions.originate("PJSIP/1001", context="c", exten="e", variables={"HOTLINE_NOTE": value, "B": "2"})


@pytest.mark.parametrize("name", ["A=B", "A,B", "", "1ABC", "A B", "A-B", "___A", "名字"])
def test_originate_variable_name_must_be_a_channel_variable_name(name: str) -> None:
    with pytest.raises(ValueError, match="variable name"):
        actions.originate("PJSIP/1001", context="c", exten="e", variables={name: "1"})


@pytest.mark.parametrize("name", ["A", "HOTLINE_ORDER", "_INHERIT", "__INHERIT_ALL", "a1_b2"])
def test_originate_variable_names_accepted(name: str) -> None:
    built = actions.originate("PJSIP/1001", context="c", exten="e", variables={name: "v=w x"})
    assert built["Variable"] == f"{name}=v=w x"
