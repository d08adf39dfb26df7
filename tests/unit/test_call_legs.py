"""Transfers and three-way calls on the call record (hotline.calls.legs), from CEL captured on
Asterisk 22 while the integration rig's seats and phones took calls through the call-control API
(tests/fixtures/cel/control_*.jsonl: the conversation and, for three-way calls, its department
leg, a conversation of its own tied to it by accountcode)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from hotline.calls import cel
from hotline.calls.assemble import Directory, assemble
from hotline.calls.cel import CelEvent
from hotline.calls.legs import LegBook, call_legs, leg_account, parent_of, parse_account
from hotline.records.call import CallRecord
from hotline.calls.services import CallTracker, Reconciler
from hotline.calls.targets import SiteDirectory, site_directory, site_targets
from hotline.config import parse_site
from hotline.spine.plan import transfer_targets

CEL_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "cel"

SITE = parse_site({
    "trunks": [{"name": "carrier", "host": "127.0.0.2", "port": 15070}],
    "departments": [{"id": "renshe", "name": "人社局"},
                    {"id": "shuiwu", "name": "水务集团", "phone_secret": "deptsecret-shuiwu"},
                    {"id": "wuren", "name": "无应答部门", "phone_secret": "deptsecret-wuren"},
                    {"id": "zhujian", "name": "住建局", "duty_phone": "051485550000"}],
    "seats": [{"id": "1001", "name": "坐席1001", "secret": "seatsecret-1001"},
              {"id": "1002", "name": "坐席1002", "secret": "seatsecret-1002"}],
    "legacy_numbers": [{"number": "12333", "mode": "parallel", "department": "renshe"},
                       {"number": "96196", "mode": "parallel", "department": "shuiwu", "ring_seconds": 10},
                       {"number": "96999", "mode": "parallel", "department": "wuren", "ring_seconds": 5},
                       {"number": "96890", "mode": "convenience", "department": "zhujian", "hotline": "便民家政"}],
    "emergency": [{"number": "110", "trunk": "carrier"}],
}, "test")
DIRECTORY = site_directory(SITE)

SEAT_LEAVES, NO_ANSWER, WITH_110 = "1795446781.26", "1795446796.31", "1795446807.36"
TRANSFER_110, DROP_DEPT, REFERRAL, ATTENDED = "1795446818.41", "1795446900.44", "1795446905.49", "1795446960.54"


def raw_lines(name: str) -> list[bytes]:
    return (CEL_DIR / f"{name}.jsonl").read_bytes().splitlines(keepends=True)


def events(name: str) -> list[CelEvent]:
    out = [cel.from_json_line(raw) for raw in raw_lines(name)]
    assert all(e is not None for e in out)
    return [e for e in out if e is not None]


def record(name: str) -> CallRecord:
    rec = assemble(events(name), DIRECTORY, source="cel-reconcile")
    assert rec is not None
    return rec


def only_leg(rec: CallRecord) -> dict[str, object]:
    legs = rec.extra["legs"]
    assert isinstance(legs, list) and len(legs) == 1
    return legs[0]


# -- the directory and the accountcode --------------------------------------------------------

def test_targets_are_exactly_what_the_dialplan_can_dial() -> None:
    targets = site_targets(SITE)
    assert targets.keys() == transfer_targets(SITE).keys()
    assert targets["96196"].type == "parallel" and targets["96196"].ring_seconds == 10
    assert targets["dept-wuren"].type == "department_phone" and targets["dept-wuren"].ring_seconds == 5
    assert targets["dept-wuren"].number is None and targets["dept-wuren"].department == "wuren"
    assert targets["051485550000"].type == "duty_phone" and targets["051485550000"].ring_seconds == 20
    assert targets["96890"].type == "convenience"
    assert targets["110"].type == "emergency" and targets["110"].number == "110"
    assert DIRECTORY.target("110") == targets["110"] and DIRECTORY.target("119") is None


@pytest.mark.parametrize(("call_id", "target"), [("1795446781.26", "dept-shuiwu"), ("1.0", "110"),
                                                 ("123456789012.123456789", "+8651385550000")])
def test_leg_account_round_trip(call_id: str, target: str) -> None:
    account = leg_account(call_id, target)
    assert account.startswith("leg-") and len(account) <= 80  # Asterisk's accountcode limit
    assert parse_account(account) == (call_id, target)


@pytest.mark.parametrize("bad", ["", "leg-", "leg-1795446781.26", "leg-abc-110", "leg-1.2-", "leg-1.2-a b",
                                 "LEG-1.2-110", "leg-1.2-110\n", "carrier"])
def test_other_accountcodes_are_not_legs(bad: str) -> None:
    assert parse_account(bad) is None


def test_leg_account_refuses_what_it_could_not_read_back() -> None:
    with pytest.raises(ValueError):
        leg_account("not-an-id", "110")
    with pytest.raises(ValueError):
        leg_account("1.2", "a,b")


def test_accountcode_is_read_from_json_and_absent_from_old_lines() -> None:
    line = raw_lines("control_three_way_seat_leaves")[15]
    assert json.loads(line)["accountcode"] == "leg-1795446781.26-dept-shuiwu"
    assert cel.from_json_line(line).accountcode == "leg-1795446781.26-dept-shuiwu"  # type: ignore[union-attr]
    old = json.loads(raw_lines("answered_merged_call")[0])
    assert "accountcode" not in old
    assert cel.from_json_object(old).accountcode == ""  # type: ignore[union-attr]


# -- the record's legs ---------------------------------------------------------------------------

def test_three_way_call_the_seat_leaves_and_the_caller_stays_with_the_department() -> None:
    rec = record("control_three_way_seat_leaves")
    assert rec.call_id == SEAT_LEAVES and rec.outcome.value == "answered" and rec.seat == "1001"
    leg = only_leg(rec)
    assert leg["kind"] == "three_way" and leg["target"] == "dept-shuiwu"
    assert leg["target_type"] == "department_phone" and leg["department"] == "shuiwu" and leg["number"] is None
    assert leg["answered"] is True and leg["outcome"] == "answered"
    assert leg["ring_seconds"] == pytest.approx(0.508, abs=0.002)
    assert leg["talk_seconds"] == pytest.approx(5.66, abs=0.01)
    assert leg["left_first"] == "seat"
    assert leg["channel"] == "PJSIP/dept-shuiwu-00000014"
    assert rec.recording == f"{SEAT_LEAVES}.wav"
    assert "referral" not in rec.extra and "emergency" not in rec.extra


def test_department_that_never_answers_is_recorded_as_not_answered_after_its_ring_time() -> None:
    leg = only_leg(record("control_three_way_no_answer"))
    assert leg["target"] == "dept-wuren" and leg["answered"] is False
    assert leg["outcome"] == "no_answer" and leg["hangup_cause"] == 19
    assert leg["ring_seconds"] == pytest.approx(5.0, abs=0.05)  # dept-wuren rings 5 s (its parallel number's)
    assert leg["talk_seconds"] is None and leg["answered_at"] is None and leg["left_first"] is None


def test_department_dropped_by_the_seat_left_first() -> None:
    leg = only_leg(record("control_three_way_drop_department"))
    assert leg["target"] == "96196" and leg["target_type"] == "parallel" and leg["number"] == "96196"
    assert leg["answered"] is True and leg["left_first"] == "target"
    assert leg["talk_seconds"] == pytest.approx(1.0, abs=0.01)


def test_who_left_first_is_read_in_the_bridge_even_a_moment_apart() -> None:
    # The seat dropped the department, and the caller hung up 0.24 s later.
    rec = assemble(events("control_three_way_quick_drop"), DIRECTORY)
    assert rec is not None
    leg = only_leg(rec)
    assert leg["answered"] is True and leg["talk_seconds"] == pytest.approx(0.135, abs=0.01)
    assert leg["left_first"] == "target"


def test_three_way_with_110_and_transfer_to_110() -> None:
    three_way = record("control_three_way_110")
    leg = only_leg(three_way)
    assert (leg["kind"], leg["target"], leg["target_type"], leg["left_first"]) == ("three_way", "110", "emergency",
                                                                                    "caller")
    assert three_way.extra["emergency"] == "110"
    transfer = record("control_transfer_110")
    leg = only_leg(transfer)
    assert (leg["kind"], leg["target"], leg["answered"]) == ("blind", "110", True)
    assert leg["channel"] == "PJSIP/trunk-carrier-0000001d"  # the dialled trunk channel, same Linkedid
    assert leg["left_first"] == "caller"
    assert transfer.extra["emergency"] == "110" and transfer.seat == "1002"


def test_transfer_to_a_convenience_partner_notes_the_referral() -> None:
    rec = record("control_referral")
    assert rec.extra["referral"] == "96890"
    leg = only_leg(rec)
    assert leg["kind"] == "blind" and leg["target_type"] == "convenience" and leg["department"] == "zhujian"


def test_attended_transfer_completed_by_the_seat_hanging_up() -> None:
    leg = only_leg(record("control_attended_transfer"))
    assert leg["kind"] == "attended" and leg["target"] == "96196" and leg["answered"] is True
    assert leg["channel"].startswith("PJSIP/trunk-carrier-")  # not the Local channel of the consultation
    assert leg["left_first"] == "caller"


@pytest.mark.parametrize(("name", "kind", "first", "other"), [
    ("control_transfer_to_seat", "blind", "1001", "1002"),
    ("control_attended_transfer_to_seat", "attended", "1002", "1001"),
])
def test_a_transfer_to_another_seat_names_the_target_seat(name: str, kind: str, first: str, other: str) -> None:
    """Recorded by the shapes blind- and attended-transfer-to-seat: the seat that answered keeps
    the record; the leg is the other seat's channel (a seat's channel, which a transfer to a
    department never dials)."""
    rec = record(name)
    assert rec.outcome.value == "answered" and rec.seat == first
    leg = only_leg(rec)
    assert (leg["kind"], leg["target"], leg["target_type"], leg["number"]) == (kind, other, "seat", None)
    assert leg["channel"].startswith(f"PJSIP/{other}-") and leg["answered"] is True  # type: ignore[union-attr]
    assert leg["left_first"] == "caller"
    plain = Directory(trunks=DIRECTORY.trunks, seats=DIRECTORY.seats)   # no target lookup: still a seat
    assert only_leg(assemble(events(name), plain))["target_type"] == "seat"  # type: ignore[arg-type]


def test_a_leg_conversation_is_never_a_record_of_its_own() -> None:
    # The 110 leg of a three-way call is a channel created on the trunk with its own Linkedid:
    # alone, it would look like a call that entered through the trunk.
    leg_events = [e for e in events("control_three_way_110") if e.linkedid != WITH_110]
    assert leg_events and parent_of(leg_events) == WITH_110
    assert all(e.linkedid == leg_events[0].linkedid for e in leg_events)


def test_legs_are_ignored_without_the_site_directory_and_without_tags() -> None:
    plain = Directory(trunks=DIRECTORY.trunks, seats=DIRECTORY.seats)
    rec = assemble(events("control_three_way_seat_leaves"), plain)
    assert rec is not None and rec.extra["legs"][0]["target_type"] is None  # type: ignore[index]
    assert call_legs(SEAT_LEAVES, events("answered_merged_call"), DIRECTORY) == {}
    assert assemble(events("answered_merged_call"), DIRECTORY).extra.get("legs") is None  # type: ignore[union-attr]


def test_events_in_any_order_and_replayed_give_the_same_legs() -> None:
    evs = events("control_three_way_seat_leaves")
    assert call_legs(SEAT_LEAVES, list(reversed(evs)) + evs[:10], DIRECTORY) == call_legs(SEAT_LEAVES, evs, DIRECTORY)


# -- the live path: CallTracker ------------------------------------------------------------------

def feed(tracker: CallTracker, evs: list[CelEvent]) -> None:
    for e in evs:
        tracker.add(e)


def test_tracker_writes_the_parent_with_its_leg_and_never_the_leg() -> None:
    sink: list[CallRecord] = []
    tracker = CallTracker(DIRECTORY, sink.append, on_partial=lambda lid: None)
    feed(tracker, events("control_three_way_110"))
    assert {r.call_id for r in sink} == {WITH_110}
    assert replace(sink[-1], source="cel-reconcile") == record("control_three_way_110")  # the same record


def test_tracker_rewrites_the_parent_when_its_leg_ends_after_it() -> None:
    # The caller hung up; the controller hung up the department's leg a moment later.
    sink: list[CallRecord] = []
    tracker = CallTracker(DIRECTORY, sink.append, on_partial=lambda lid: None)
    evs = events("control_three_way_seat_leaves")
    assert [e.name for e in evs].index("LINKEDID_END") < len(evs) - 1  # the parent ends first
    feed(tracker, evs)
    assert [r.call_id for r in sink] == [SEAT_LEAVES, SEAT_LEAVES]
    first, final = sink
    assert first.extra["legs"][0]["ended_at"] is None  # type: ignore[index]
    assert final.extra == record("control_three_way_seat_leaves").extra
    assert tracker.live_count == 0


def test_tracker_live_calls_hide_legs_and_show_them_on_their_call() -> None:
    tracker = CallTracker(DIRECTORY, lambda r: None, on_partial=lambda lid: None)
    evs = events("control_three_way_110")
    leg_start = next(i for i, e in enumerate(evs) if e.linkedid != WITH_110)
    feed(tracker, evs[:leg_start])
    tracker.expect_leg(WITH_110, "trunk-carrier")
    feed(tracker, evs[leg_start:leg_start + 1])  # the leg's CHAN_START: no accountcode yet
    live = tracker.live_calls()
    assert [c["call_id"] for c in live] == [WITH_110]  # not the 110 leg, although it is a trunk channel
    feed(tracker, [e for e in evs[leg_start + 1:] if e.name in ("ANSWER", "BRIDGE_ENTER") and e.linkedid != WITH_110])
    live = tracker.live_calls()
    assert [c["call_id"] for c in live] == [WITH_110]
    assert live[0]["extra"]["legs"][0]["answered"] is True  # type: ignore[index]
    own, legs = tracker.conversation(WITH_110)  # type: ignore[misc]
    assert len(legs) == 1 and own[0].uniqueid == WITH_110
    assert tracker.conversation(next(iter(legs))) is None  # a leg is not a call


def test_a_trunk_call_arriving_while_a_leg_is_expected_is_not_taken_for_it() -> None:
    tracker = CallTracker(DIRECTORY, lambda r: None, on_partial=lambda lid: None)
    tracker.expect_leg("1.0", "trunk-carrier")
    inbound = events("control_transfer_110")[0]  # CHAN_START, exten 12345: an inbound call
    tracker.add(inbound)
    assert [c["call_id"] for c in tracker.live_calls()] == [inbound.linkedid]


# -- after the fact: Reconciler ------------------------------------------------------------------

class Offsets:
    """The saved CEL position (a CelPosition); ``value`` is its offset."""

    def __init__(self) -> None:
        self.position: object = 0

    @property
    def value(self) -> int:
        return int(getattr(self.position, "offset", self.position))  # type: ignore[call-overload]

    def load(self) -> object:
        return self.position

    def save(self, value: object) -> None:
        self.position = value


def test_reconciler_ties_legs_and_writes_no_leg_records(tmp_path: Path) -> None:
    log = tmp_path / "cel.json"
    names = ["control_three_way_seat_leaves", "control_three_way_no_answer", "control_three_way_110",
             "control_transfer_110", "control_three_way_drop_department", "control_referral",
             "control_attended_transfer"]
    log.write_bytes(b"".join(b"".join(raw_lines(n)) for n in names))
    sink: list[CallRecord] = []
    offsets = Offsets()
    r = Reconciler(log, DIRECTORY, sink.append, offsets.load, offsets.save)
    assert r.run() == len(names)
    got = {rec.call_id: rec for rec in sink}
    assert set(got) == {SEAT_LEAVES, NO_ANSWER, WITH_110, TRANSFER_110, DROP_DEPT, REFERRAL, ATTENDED}
    for n in names:
        expected = record(n)
        assert got[expected.call_id].extra == expected.extra, n
    assert offsets.value == log.stat().st_size


def test_reconciler_rewrites_a_parent_whose_leg_ends_in_a_later_pass(tmp_path: Path) -> None:
    lines = raw_lines("control_three_way_seat_leaves")
    cut = next(i for i, raw in enumerate(lines) if json.loads(raw)["eventtype"] == "LINKEDID_END") + 1
    log = tmp_path / "cel.json"
    log.write_bytes(b"".join(lines[:cut]))  # the parent ended; its leg is still up
    sink: list[CallRecord] = []
    offsets = Offsets()
    r = Reconciler(log, DIRECTORY, sink.append, offsets.load, offsets.save)
    assert r.run() == 1
    assert sink[0].extra["legs"][0]["ended_at"] is None  # type: ignore[index]
    assert 0 < offsets.value < log.stat().st_size  # the open leg holds the offset
    with log.open("ab") as fh:
        fh.write(b"".join(lines[cut:]))
    assert r.run() == 1
    assert sink[1].call_id == SEAT_LEAVES and sink[1].extra == record("control_three_way_seat_leaves").extra
    assert offsets.value == log.stat().st_size


def test_leg_book_is_bounded() -> None:
    book = LegBook(keep_s=3600, keep_max=3)
    evs = events("control_three_way_seat_leaves")
    parent = [e for e in evs if e.linkedid == SEAT_LEAVES]
    for i in range(5):
        book.remember(f"{i}.0", parent)
    assert book.leg_ended("0.0", [], parent_live=False) is None   # forgotten: only the last 3 are kept
    assert book.leg_ended("4.0", [], parent_live=False) is not None
    book.remember("plain.0", events("answered_merged_call"))       # no transfer, no conference: not kept
    assert book.leg_ended("plain.0", [], parent_live=False) is None


def test_site_directory_is_a_directory() -> None:
    assert isinstance(DIRECTORY, SiteDirectory) and isinstance(DIRECTORY, Directory)
    assert DIRECTORY.trunks == frozenset({"trunk-carrier"}) and DIRECTORY.seats == frozenset({"1001", "1002"})
