"""Call records of issue #4: prompts, withdrawn numbers, parallel numbers, calls diverted from 110.

Table-driven like test_assemble.py. Real captures from Asterisk 22 (tests/integration/
test_numbers.py, CEL JSON log): merged_prompt_answered, withdrawn_notice_then_hotline,
withdrawn_notice_then_end, parallel_answered_by_department, parallel_noanswer_overflow,
parallel_closed_overflow, diverted_110. The synthetic_* files are edited copies of them.
Expected values are computed by hand from the ``eventtime`` fields (seconds rounded to ms).
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from hotline.calls import cel
from hotline.calls.assemble import Directory, assemble
from hotline.calls.cel import CelEvent
from hotline.records.call import CallRecord, Outcome
from hotline.store import Store
from hotline.store.codec import record_from_json, record_to_json
from queue_manager import metrics

CEL_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "cel"
MIGRATIONS = Path(__file__).resolve().parents[2] / "hotline" / "store" / "migrations"
DIRECTORY = Directory(trunks=frozenset({"trunk-carrier"}), seats=frozenset({"1001", "1002"}))
T0 = 1795446000.0


def events(name: str) -> list[CelEvent]:
    out = [cel.from_json_line(raw) for raw in (CEL_DIR / f"{name}.jsonl").read_text().splitlines()]
    assert all(e is not None for e in out), name
    return [e for e in out if e is not None]


def ts(t: float) -> datetime:
    return datetime.fromtimestamp(T0 + t, tz=UTC)


def rec(call_id: str, dialled: str, caller: str, arrived: float, **fields: object) -> CallRecord:
    base: dict[str, object] = {"trunk": "carrier", "hangup_cause": 16, "hangup_cause_text": "normal clearing",
                               "source": "cel-reconcile"}
    base.update(fields)
    return CallRecord(call_id=call_id, dialled_number=dialled, caller_number=caller, arrived_at=ts(arrived),
                      **base)  # type: ignore[arg-type]


MERGED_PROMPT = rec(
    "1795446617.0", "83530001", "13900000201", 617.669466, legacy_mode="merged", department="chengjian",
    queue="hotline", seat="1001", queued_at=ts(626.121589), answered_at=ts(626.429862), ended_at=ts(628.618448),
    wait_seconds=0.308,   # 626.429862 (caller's BRIDGE_ENTER with 1001) - 626.121589 (HOTLINE_QUEUE)
    talk_seconds=2.189,   # 628.618448 (caller's HANGUP) - 626.429862
    outcome=Outcome.answered, recording="1795446617.0.wav",
    extra={"hangup_source": "caller", "prompt": "merged-notice"})

WITHDRAWN_THEN_HOTLINE = rec(
    "1795446628.2", "83530002", "13900000202", 628.793398, legacy_mode="merged", department="chengjian",
    queue="hotline", seat="1002", queued_at=ts(636.852142), answered_at=ts(637.161548), ended_at=ts(639.346023),
    wait_seconds=0.309, talk_seconds=2.184, outcome=Outcome.answered, recording="1795446628.2.wav",
    extra={"hangup_source": "caller", "prompt": "withdrawn-notice"})

WITHDRAWN_THEN_END = rec(
    "1795446639.4", "83530003", "13900000203", 639.509309, legacy_mode="merged", department="chengjian",
    ended_at=ts(647.573795),   # HANGUP after HOTLINE_WITHDRAWN (647.572577): the dialplan hung up
    outcome=Outcome.ended_after_notice,
    extra={"hangup_source": "other", "prompt": "withdrawn-notice"})   # hangupsource dialplan/builtin

PARALLEL_DEPARTMENT = rec(
    "1795446560.0", "12329", "13900000204", 560.220711, legacy_mode="parallel", department="gongjijin",
    answered_at=ts(560.534190),   # the caller's BRIDGE_ENTER (after the department leg's, 560.533970)
    ended_at=ts(562.040732), talk_seconds=1.507,   # 562.040732 - 560.534190
    outcome=Outcome.answered, recording="1795446560.0.wav",
    extra={"hangup_source": "caller", "answered_by": "department"})

PARALLEL_NOANSWER = rec(
    "1795446562.2", "12336", "13900000205", 562.216821, legacy_mode="parallel", department="guotu",
    queue="hotline", seat="1001", queued_at=ts(567.254710), answered_at=ts(567.563321), ended_at=ts(568.742348),
    wait_seconds=0.309, talk_seconds=1.179, outcome=Outcome.answered, recording="1795446562.2.wav",
    extra={"hangup_source": "caller", "overflow": "noanswer"})

PARALLEL_CLOSED = rec(
    "1795446568.5", "12318", "13900000206", 568.909879, legacy_mode="parallel", department="wenhua",
    queue="hotline", seat="1002", queued_at=ts(568.923365), answered_at=ts(569.229376), ended_at=ts(570.425506),
    wait_seconds=0.306, talk_seconds=1.196, outcome=Outcome.answered, recording="1795446568.5.wav",
    extra={"hangup_source": "caller", "overflow": "closed"})

DIVERTED = rec(
    "1795446570.7", "85110110", "13900000207", 570.589087, legacy_mode=None, department=None, origin="110",
    queue="hotline", seat="1001", queued_at=ts(570.607064), answered_at=ts(570.913511), ended_at=ts(572.101819),
    wait_seconds=0.306, talk_seconds=1.188, outcome=Outcome.answered, recording="1795446570.7.wav",
    extra={"hangup_source": "caller"})

BUSY = replace(
    PARALLEL_NOANSWER, queued_at=ts(562.754710), answered_at=ts(563.063321), ended_at=ts(564.242348),
    wait_seconds=0.309, talk_seconds=1.179, extra={"hangup_source": "caller", "overflow": "busy"})

CALLER_GIVES_UP_RINGING = rec(
    "1795446562.2", "12336", "13900000205", 562.216821, legacy_mode="parallel", department="guotu",
    ended_at=ts(564.001800), outcome=Outcome.abandoned_before_queue, extra={"hangup_source": "caller"})

HANGS_UP_DURING_PROMPT = rec(
    "1795446617.0", "83530001", "13900000201", 617.669466, legacy_mode="merged", department="chengjian",
    ended_at=ts(620.25), outcome=Outcome.abandoned_before_queue,
    extra={"hangup_source": "caller", "prompt": "merged-notice"})

OVERFLOW_ABANDONED = rec(
    "1795446568.5", "12318", "13900000206", 568.909879, legacy_mode="parallel", department="wenhua",
    queue="hotline", queued_at=ts(568.923365), ended_at=ts(572.0),
    wait_seconds=3.077,   # 572.000000 - 568.923365
    outcome=Outcome.abandoned_in_queue, extra={"hangup_source": "caller", "overflow": "closed"})

CASES = [
    pytest.param("merged_prompt_answered", MERGED_PROMPT, id="merged-prompt-then-seat"),
    pytest.param("withdrawn_notice_then_hotline", WITHDRAWN_THEN_HOTLINE, id="withdrawn-notice-then-seat"),
    pytest.param("withdrawn_notice_then_end", WITHDRAWN_THEN_END, id="withdrawn-notice-then-end"),
    pytest.param("parallel_answered_by_department", PARALLEL_DEPARTMENT, id="parallel-answered-by-department"),
    pytest.param("parallel_noanswer_overflow", PARALLEL_NOANSWER, id="parallel-noanswer-overflow"),
    pytest.param("parallel_closed_overflow", PARALLEL_CLOSED, id="parallel-closed-overflow"),
    pytest.param("diverted_110", DIVERTED, id="diverted-from-110"),
    pytest.param("synthetic_parallel_busy_overflow", BUSY, id="parallel-busy-overflow"),
    pytest.param("synthetic_parallel_caller_gives_up", CALLER_GIVES_UP_RINGING, id="caller-gives-up-while-ringing"),
    pytest.param("synthetic_prompt_caller_hangs_up", HANGS_UP_DURING_PROMPT, id="caller-hangs-up-during-prompt"),
    pytest.param("synthetic_overflow_abandoned_in_queue", OVERFLOW_ABANDONED, id="overflow-then-abandoned"),
]


@pytest.mark.parametrize(("fixture", "expected"), CASES)
def test_assemble_fixture(fixture: str, expected: CallRecord) -> None:
    assert assemble(events(fixture), DIRECTORY, source="cel-reconcile") == expected


@pytest.mark.parametrize(("fixture", "expected"), CASES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_out_of_order_and_replayed_events_give_the_same_record(fixture: str, expected: CallRecord,
                                                              seed: int) -> None:
    evs = events(fixture)
    rng = random.Random(seed)
    shuffled = evs + rng.sample(evs, k=len(evs) // 2)
    rng.shuffle(shuffled)
    assert assemble(shuffled, DIRECTORY, source="cel-reconcile") == expected


def _edit(evs: list[CelEvent], name: str, extra: str) -> list[CelEvent]:
    return [replace(e, extra={"extra": extra}, appdata=f"{name},{extra}") if e.name == name else e for e in evs]


@pytest.mark.parametrize("fixture, event, value, field, expected", [
    ("parallel_noanswer_overflow", "HOTLINE_OVERFLOW", "congestion", "overflow", "congestion"),
    ("parallel_noanswer_overflow", "HOTLINE_OVERFLOW", "chanunavail", "overflow", "chanunavail"),
    ("parallel_noanswer_overflow", "HOTLINE_OVERFLOW", "BUSY", "overflow", "busy"),
    ("parallel_noanswer_overflow", "HOTLINE_OVERFLOW", '"; DROP TABLE', "overflow", "other"),
    ("parallel_noanswer_overflow", "HOTLINE_OVERFLOW", "", "overflow", "other"),
    ("merged_prompt_answered", "HOTLINE_PROMPT", "../../etc/passwd", "prompt", "unknown"),
    ("merged_prompt_answered", "HOTLINE_PROMPT", "x" * 41, "prompt", "unknown"),
])
def test_tags_from_the_dialplan_are_sanitised(fixture: str, event: str, value: str, field: str,
                                             expected: str) -> None:
    record = assemble(_edit(events(fixture), event, value), DIRECTORY)
    assert record is not None and record.extra[field] == expected
    assert record.outcome == Outcome.answered


@pytest.mark.parametrize("arrival, mode, origin", [
    ("85110110|diverted_110||110", None, "110"),
    ("12345|hotline||110", None, "110"),         # a diversion that arrives on a trunk, not a number
    ("83531111|merged|chengjian", "merged", None),   # before issue #4: three fields
    ("83531111|merged|chengjian|", "merged", None),
    ("12345|hotline||1 10", None, None),         # not a tag: dropped
    ("12345|hotline||110|extra", None, "110"),
])
def test_arrival_origin_field(arrival: str, mode: str | None, origin: str | None) -> None:
    evs = _edit(events("diverted_110"), "HOTLINE_ARRIVAL", arrival)
    record = assemble(evs, DIRECTORY)
    assert record is not None
    assert (record.legacy_mode, record.origin) == (mode, origin)
    assert record.dialled_number == arrival.split("|")[0]


def test_a_department_answer_needs_the_department_dial() -> None:
    """Without HOTLINE_DEPT_DIAL the bridge is not the department's (no answered_by)."""
    evs = [e for e in events("parallel_answered_by_department") if e.name != "HOTLINE_DEPT_DIAL"]
    record = assemble(evs, DIRECTORY)
    assert record is not None and record.answered_at is None and "answered_by" not in record.extra


