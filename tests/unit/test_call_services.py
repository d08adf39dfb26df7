"""Live CallTracker and the CEL-log Reconciler (hotline.calls.services)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from hotline.calls import cel, services
from hotline.calls.assemble import Directory, assemble
from hotline.calls.cel import CelEvent
from hotline.calls.celpos import CelPosition
from hotline.records.call import CallRecord, Outcome
from hotline.calls.services import CallTracker, Reconciler

CEL_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "cel"
DIRECTORY = Directory(trunks=frozenset({"trunk-carrier"}), seats=frozenset({"1001", "1002"}))

ANSWERED_ID, NO_SEAT_ID, TIMEOUT_ID, SEATS_ID = "1795444596.1", "1795444539.0", "1795444650.5", "1795444700.7"


def raw_lines(name: str) -> list[bytes]:
    return (CEL_DIR / f"{name}.jsonl").read_bytes().splitlines(keepends=True)


def events(name: str) -> list[CelEvent]:
    out = [cel.from_json_line(raw) for raw in raw_lines(name)]
    assert all(e is not None for e in out)
    return [e for e in out if e is not None]


# -- CallTracker ------------------------------------------------------------------------------

class Seen:
    def __init__(self) -> None:
        self.records: list[CallRecord] = []
        self.partial: list[str] = []

    def tracker(self, **kwargs: float) -> CallTracker:
        return CallTracker(DIRECTORY, self.records.append, on_partial=self.partial.append, **kwargs)  # type: ignore[arg-type]


def test_tracker_emits_exactly_one_record_at_linkedid_end() -> None:
    seen = Seen()
    tracker = seen.tracker()
    evs = events("answered_merged_call")
    for e in evs[:-1]:
        tracker.add(e)
        assert seen.records == []
    assert tracker.live_count == 1
    tracker.add(evs[-1])
    assert seen.records == [assemble(evs, DIRECTORY, source="live")]
    assert seen.records[0].outcome is Outcome.answered and seen.records[0].source == "live"
    assert seen.partial == [] and tracker.live_count == 0 and tracker.completed == 1


def test_tracker_interleaved_conversations() -> None:
    seen = Seen()
    tracker = seen.tracker()
    a, b, c = events("answered_merged_call"), events("no_seat_caller_hangs_up"), events("synthetic_seat_to_seat")
    merged = sorted(a + b + c, key=lambda e: (e.time, e.uniqueid))
    for e in merged:
        tracker.add(e)
    # seat-to-seat ends without a record and without being partial
    assert sorted(r.call_id for r in seen.records) == [NO_SEAT_ID, ANSWERED_ID]
    assert seen.partial == [] and tracker.live_count == 0 and tracker.completed == 2


def test_tracker_that_missed_chan_start_asks_for_reconciliation() -> None:
    seen = Seen()
    tracker = seen.tracker()
    for e in events("answered_merged_call"):
        if not (e.name == "CHAN_START" and e.uniqueid == e.linkedid):
            tracker.add(e)
    assert seen.records == [] and seen.partial == [ANSWERED_ID]
    assert tracker.live_count == 0 and tracker.completed == 0


def test_tracker_joining_mid_call_asks_for_reconciliation() -> None:
    seen = Seen()
    tracker = seen.tracker()
    for e in events("answered_merged_call")[8:]:  # the controller started during the conversation
        tracker.add(e)
    assert seen.records == [] and seen.partial == [ANSWERED_ID]


def test_tracker_lone_replayed_linkedid_end_is_partial_not_a_record() -> None:
    seen = Seen()
    tracker = seen.tracker()
    evs = events("answered_merged_call")
    for e in evs:
        tracker.add(e)
    tracker.add(evs[-1])
    assert len(seen.records) == 1 and seen.partial == [ANSWERED_ID]


def test_tracker_evicts_the_oldest_beyond_the_cap() -> None:
    seen = Seen()
    tracker = seen.tracker(max_conversations=2)
    starts = {name: events(name)[0] for name in ("no_seat_caller_hangs_up", "answered_merged_call",
                                                "synthetic_queue_timeout")}
    for e in starts.values():
        tracker.add(e)
    assert seen.partial == [NO_SEAT_ID] and tracker.live_count == 2
    assert seen.records == []


def test_tracker_evicts_stale_conversations(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(services.time, "monotonic", lambda: now[0])
    seen = Seen()
    tracker = seen.tracker(max_age=3600)
    stale = events("no_seat_caller_hangs_up")[:3]   # its LINKEDID_END was never seen (AMI was down)
    for e in stale:
        tracker.add(e)
    now[0] += 3601
    live = events("answered_merged_call")
    tracker.add(live[0])
    # far below the cap, yet the stale one goes: it must not show as a live call forever
    assert seen.partial == [NO_SEAT_ID]
    assert [c["call_id"] for c in tracker.live_calls()] == [ANSWERED_ID]
    for e in live[1:]:
        tracker.add(e)
    assert [r.call_id for r in seen.records] == [ANSWERED_ID] and tracker.live_count == 0


def test_tracker_keeps_conversations_that_are_still_active(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(services.time, "monotonic", lambda: now[0])
    seen = Seen()
    tracker = seen.tracker(max_age=3600)
    evs = events("answered_merged_call")
    for e in evs[:-1]:
        now[0] += 600  # a long call, but each event refreshes it
        tracker.add(e)
        assert seen.partial == []
    tracker.add(evs[-1])
    assert len(seen.records) == 1


def test_live_calls_shows_trunk_calls_in_progress() -> None:
    seen = Seen()
    tracker = seen.tracker()
    answered, seats = events("answered_merged_call"), events("synthetic_seat_to_seat")
    for e in answered[:8] + seats[:6]:  # both conversations bridged, neither ended
        tracker.add(e)
    live = tracker.live_calls()
    assert len(live) == 1
    call = live[0]
    assert call["call_id"] == ANSWERED_ID and call["outcome"] == "in_progress"
    assert (call["seat"], call["queue"], call["caller_number"], call["ended_at"]) == \
        ("1001", "hotline", "13800001111", None)
    json.dumps(live)
    for e in answered[8:]:
        tracker.add(e)
    assert tracker.live_calls() == []


# -- Reconciler -------------------------------------------------------------------------------

class Offsets:
    """The saved CEL position (offset and file identity); ``value`` is its offset."""

    def __init__(self, value: int = 0) -> None:
        self.position = CelPosition.coerce(value)
        self.saved: list[CelPosition] = []

    @property
    def value(self) -> int:
        return self.position.offset

    def load(self) -> CelPosition:
        return self.position

    def save(self, value: CelPosition) -> None:
        self.position = value
        self.saved.append(value)


def reconciler(path: Path, offsets: Offsets, sink: list[CallRecord]) -> Reconciler:
    return Reconciler(path, DIRECTORY, sink.append, offsets.load, offsets.save)


def join(*parts: list[bytes]) -> bytes:
    return b"".join(b"".join(p) for p in parts)


def by_id(records: list[CallRecord]) -> dict[str, CallRecord]:
    return {r.call_id: r for r in records}


def expected(name: str) -> CallRecord:
    record = assemble(events(name), DIRECTORY, source="cel-reconcile")
    assert record is not None
    return record


def test_reconciler_two_ended_one_open_then_the_rest(tmp_path: Path) -> None:
    log = tmp_path / "hotline-cel.json"
    no_seat, timeout, answered = raw_lines("no_seat_caller_hangs_up"), raw_lines("synthetic_queue_timeout"), \
        raw_lines("answered_merged_call")
    # A ended, B (queue timeout) begun, C ended, B still open
    log.write_bytes(join(no_seat, timeout[:5], answered))
    offsets = Offsets()
    sink: list[CallRecord] = []
    r = reconciler(log, offsets, sink)
    assert r.run() == 2
    assert by_id(sink) == {NO_SEAT_ID: expected("no_seat_caller_hangs_up"),
                           ANSWERED_ID: expected("answered_merged_call")}
    assert offsets.value == len(join(no_seat))  # the first line of the open conversation
    assert r.records == 2 and r.bad_lines == 0

    with log.open("ab") as fh:
        fh.write(join(timeout[5:]))
    sink.clear()
    assert r.run() == 2  # B now, and C again (it lies after B's start): an upsert, the same record
    assert by_id(sink) == {TIMEOUT_ID: expected("synthetic_queue_timeout"),
                           ANSWERED_ID: expected("answered_merged_call")}
    assert by_id(sink)[TIMEOUT_ID].arrived_at == expected("synthetic_queue_timeout").arrived_at  # had CHAN_START
    assert offsets.value == log.stat().st_size

    sink.clear()
    assert r.run() == 0 and sink == []
    assert offsets.value == log.stat().st_size


def test_reconciler_skips_conversations_that_are_not_trunk_calls(tmp_path: Path) -> None:
    log = tmp_path / "cel.json"
    log.write_bytes(join(raw_lines("synthetic_seat_to_seat"), raw_lines("synthetic_abandoned_before_queue")))
    sink: list[CallRecord] = []
    assert reconciler(log, Offsets(), sink).run() == 1
    assert [r.call_id for r in sink] == ["1795444620.4"] and sink[0].outcome is Outcome.abandoned_before_queue


def test_reconciler_leaves_a_partial_last_line(tmp_path: Path) -> None:
    log = tmp_path / "cel.json"
    lines = raw_lines("no_seat_caller_hangs_up")
    last = lines[-1]
    log.write_bytes(join(lines[:-1]) + last[:40])  # Asterisk is still writing LINKEDID_END
    offsets = Offsets()
    sink: list[CallRecord] = []
    r = reconciler(log, offsets, sink)
    assert r.run() == 0 and sink == []
    assert offsets.value == 0  # the conversation is open: its start is where the next pass begins
    assert r.bad_lines == 0
    with log.open("ab") as fh:
        fh.write(last[40:])
    assert r.run() == 1 and by_id(sink) == {NO_SEAT_ID: expected("no_seat_caller_hangs_up")}
    assert offsets.value == log.stat().st_size and r.bad_lines == 0


def test_reconciler_partial_line_after_ended_conversations(tmp_path: Path) -> None:
    log = tmp_path / "cel.json"
    done = raw_lines("no_seat_caller_hangs_up")
    next_start = raw_lines("answered_merged_call")[0]
    log.write_bytes(join(done) + next_start[:-1])  # no newline yet
    offsets = Offsets()
    sink: list[CallRecord] = []
    assert reconciler(log, offsets, sink).run() == 1
    assert offsets.value == len(join(done))  # the unfinished line is read again next time


def test_reconciler_restarts_at_zero_after_truncation_or_rotation(tmp_path: Path) -> None:
    log = tmp_path / "cel.json"
    log.write_bytes(join(raw_lines("answered_merged_call"), raw_lines("no_seat_caller_hangs_up")))
    offsets = Offsets()
    sink: list[CallRecord] = []
    r = reconciler(log, offsets, sink)
    assert r.run() == 2
    big = offsets.value
    log.write_bytes(join(raw_lines("synthetic_abandoned_before_queue")))  # rotated: a new, shorter file
    assert log.stat().st_size < big
    sink.clear()
    assert r.run() == 1 and [s.call_id for s in sink] == ["1795444620.4"]
    assert offsets.value == log.stat().st_size


def test_reconciler_counts_and_skips_malformed_lines(tmp_path: Path) -> None:
    log = tmp_path / "cel.json"
    no_seat, answered = raw_lines("no_seat_caller_hangs_up"), raw_lines("answered_merged_call")
    bad = [b"not json at all\n", b"[1, 2, 3]\n", b'{"eventtype":"CHAN_START","uniqueid":"abc"}\n',
           b"\x00\xff\xfe garbage\n", b"{}\n"]
    log.write_bytes(join(no_seat[:3], bad[:2], no_seat[3:], bad[2:], answered))
    offsets = Offsets()
    sink: list[CallRecord] = []
    r = reconciler(log, offsets, sink)
    assert r.run() == 2
    assert by_id(sink) == {NO_SEAT_ID: expected("no_seat_caller_hangs_up"),
                           ANSWERED_ID: expected("answered_merged_call")}
    assert r.bad_lines == 5
    assert offsets.value == log.stat().st_size


def test_reconciler_line_split_by_a_raw_crlf_in_the_caller_id(tmp_path: Path) -> None:
    # cel_custom writes CALLERID(num) unescaped: a hostile caller-ID splits the CHAN_START line
    log = tmp_path / "cel.json"
    lines = raw_lines("answered_merged_call")
    hostile = [lines[0].replace(b'"num":"13800001111"', b'"num":"139\r\nEvent: Fake\r\n00000005"')] + lines[1:]
    assert join(hostile).count(b"\n") == len(lines) + 2
    log.write_bytes(join(raw_lines("no_seat_caller_hangs_up"), hostile))
    sink: list[CallRecord] = []
    r = reconciler(log, Offsets(), sink)
    assert r.run() == 2
    rec = by_id(sink)[ANSWERED_ID]
    assert rec == expected("answered_merged_call")  # the caller number comes from HOTLINE_ARRIVAL
    assert r.bad_lines == 0


@pytest.mark.parametrize("value", [
    pytest.param(b"139}\r\n00000005", id="fragment-ends-with-brace"),
    pytest.param(b"1\r\n2\r\n3\r\n4\r\n5", id="many-fragments"),
    pytest.param(b'1\r\n{\\"eventtype\\":\\"LINKEDID_END\\"}\r\n2', id="escaped-json-in-fragment"),
])
def test_reconciler_hostile_split_chan_start_still_yields_the_record(tmp_path: Path, value: bytes) -> None:
    log = tmp_path / "cel.json"
    lines = raw_lines("answered_merged_call")
    chan_start = lines[0].replace(b'"num":"13800001111"', b'"num":"' + value + b'"')
    log.write_bytes(join([chan_start], lines[1:]))
    sink: list[CallRecord] = []
    r = reconciler(log, Offsets(), sink)
    assert r.run() == 1
    assert sink == [expected("answered_merged_call")]
    assert r.bad_lines == 0


def test_reconciler_split_record_at_the_end_waits_for_the_rest(tmp_path: Path) -> None:
    log = tmp_path / "cel.json"
    done = raw_lines("no_seat_caller_hangs_up")
    lines = raw_lines("answered_merged_call")
    head, _, tail = lines[0].partition(b'"num":"13800001111"')
    log.write_bytes(join(done) + head + b'"num":"139\r\n')  # the rest of the record is not written yet
    offsets = Offsets()
    sink: list[CallRecord] = []
    r = reconciler(log, offsets, sink)
    assert r.run() == 1 and offsets.value == len(join(done)) and r.bad_lines == 0
    with log.open("ab") as fh:
        fh.write(b'00000005"' + tail + join(lines[1:]))
    sink.clear()
    assert r.run() == 1 and sink == [expected("answered_merged_call")] and r.bad_lines == 0


def test_reconciler_is_idempotent_over_the_same_data(tmp_path: Path) -> None:
    log = tmp_path / "cel.json"
    log.write_bytes(join(raw_lines("answered_merged_call"), raw_lines("no_seat_caller_hangs_up"),
                         raw_lines("synthetic_queue_timeout"), raw_lines("synthetic_unknown_number")))
    first: list[CallRecord] = []
    second: list[CallRecord] = []
    always_zero = Offsets()
    always_zero.save = lambda value: None  # type: ignore[method-assign]  # every pass reads it all again
    assert reconciler(log, always_zero, first).run() == 4
    assert reconciler(log, always_zero, second).run() == 4
    assert by_id(first) == by_id(second)
    assert set(by_id(first)) == {ANSWERED_ID, NO_SEAT_ID, TIMEOUT_ID, "1795444800.9"}
    # with a real offset the second pass has nothing new
    offsets = Offsets()
    third: list[CallRecord] = []
    r = reconciler(log, offsets, third)
    assert r.run() == 4 and r.run() == 0 and len(third) == 4


def test_reconciler_missing_file(tmp_path: Path) -> None:
    offsets = Offsets(7)
    sink: list[CallRecord] = []
    assert reconciler(tmp_path / "absent.json", offsets, sink).run() == 0
    assert sink == [] and offsets.saved == []


def test_reconciler_open_conversation_abandoned_by_a_crash_does_not_pin_the_offset(tmp_path: Path) -> None:
    # Asterisk died mid-call: that conversation never gets its LINKEDID_END
    log = tmp_path / "cel.json"
    crashed = raw_lines("synthetic_queue_timeout")[:5]
    later = [json.loads(raw) for raw in raw_lines("answered_merged_call")]
    shift = Reconciler.OPEN_HORIZON + 100  # the next calls come long after
    for d in later:
        d["eventtime"] = f"{float(d['eventtime']) + shift:.6f}"
    later_lines = [json.dumps(d).encode() + b"\n" for d in later]
    log.write_bytes(join(crashed, later_lines))
    offsets = Offsets()
    sink: list[CallRecord] = []
    r = reconciler(log, offsets, sink)
    # the later call's uniqueid sequence (.1) is below the dead one's (.5): a new Asterisk process,
    # so the dead conversation is closed as it stood (issue 8, item 5)
    assert r.run() == 2 and [s.call_id for s in sink] == [TIMEOUT_ID, ANSWERED_ID]
    assert sink[0].extra["cut_by"] == "asterisk_restart"
    assert offsets.value == log.stat().st_size  # not pinned at the dead conversation's start
    # but a conversation open only a short while still holds the offset
    log.write_bytes(join(raw_lines("synthetic_queue_timeout")[:5], raw_lines("answered_merged_call")))
    offsets2 = Offsets()
    assert reconciler(log, offsets2, []).run() == 1 and offsets2.value == 0


def test_reconciler_survives_a_conversation_that_cannot_be_assembled(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "cel.json"
    log.write_bytes(join(raw_lines("answered_merged_call"), raw_lines("no_seat_caller_hangs_up")))
    real = services.assemble

    def flaky(evs: list[CelEvent], directory: Directory, source: str = "ami") -> CallRecord | None:
        if evs[0].linkedid == ANSWERED_ID:
            raise RuntimeError("assembler bug")
        return real(evs, directory, source)

    monkeypatch.setattr(services, "assemble", flaky)
    offsets = Offsets()
    sink: list[CallRecord] = []
    assert reconciler(log, offsets, sink).run() == 1
    assert [s.call_id for s in sink] == [NO_SEAT_ID] and offsets.value == log.stat().st_size


def test_tracker_and_reconciler_agree(tmp_path: Path) -> None:
    seen = Seen()
    tracker = seen.tracker()
    for e in events("answered_merged_call"):
        tracker.add(e)
    log = tmp_path / "cel.json"
    log.write_bytes(join(raw_lines("answered_merged_call")))
    sink: list[CallRecord] = []
    reconciler(log, Offsets(), sink).run()
    assert seen.records == [replace(sink[0], source="live")]


def test_reconciler_keeps_a_record_whose_caller_id_broke_its_json_line(tmp_path) -> None:
    """A caller-ID ending in a backslash (cel_custom does not escape it) breaks the JSON of the
    CHAN_START line; the record is still rebuilt, with the sanitised number from the arrival."""
    import json as _json

    from hotline.calls.assemble import Directory
    from hotline.calls.services import Reconciler

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "cel" / "answered_merged_call.jsonl"
    lines = fixture.read_text().splitlines()
    first = _json.loads(lines[0])
    caller = {"name": first.pop("name"), "num": "139\\", "dnid": first.pop("dnid"), "exten": first.pop("exten")}
    first.pop("num")
    broken = ('{"name":"caller","num":"139\\","dnid":"","exten":"83531111",'
              + _json.dumps(first, separators=(",", ":"))[1:])
    assert caller["num"] == "139\\"
    log = tmp_path / "hotline-cel.json"
    log.write_text("\n".join([broken, *lines[1:]]) + "\n")
    out = []
    offset = {"v": 0}
    rec = Reconciler(log, Directory(frozenset({"trunk-carrier"}), frozenset({"1001"})), out.append,
                     lambda: offset["v"], lambda v: offset.__setitem__("v", v))
    assert rec.run() == 1
    assert out[0].outcome.value == "answered" and out[0].caller_number == "13800001111"
    assert rec.bad_lines == 0
