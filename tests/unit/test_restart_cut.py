"""Calls cut by an Asterisk restart (issue 8, item 5): closed with their own outcome, live and
from the CEL log, instead of no record and a live ghost for hours."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotline.calls import cel
from hotline.calls.assemble import Directory
from hotline.calls.cel import CelEvent
from hotline.records.call import CallRecord, Outcome
from hotline.calls.restart import EpochWatch
from hotline.calls.services import CallTracker, Reconciler

CEL_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "cel"
DIRECTORY = Directory(trunks=frozenset({"trunk-carrier"}), seats=frozenset({"1001", "1002"}))
ANSWERED_ID, QUEUED_ID = "1795444596.1", "1795444650.5"


def lines(name: str) -> list[bytes]:
    return (CEL_DIR / f"{name}.jsonl").read_bytes().splitlines(keepends=True)


def events(raw: list[bytes]) -> list[CelEvent]:
    out = [cel.from_json_line(r) for r in raw]
    return [e for e in out if e is not None]


ANSWERED_UP = lines("answered_merged_call")[:8]     # caller and seat bridged, talking
QUEUED_UP = lines("synthetic_queue_timeout")[:4]    # the caller waits in the queue
LAST_ANSWERED_T = events(ANSWERED_UP)[-1].time


def new_process_call(at: float) -> bytes:
    """The first channel of a new Asterisk process: its uniqueid sequence starts again at 0."""
    d = json.loads(lines("no_seat_caller_hangs_up")[0])
    uid = f"{int(at)}.0"
    d.update(eventtime=f"{at:.6f}", uniqueid=uid, linkedid=uid)
    return json.dumps(d).encode() + b"\n"


def tracker(sink: list[CallRecord]) -> CallTracker:
    return CallTracker(DIRECTORY, sink.append, on_partial=lambda lid: None)


def test_tracker_closes_calls_older_than_the_asterisk_start() -> None:
    sink: list[CallRecord] = []
    t = tracker(sink)
    for e in events(ANSWERED_UP) + events(QUEUED_UP):
        t.add(e)
    assert {c["call_id"] for c in t.live_calls()} == {ANSWERED_ID, QUEUED_ID}
    assert t.cut_before(LAST_ANSWERED_T - 10) == 0          # Asterisk started before both: nothing cut
    assert t.cut_before(events(QUEUED_UP)[-1].time + 30) == 2
    got = {r.call_id: r for r in sink}
    answered, queued = got[ANSWERED_ID], got[QUEUED_ID]
    assert answered.outcome is Outcome.answered and answered.seat == "1001"
    # closed when the old process was last seen alive: the queued call's last event, the newest
    assert answered.ended_at is not None and answered.ended_at.timestamp() == events(QUEUED_UP)[-1].time
    assert answered.talk_seconds is not None and answered.talk_seconds >= 0
    assert queued.outcome is Outcome.abandoned_in_queue
    assert answered.extra["cut_by"] == queued.extra["cut_by"] == "asterisk_restart"
    assert t.live_calls() == [] and t.live_count == 0
    assert not t.recorded_live(ANSWERED_ID)   # the whole conversation, should it turn up, wins


def test_tracker_closes_them_when_the_cel_log_shows_a_new_process() -> None:
    sink: list[CallRecord] = []
    t = tracker(sink)
    for e in events(ANSWERED_UP):
        t.add(e)
    first = cel.from_json_line(new_process_call(LAST_ANSWERED_T + 20))
    assert first is not None
    t.add(first)
    assert [r.call_id for r in sink] == [ANSWERED_ID] and sink[0].extra["cut_by"] == "asterisk_restart"
    assert [c["call_id"] for c in t.live_calls()] == [first.linkedid]


def test_epoch_watch_ignores_out_of_order_starts_of_one_process() -> None:
    w = EpochWatch()
    evs = events(lines("answered_merged_call"))
    assert not any(w.see(e) for e in evs)
    swapped = [e for e in evs if e.name == "CHAN_START"][::-1]   # logged a moment out of order
    assert not any(w.see(e) for e in swapped)
    later = cel.from_json_line(new_process_call(evs[-1].time + 5))
    assert later is not None and w.see(later)


class Saved:
    def __init__(self) -> None:
        self.value: object = 0

    def load(self) -> object:
        return self.value

    def save(self, value: object) -> None:
        self.value = value


def test_reconciler_closes_calls_cut_by_a_restart_seen_in_the_log(tmp_path: Path) -> None:
    log = tmp_path / "cel.json"
    log.write_bytes(b"".join(ANSWERED_UP) + new_process_call(LAST_ANSWERED_T + 20))
    sink: list[CallRecord] = []
    saved = Saved()
    Reconciler(log, DIRECTORY, sink.append, saved.load, saved.save).run()
    assert [r.call_id for r in sink] == [ANSWERED_ID]
    assert sink[0].outcome is Outcome.answered and sink[0].extra["cut_by"] == "asterisk_restart"
    assert saved.value.offset == len(b"".join(ANSWERED_UP))   # the new call holds it now


def test_reconciler_closes_calls_older_than_the_asterisk_start(tmp_path: Path) -> None:
    log = tmp_path / "cel.json"
    log.write_bytes(b"".join(ANSWERED_UP) + b"".join(QUEUED_UP))
    sink: list[CallRecord] = []
    saved = Saved()
    started: list[float | None] = [None]
    r = Reconciler(log, DIRECTORY, sink.append, saved.load, saved.save, started_at=lambda: started[0])
    assert r.run() == 0 and saved.value.offset == 0   # still in progress, as far as we know
    started[0] = events(QUEUED_UP)[-1].time + 60                   # Asterisk restarted since
    assert r.run() == 2 and r.cut == 2
    assert {x.call_id: x.outcome for x in sink} == {ANSWERED_ID: Outcome.answered,
                                                   QUEUED_ID: Outcome.abandoned_in_queue}
    assert saved.value.offset == log.stat().st_size
    sink.clear()
    assert r.run() == 0 and sink == []   # once


# -- when the cut call ended: when Asterisk went, not at its last event (a call talking steadily
# has none after its answer: it got talk 0) ----------------------------------------------------

ANSWERED_AT = next(e.time for e in events(ANSWERED_UP) if e.name == "BRIDGE_ENTER")


def talk(record: CallRecord) -> float:
    assert record.talk_seconds is not None
    return record.talk_seconds


def test_live_cut_closes_at_the_ami_loss(tmp_path: Path) -> None:
    from hotline.calls.downtime import AsteriskLosses
    losses = AsteriskLosses(tmp_path / "asterisk.lost")
    lost = LAST_ANSWERED_T + 40.0
    losses.note(LAST_ANSWERED_T - 100)   # an older loss (the call was not up yet): not this one
    losses.note(lost)
    sink: list[CallRecord] = []
    t = tracker(sink)
    t.lost_at = losses.between
    for e in events(ANSWERED_UP):
        t.add(e)
    assert t.cut_before(lost + 5) == 1
    rec = sink[0]
    assert rec.ended_at is not None and rec.ended_at.timestamp() == pytest.approx(lost)
    assert talk(rec) == pytest.approx(lost - rec.answered_at.timestamp(), abs=0.01)   # type: ignore[union-attr]
    assert talk(rec) > 39
    assert rec.extra["cut_by"] == "asterisk_restart" and rec.extra["cut_end"] == "ami_lost"
    # a restarted controller's reconciler reads the same time back and writes the same record
    log = tmp_path / "cel.json"
    log.write_bytes(b"".join(ANSWERED_UP))
    again: list[CallRecord] = []
    saved = Saved()
    Reconciler(log, DIRECTORY, again.append, saved.load, saved.save, started_at=lambda: lost + 5,
               lost_at=AsteriskLosses(tmp_path / "asterisk.lost").between).run()
    assert again[0].to_dict()["ended_at"] == rec.to_dict()["ended_at"]
    assert again[0].talk_seconds == rec.talk_seconds and again[0].extra["cut_end"] == "ami_lost"


def test_without_the_loss_the_old_process_last_logged_event_closes_it(tmp_path: Path) -> None:
    """The controller did not see Asterisk go: the old process was alive (and the call up) until
    the last event it logged, a queued caller's here, after the answered call's last one."""
    queued_last = events(QUEUED_UP)[-1].time
    assert queued_last > LAST_ANSWERED_T
    sink: list[CallRecord] = []
    t = tracker(sink)
    for e in events(ANSWERED_UP) + events(QUEUED_UP):
        t.add(e)
    t.cut_before(queued_last + 60)
    answered = next(r for r in sink if r.call_id == ANSWERED_ID)
    assert answered.ended_at is not None and answered.ended_at.timestamp() == pytest.approx(queued_last)
    assert answered.extra["cut_end"] == "last_logged"
    log = tmp_path / "cel.json"
    log.write_bytes(b"".join(ANSWERED_UP) + b"".join(QUEUED_UP) + new_process_call(queued_last + 60))
    again: list[CallRecord] = []
    saved = Saved()
    Reconciler(log, DIRECTORY, again.append, saved.load, saved.save).run()
    assert {r.call_id: r.to_dict()["ended_at"] for r in again}[ANSWERED_ID] == answered.to_dict()["ended_at"]


def test_losses_kept_across_restarts_and_bad_files(tmp_path: Path) -> None:
    from hotline.calls.downtime import KEEP, AsteriskLosses
    path = tmp_path / "asterisk.lost"
    losses = AsteriskLosses(path)
    for k in range(KEEP + 3):
        losses.note(1000.0 + k)
    again = AsteriskLosses(path)
    assert again.between(0, 10_000) == 1000.0 + KEEP + 2
    assert again.between(1005.5, 1010.0) == 1009.0     # the last one in the window
    assert again.between(0, 1003.0) is None             # the oldest were dropped
    path.write_text("not json", encoding="utf-8")
    assert AsteriskLosses(path).between(0, 10_000) is None