# --- the record in the store and the journal ---------------------------------------------


def test_old_journal_lines_without_origin_still_read() -> None:
    line = record_to_json(MERGED_PROMPT)
    old = json.loads(line)
    del old["origin"]
    assert record_from_json(json.dumps(old)) == MERGED_PROMPT   # origin defaults to None
    for record in (DIVERTED, WITHDRAWN_THEN_END):
        assert record_from_json(record_to_json(record)) == record


def test_new_outcome_and_origin_round_trip_in_the_store(sqlite_store: Store) -> None:
    for record in (DIVERTED, WITHDRAWN_THEN_END, PARALLEL_DEPARTMENT):
        sqlite_store.upsert_call(record)
        assert sqlite_store.get_call(record.call_id) == record
    page, total = sqlite_store.list_calls(outcome="ended_after_notice")
    assert total == 1 and page == [WITHDRAWN_THEN_END]


def test_migration_0002_keeps_existing_records(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    try:
        with engine.begin() as connection:   # a database at revision 0001, with one record
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
            connection.execute(text(
                "INSERT INTO call_records (call_id, dialled_number, caller_number, arrived_at, outcome, source, "
                "extra, created_at, updated_at) VALUES ('1.1', '12345', '13800138000', '2026-11-23 01:00:00', "
                "'answered', 'ami', '{}', '2026-11-23 01:00:00', '2026-11-23 01:00:00')"))
    finally:
        engine.dispose()
    store = Store(url)
    try:
        store.upgrade()
        old = store.get_call("1.1")
        assert old.origin is None and old.outcome == Outcome.answered
        store.upsert_call(DIVERTED)
        assert store.get_call(DIVERTED.call_id).origin == "110"
    finally:
        store.close()


def test_calls_that_end_after_the_notice_are_not_offered() -> None:
    """KPIs count calls that reached a queue: a withdrawn number's notice is not an unanswered call."""
    records: list[Any] = [WITHDRAWN_THEN_END, MERGED_PROMPT, PARALLEL_DEPARTMENT]
    k = metrics.kpis(records)
    assert (k.offered, k.answered) == (1, 1)
