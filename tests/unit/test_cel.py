"""CEL records from both Asterisk outputs (hotline.calls.cel): cel_custom JSON lines and AMI CEL events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hotline.calls import cel
from hotline.calls.cel import CelEvent

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ANSWERED = (FIXTURES / "cel" / "answered_merged_call.jsonl").read_text().splitlines()
NO_SEAT = (FIXTURES / "cel" / "no_seat_caller_hangs_up.jsonl").read_text().splitlines()


def line(base: str, **changes: Any) -> str:
    """A fixture line with some fields changed (None: field removed)."""
    d = json.loads(base)
    for k, v in changes.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return json.dumps(d)


# -- cel_custom JSON lines --------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    pytest.param(ANSWERED[0], CelEvent(
        name="CHAN_START", time=1795444596.198140, channel="PJSIP/trunk-carrier-00000001", uniqueid="1795444596.1",
        linkedid="1795444596.1", caller_num="13800001111", exten="83531111", context="from-trunk-carrier"),
        id="chan-start"),
    pytest.param(ANSWERED[1], CelEvent(
        name="HOTLINE_ARRIVAL", time=1795444596.198695, channel="PJSIP/trunk-carrier-00000001",
        uniqueid="1795444596.1", linkedid="1795444596.1", app="CELGenUserEvent",
        appdata="HOTLINE_ARRIVAL,83531111|merged|chengjian", caller_num="13800001111", exten="s",
        context="hotline-inbound", dnid="83531111", extra={"extra": "83531111|merged|chengjian"}),
        id="user-defined-arrival"),
    pytest.param(ANSWERED[4], CelEvent(
        name="CHAN_START", time=1795444596.213709, channel="PJSIP/1001-00000002", uniqueid="1795444596.2",
        linkedid="1795444596.1", caller_num="1001", exten="s", context="hotline-seats"), id="seat-leg"),
    pytest.param(ANSWERED[7], CelEvent(
        name="BRIDGE_ENTER", time=1795444596.720979, channel="PJSIP/trunk-carrier-00000001",
        uniqueid="1795444596.1", linkedid="1795444596.1", peer="PJSIP/1001-00000002", app="Queue",
        appdata="hotline,tr,,,", caller_num="13800001111", exten="s", context="hotline-inbound", dnid="83531111",
        extra={"bridge_id": "40a156fb-1de7-41a0-a172-20ece3988423", "bridge_technology": "simple_bridge"}),
        id="bridge-enter-with-peer"),
    pytest.param(ANSWERED[10], CelEvent(
        name="HANGUP", time=1795444600.205873, channel="PJSIP/trunk-carrier-00000001", uniqueid="1795444596.1",
        linkedid="1795444596.1", caller_num="13800001111", exten="s", context="hotline-inbound", dnid="83531111",
        extra={"hangupcause": 16, "hangupsource": "PJSIP/trunk-carrier-00000001", "dialstatus": "ANSWER"}),
        id="hangup-extra"),
    pytest.param(ANSWERED[14], CelEvent(
        name="LINKEDID_END", time=1795444600.206700, channel="PJSIP/1001-00000002", uniqueid="1795444596.2",
        linkedid="1795444596.1", app="AppQueue", appdata="(Outgoing Line)", caller_num="1001", exten="s",
        context="hotline-seats"), id="linkedid-end"),
    pytest.param(NO_SEAT[4], CelEvent(
        name="HANGUP", time=1795444541.689088, channel="PJSIP/trunk-carrier-00000000", uniqueid="1795444539.0",
        linkedid="1795444539.0", caller_num="13800001111", exten="s", context="hotline-inbound", dnid="12345",
        extra={"hangupcause": 0, "hangupsource": "PJSIP/trunk-carrier-00000000", "dialstatus": ""}),
        id="abandon-hangup"),
])
def test_from_json_line_on_real_lines(raw: str, expected: CelEvent) -> None:
    assert cel.from_json_line(raw) == expected
    assert cel.from_json_line(raw.encode() + b"\n") == expected


def test_every_fixture_line_parses() -> None:
    events = [cel.from_json_line(raw) for raw in ANSWERED + NO_SEAT]
    assert all(e is not None for e in events)
    assert [e.name for e in events[:15] if e] == [
        "CHAN_START", "HOTLINE_ARRIVAL", "ANSWER", "HOTLINE_QUEUE", "CHAN_START", "ANSWER", "BRIDGE_ENTER",
        "BRIDGE_ENTER", "BRIDGE_EXIT", "BRIDGE_EXIT", "HANGUP", "CHAN_END", "HANGUP", "CHAN_END", "LINKEDID_END"]


def test_event_time_as_utc_datetime() -> None:
    event = cel.from_json_line(ANSWERED[0])
    assert event is not None
    assert event.at == datetime(2026, 11, 23, 14, 36, 36, 198140, tzinfo=UTC)


@pytest.mark.parametrize("raw", [
    pytest.param("", id="empty"),
    pytest.param("not json", id="not-json"),
    pytest.param(ANSWERED[0][:80], id="truncated-json"),
    pytest.param("[1, 2]", id="json-list"),
    pytest.param('"CHAN_START"', id="json-string"),
    pytest.param("null", id="json-null"),
    pytest.param("{}", id="empty-object"),
    pytest.param(b"\xff\xfe{}", id="invalid-utf8"),
    pytest.param(line(ANSWERED[0], uniqueid=None), id="missing-uniqueid"),
    pytest.param(line(ANSWERED[0], linkedid=None), id="missing-linkedid"),
    pytest.param(line(ANSWERED[0], uniqueid="abc"), id="bad-uniqueid"),
    pytest.param(line(ANSWERED[0], linkedid="1795444596"), id="linkedid-without-sequence"),
    pytest.param(line(ANSWERED[0], uniqueid="1795444596.1; DROP TABLE"), id="uniqueid-with-trailer"),
    pytest.param(line(ANSWERED[0], uniqueid="12345678901234.1"), id="uniqueid-too-long"),
    pytest.param(line(ANSWERED[0], uniqueid="1795444596.1\n"), id="uniqueid-trailing-newline"),
    pytest.param(line(ANSWERED[0], linkedid="1795444596.1\n"), id="linkedid-trailing-newline"),
    pytest.param(line(ANSWERED[0], uniqueid="node 01-1795444596.1"), id="systemname-with-space"),
    pytest.param(line(ANSWERED[0], uniqueid="node|01-1795444596.1"), id="systemname-with-pipe"),
    pytest.param(line(ANSWERED[0], linkedid="node,01-1795444596.1"), id="systemname-with-comma"),
    pytest.param(line(ANSWERED[0], linkedid="node;01-1795444596.1"), id="systemname-with-semicolon"),
    pytest.param(line(ANSWERED[0], linkedid="node\n01-1795444596.1"), id="systemname-with-newline"),
    pytest.param(line(ANSWERED[0], linkedid="node01-1795444596.1\n"), id="systemname-id-trailing-newline"),
    pytest.param(line(ANSWERED[0], linkedid="../etc-1795444596.1"), id="systemname-with-path"),
    pytest.param(line(ANSWERED[0], linkedid="a/b-1795444596.1"), id="systemname-with-slash"),
    pytest.param(line(ANSWERED[0], linkedid="node.01-1795444596.1"), id="systemname-with-dot"),
    pytest.param(line(ANSWERED[0], linkedid="-1795444596.1"), id="empty-systemname"),
    pytest.param(line(ANSWERED[0], linkedid="-x-1795444596.1"), id="systemname-leading-dash"),
    pytest.param(line(ANSWERED[0], linkedid="n" * 33 + "-1795444596.1"), id="systemname-too-long"),
    pytest.param(line(ANSWERED[0], linkedid="nöde-1795444596.1"), id="systemname-not-ascii"),
    pytest.param(line(ANSWERED[0], linkedid="node01-1795444596"), id="systemname-id-without-sequence"),
    pytest.param(line(ANSWERED[0], eventtime=None), id="no-time"),
    pytest.param(line(ANSWERED[0], eventtime=""), id="empty-time"),
    pytest.param(line(ANSWERED[0], eventtime="2026-11-23 14:36:36"), id="date-string-time"),
    pytest.param(line(ANSWERED[0], eventtime="0"), id="zero-time"),
    pytest.param(line(ANSWERED[0], eventtime="-5"), id="negative-time"),
    pytest.param(line(ANSWERED[0], eventtime="inf"), id="infinite-time"),
    pytest.param(line(ANSWERED[0], eventtime="nan"), id="nan-time"),
    pytest.param(line(ANSWERED[0], eventtime="1e300"), id="time-beyond-datetime"),
    pytest.param(line(ANSWERED[0], eventtime=1e400), id="json-number-overflowing-to-inf"),
    pytest.param(line(ANSWERED[0], eventtype=""), id="no-event-type"),
    pytest.param(line(ANSWERED[0], eventtype=None), id="missing-event-type"),
])
def test_bad_json_lines_give_none(raw: str | bytes) -> None:
    assert cel.from_json_line(raw) is None


@pytest.mark.parametrize("call_id", [
    pytest.param("asterisk01-1795444596.1", id="systemname"),
    pytest.param("node01-1796159078.0", id="node01"),
    pytest.param("Node_2-b-1796159078.17", id="underscore-and-dashes"),
    pytest.param("n" * 32 + "-1796159078.0", id="longest-systemname"),
])
def test_ids_with_a_systemname_are_accepted(call_id: str) -> None:
    """Asterisk with ``systemname`` set prefixes every Uniqueid and Linkedid with it."""
    event = cel.from_json_line(line(ANSWERED[0], uniqueid=call_id, linkedid=call_id))
    assert event is not None and (event.uniqueid, event.linkedid) == (call_id, call_id)


def test_numeric_json_values_are_accepted() -> None:
    event = cel.from_json_line(line(ANSWERED[0], eventtime=1795444596.19814))
    assert event is not None and event.time == pytest.approx(1795444596.19814)


@pytest.mark.parametrize(("eventextra", "extra"), [
    pytest.param("", {}, id="empty"),
    pytest.param('{"extra":"hotline"}', {"extra": "hotline"}, id="object"),
    pytest.param("not json", {"raw": "not json"}, id="not-json-kept-raw"),
    pytest.param("[1,2]", {"raw": "[1, 2]"}, id="list-kept-raw"),
    pytest.param("x" * 600, {"raw": "x" * 500}, id="long-raw-cut"),
])
def test_event_extra(eventextra: str, extra: dict[str, Any]) -> None:
    event = cel.from_json_line(line(ANSWERED[3], eventextra=eventextra))
    assert event is not None and event.extra == extra


def test_raw_line_break_inside_a_value_is_accepted() -> None:
    # cel_custom writes a caller-ID's CR/LF into the JSON string unescaped
    raw = ANSWERED[0].replace('"num":"13800001111"', '"num":"139\r\nEvent: Fake\r\n00000005"')
    event = cel.from_json_line(raw)
    assert event is not None and event.caller_num == "139\r\nEvent: Fake\r\n00000005"


def test_user_defined_without_its_type_keeps_the_generic_name() -> None:
    event = cel.from_json_line(line(ANSWERED[1], eventtype="USER_DEFINED", userdeftype=""))
    assert event is not None and event.name == "USER_DEFINED"
    event = cel.from_json_line(line(ANSWERED[1], eventtype="USER_DEFINED"))
    assert event is not None and event.name == "HOTLINE_ARRIVAL"




from hotline.calls.cel import from_json_line as _from_json_line, from_trusted_suffix  # noqa: E402

# --- hostile caller-ID in the cel_custom JSON log --------------------------------------------
# Asterisk 22's cel_custom escapes '"' but not '\' (seen on a real call with caller
# 139%22%2C%22x%22%3A%22%5C): the caller fields are written first so the rest survives.

_TRUSTED = ('"eventtype":"CHAN_START","userdeftype":"","eventtime":"1795445902.160709","context":"from-trunk-carrier",'
            '"channame":"PJSIP/trunk-carrier-00000002","appname":"","appdata":"","uniqueid":"1795445902.2",'
            '"linkedid":"1795445902.2","peer":"","eventextra":""}')


def test_backslash_at_the_end_of_a_caller_id_breaks_only_the_caller_fields() -> None:
    line = '{"name":"caller","num":"139\\",\\"x\\":\\"\\","dnid":"","exten":"12345",' + _TRUSTED
    assert _from_json_line(line) is None  # the JSON really is broken
    event = from_trusted_suffix(line)
    assert event is not None and event.name == "CHAN_START" and event.linkedid == "1795445902.2"
    assert event.caller_num == ""  # the caller's fields are dropped, not guessed


def test_injected_keys_never_override_asterisks_own() -> None:
    line = ('{"name":"caller","num":"1","linkedid":"666.6","eventtype":"LINKEDID_END","dnid":"","exten":"12345",'
            + _TRUSTED)
    event = _from_json_line(line)
    assert event is not None and event.linkedid == "1795445902.2" and event.name == "CHAN_START"
