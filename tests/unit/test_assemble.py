"""One conversation's CEL events -> one call record (hotline.calls.assemble). Pure; table-driven.

Expected values are computed by hand from the fixture lines (times are the
``eventtime`` fields; seconds rounded to ms). Real captures: answered_merged_call,
no_seat_caller_hangs_up. The synthetic_* files are edited copies of them.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hotline.calls import cel
from hotline.calls.assemble import Directory, assemble, is_complete
from hotline.calls.cel import CelEvent
from hotline.calls.model import CallRecord, Outcome
from hotline.spine.numbers import recorded_number as sanitise_number
from hotline.spine.plan import endpoint_of

CEL_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "cel"
DIRECTORY = Directory(trunks=frozenset({"trunk-carrier"}), seats=frozenset({"1001", "1002"}))


def lines(name: str) -> list[str]:
    return (CEL_DIR / f"{name}.jsonl").read_text().splitlines()


def events(name: str) -> list[CelEvent]:
    out = [cel.from_json_line(raw) for raw in lines(name)]
    assert all(e is not None for e in out), name
    return [e for e in out if e is not None]


def ts(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


ANSWERED = CallRecord(
    call_id="1795444596.1", dialled_number="83531111", caller_number="13800001111",
    arrived_at=ts(1795444596.198140), legacy_mode="merged", department="chengjian", trunk="carrier",
    queue="hotline", seat="1001", queued_at=ts(1795444596.212991), answered_at=ts(1795444596.720979),
    ended_at=ts(1795444600.205873),
    wait_seconds=0.508,   # 596.720979 (caller's BRIDGE_ENTER with the seat) - 596.212991 (HOTLINE_QUEUE)
    talk_seconds=3.485,   # 600.205873 (caller's HANGUP) - 596.720979
    outcome=Outcome.answered, hangup_cause=16, hangup_cause_text="normal clearing",
    recording="1795444596.1.wav", source="cel-reconcile", extra={"hangup_source": "caller"})

ABANDONED_IN_QUEUE = CallRecord(
    call_id="1795444539.0", dialled_number="12345", caller_number="13800001111",
    arrived_at=ts(1795444539.680643), legacy_mode=None, department=None, trunk="carrier", queue="hotline",
    seat=None, queued_at=ts(1795444539.697159), answered_at=None, ended_at=ts(1795444541.689088),
    wait_seconds=1.992,   # 541.689088 (HANGUP) - 539.697159 (HOTLINE_QUEUE)
    talk_seconds=None, outcome=Outcome.abandoned_in_queue, hangup_cause=0, hangup_cause_text="not defined",
    recording=None, source="cel-reconcile", extra={"hangup_source": "caller"})

ABANDONED_BEFORE_QUEUE = CallRecord(
    call_id="1795444620.4", dialled_number="12345", caller_number="13800001111",
    arrived_at=ts(1795444620.100000), legacy_mode=None, department=None, trunk="carrier", queue=None,
    seat=None, queued_at=None, answered_at=None, ended_at=ts(1795444623.350000), wait_seconds=None,
    talk_seconds=None, outcome=Outcome.abandoned_before_queue, hangup_cause=16,
    hangup_cause_text="normal clearing", recording=None, source="cel-reconcile",
    extra={"hangup_source": "caller"})

QUEUE_TIMEOUT = CallRecord(
    call_id="1795444650.5", dialled_number="12345", caller_number="13800001111",
    arrived_at=ts(1795444650.200000), legacy_mode=None, department=None, trunk="carrier", queue="hotline",
    seat=None,  # seat 1001 rang (its leg started and hung up) but never answered
    queued_at=ts(1795444650.215000), answered_at=None, ended_at=ts(1795444680.216000),
    wait_seconds=30.001,  # 680.216000 - 650.215000
    talk_seconds=None, outcome=Outcome.failed, hangup_cause=16, hangup_cause_text="normal clearing",
    recording=None, source="cel-reconcile", extra={"queue_status": "TIMEOUT", "hangup_source": "other"})

UNKNOWN_NUMBER = CallRecord(
    call_id="1795444800.9", dialled_number="99999999", caller_number="13900000004",
    arrived_at=ts(1795444800.198140), legacy_mode="unknown", department=None, trunk="carrier",
    queue="hotline", seat="1002", queued_at=ts(1795444800.212991), answered_at=ts(1795444800.720979),
    ended_at=ts(1795444804.205873), wait_seconds=0.508, talk_seconds=3.485, outcome=Outcome.answered,
    hangup_cause=16, hangup_cause_text="normal clearing", recording="1795444800.9.wav", source="cel-reconcile",
    extra={"hangup_source": "caller"})


@pytest.mark.parametrize(("fixture", "expected"), [
    pytest.param("answered_merged_call", ANSWERED, id="answered"),
    pytest.param("no_seat_caller_hangs_up", ABANDONED_IN_QUEUE, id="abandoned-in-queue"),
    pytest.param("synthetic_abandoned_before_queue", ABANDONED_BEFORE_QUEUE, id="abandoned-before-queue"),
    pytest.param("synthetic_queue_timeout", QUEUE_TIMEOUT, id="failed-queue-gave-up"),
    pytest.param("synthetic_unknown_number", UNKNOWN_NUMBER, id="unknown-dialled-number"),
    pytest.param("synthetic_seat_to_seat", None, id="seat-to-seat-not-a-trunk-call"),
    # issue #8: the bounded routing step ended without FastAGI (the T extension of hotline-route)
    pytest.param("synthetic_routing_fallback_timeout",
                 replace(ANSWERED, extra={"hangup_source": "caller", "routing_fallback": "timeout"}),
                 id="answered-after-routing-fallback"),
])
def test_assemble_fixture(fixture: str, expected: CallRecord | None) -> None:
    assert assemble(events(fixture), DIRECTORY, source="cel-reconcile") == expected


def test_source_defaults_to_ami() -> None:
    record = assemble(events("answered_merged_call"), DIRECTORY)
    assert record == replace(ANSWERED, source="live")


def test_record_serialises() -> None:
    d = ANSWERED.to_dict()
    assert d["outcome"] == "answered" and d["arrived_at"] == "2026-11-23T14:36:36.198140+00:00"
    json.dumps(d)


@pytest.mark.parametrize("fixture", ["answered_merged_call", "no_seat_caller_hangs_up", "synthetic_queue_timeout",
                                     "synthetic_abandoned_before_queue", "synthetic_unknown_number"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_out_of_order_and_duplicated_events_give_the_same_record(fixture: str, seed: int) -> None:
    evs = events(fixture)
    expected = assemble(evs, DIRECTORY)
    rng = random.Random(seed)
    shuffled = evs + rng.sample(evs, k=len(evs) // 2)  # replayed events
    rng.shuffle(shuffled)
    assert assemble(shuffled, DIRECTORY) == expected


def test_events_of_another_conversation_are_ignored() -> None:
    mixed = events("answered_merged_call") + events("synthetic_unknown_number")
    assert assemble(mixed, DIRECTORY) == replace(ANSWERED, source="live")


@pytest.mark.parametrize("drop", [
    pytest.param(lambda e: e.name == "CHAN_START" and e.uniqueid == e.linkedid, id="no-caller-chan-start"),
    pytest.param(lambda e: True, id="nothing-left"),
])
def test_without_the_caller_leg_start_there_is_no_record(drop: Any) -> None:
    assert assemble([e for e in events("answered_merged_call") if not drop(e)], DIRECTORY) is None


def test_unknown_trunk_and_seat_endpoints() -> None:
    # a directory that does not know this trunk: not a hotline call
    other = Directory(trunks=frozenset({"trunk-other"}), seats=DIRECTORY.seats)
    assert assemble(events("answered_merged_call"), other) is None
    # a directory that does not know seat 1001: the call is not counted as answered by a seat
    no_seats = Directory(trunks=DIRECTORY.trunks, seats=frozenset())
    record = assemble(events("answered_merged_call"), no_seats)
    assert record is not None and record.outcome is Outcome.abandoned_in_queue and record.seat is None


def _with_caller(raw_lines: list[str], number: str) -> list[CelEvent]:
    out = []
    for raw in raw_lines:
        d = json.loads(raw)
        if d["num"] == "13800001111":
            d["num"] = number
        event = cel.from_json_line(json.dumps(d))
        assert event is not None
        out.append(event)
    return out


@pytest.mark.parametrize(("number", "expected"), [
    pytest.param("13800001111", "13800001111", id="plain"),
    pytest.param("+8613800001111", "+8613800001111", id="international"),
    pytest.param("13800\r\nEvil", "13800", id="crlf-and-text"),
    pytest.param("139\r\nEvent: Fake\r\n00000005", "13900000005", id="ami-header-injection"),
    pytest.param("'; DROP TABLE calls; --", "anonymous", id="sql-text"),
    pytest.param("1" * 200, "1" * 32, id="200-digits"),
    pytest.param("+" + "8" * 40, "+" + "8" * 31, id="long-international"),
    pytest.param("", "anonymous", id="empty"),
    pytest.param("anonymous", "anonymous", id="anonymous"),
    pytest.param("张三", "anonymous", id="name-not-number"),
    pytest.param("１３８００", "anonymous", id="fullwidth-digits"),
    pytest.param("١٢٣", "anonymous", id="arabic-indic-digits"),
    pytest.param("138+0000", "anonymous", id="plus-inside"),
    pytest.param("+", "anonymous", id="plus-only"),
    pytest.param("<script>1</script>", "1", id="markup"),
])
def test_hostile_caller_number_is_sanitised(number: str, expected: str) -> None:
    for fixture in ("answered_merged_call", "no_seat_caller_hangs_up"):
        record = assemble(_with_caller(lines(fixture), number), DIRECTORY)
        assert record is not None
        assert record.caller_number == expected
        assert record.caller_number == "anonymous" or (
            len(record.caller_number) <= 32 and record.caller_number.lstrip("+").isascii()
            and record.caller_number.lstrip("+").isdigit())


def test_caller_number_from_the_chan_start_when_arrival_has_none() -> None:
    evs = [replace(e, caller_num="") if e.name == "HOTLINE_ARRIVAL" else e for e in events("answered_merged_call")]
    record = assemble(evs, DIRECTORY)
    assert record is not None and record.caller_number == "13800001111"


def test_without_arrival_the_dialled_number_is_the_chan_start_exten() -> None:
    evs = [e for e in events("answered_merged_call") if e.name != "HOTLINE_ARRIVAL"]
    record = assemble(evs, DIRECTORY)
    assert record is not None
    assert (record.dialled_number, record.legacy_mode, record.department) == ("83531111", None, None)


@pytest.mark.parametrize(("extra", "appdata", "expected"), [
    pytest.param({"extra": "83531111|merged|chengjian"}, "", ("83531111", "merged", "chengjian"), id="extra"),
    pytest.param({}, "HOTLINE_ARRIVAL,83531111|parallel|renshe", ("83531111", "parallel", "renshe"),
                 id="appdata-when-extra-missing"),
    pytest.param({"extra": "12345|hotline|"}, "", ("12345", None, None), id="hotline-number"),
    pytest.param({"extra": "99999999|unknown|"}, "", ("99999999", "unknown", None), id="unknown-number"),
    pytest.param({"extra": "|"}, "", ("83531111", None, None), id="empty-parts-fall-back"),
    pytest.param({"extra": "8353\r\n1111|merged|x"}, "", ("83531111", "merged", "x"), id="dialled-sanitised"),
])
def test_arrival_fields(extra: dict[str, Any], appdata: str, expected: tuple[str, str | None, str | None]) -> None:
    evs = [replace(e, extra=extra, appdata=appdata) if e.name == "HOTLINE_ARRIVAL" else e
           for e in events("answered_merged_call")]
    record = assemble(evs, DIRECTORY)
    assert record is not None
    assert (record.dialled_number, record.legacy_mode, record.department) == expected


def test_non_text_event_extra_does_not_break_assembly() -> None:
    def poison(e: CelEvent) -> CelEvent:
        if e.name in ("HOTLINE_ARRIVAL", "HOTLINE_QUEUE"):
            return replace(e, extra={"extra": 5})
        if e.name == "HANGUP":
            return replace(e, extra={"hangupcause": float("inf"), "hangupsource": None})
        return e

    record = assemble([poison(e) for e in events("answered_merged_call")], DIRECTORY)
    assert record is not None
    assert record.outcome is Outcome.answered and record.hangup_cause is None
    assert isinstance(record.dialled_number, str) and (record.queue is None or isinstance(record.queue, str))


@pytest.mark.parametrize(("cause", "expected"), [
    (16, (16, "normal clearing")), ("17", (17, "user busy")), (99, (99, None)), ("abc", (None, None)),
    (None, (None, None)),
])
def test_hangup_cause(cause: Any, expected: tuple[int | None, str | None]) -> None:
    evs = [replace(e, extra={**e.extra, "hangupcause": cause}) if e.name == "HANGUP" else e
           for e in events("no_seat_caller_hangs_up")]
    record = assemble(evs, DIRECTORY)
    assert record is not None and (record.hangup_cause, record.hangup_cause_text) == expected


def test_failed_before_queue_when_the_platform_hung_up() -> None:
    # no queue, hung up by the dialplan with a cause that is not a normal clearing
    evs = [replace(e, extra={"hangupcause": 34, "hangupsource": "dialplan/builtin"}) if e.name == "HANGUP" else e
           for e in events("synthetic_abandoned_before_queue")]
    record = assemble(evs, DIRECTORY)
    assert record is not None
    assert record.outcome is Outcome.failed and record.extra == {"hangup_source": "other"}


def test_seat_hangs_up() -> None:
    evs = [replace(e, extra={**e.extra, "hangupsource": "PJSIP/1001-00000002"}) if e.name == "HANGUP" else e
           for e in events("answered_merged_call")]
    record = assemble(evs, DIRECTORY)
    assert record is not None and record.extra == {"hangup_source": "seat"}


def test_in_progress_call_has_no_end() -> None:
    evs = [e for e in events("answered_merged_call") if e.time < 1795444600]
    record = assemble(evs, DIRECTORY)
    assert record is not None
    assert record.outcome is Outcome.answered and record.ended_at is None and record.talk_seconds is None
    assert record.wait_seconds == 0.508 and record.hangup_cause is None


def test_is_complete() -> None:
    evs = events("answered_merged_call")
    assert is_complete(evs)
    assert not is_complete([e for e in evs if e.name != "LINKEDID_END"])


@pytest.mark.parametrize(("channel", "endpoint"), [
    ("PJSIP/trunk-carrier-00000001", "trunk-carrier"),
    ("PJSIP/1001-0000000a", "1001"),
    ("PJSIP/trunk-a-b-00000001", "trunk-a-b"),
    ("PJSIP/1001", None),
    ("SIP/1001-00000001", None),
    ("Local/1001@hotline-seats-00000001;1", None),
    ("Local/1005@hotline-remote-seat-0000001a;1", "1005"),   # a seat on an outside number
    ("Local/1005@hotline-remote-seat-0000001a;2", "1005"),
    ("Local/x1005@hotline-remote-seat-0000001a;1", None),
    ("", None),
])
def test_endpoint_of(channel: str, endpoint: str | None) -> None:
    assert endpoint_of(channel) == endpoint


@pytest.mark.parametrize(("raw", "expected"), [
    ("13800001111", "13800001111"), ("+86 138-0000-1111", "+8613800001111"), ("", "anonymous"),
    ("abc", "anonymous"), ("0" * 33, "0" * 32),
])
def test_sanitise_number(raw: str, expected: str) -> None:
    assert sanitise_number(raw) == expected
