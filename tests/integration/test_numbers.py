"""Issue #4 with the real Asterisk and SIP phones: merged numbers in and after their transition
(prompts), parallel numbers answered by the department or overflowing to 12345, 110 diversions.

Every call enters through the carrier trunk; its record is read back through the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from .rig import (
    DEPT_PHONES,
    DIVERTED_110,
    MERGED_IN_TRANSITION,
    MERGED_WITHDRAWN_END,
    MERGED_WITHDRAWN_TO_HOTLINE,
    PARALLEL_ANSWERED,
    PARALLEL_CLOSED,
    PARALLEL_NOANSWER,
    PARALLEL_RING_S,
    Stack,
    http_json,
)

TALK_MS = 1500


def seconds(record: dict[str, Any], since: str, until: str) -> float:
    return (datetime.fromisoformat(record[until]) - datetime.fromisoformat(record[since])).total_seconds()


@pytest.fixture(scope="module")
def department_phones(stack: Stack) -> Iterator[None]:
    phones = stack.start_department_phones()
    try:
        yield
    finally:
        for phone in phones:
            if phone.poll() is None:
                phone.terminate()
                phone.wait(10)


def test_merged_number_in_its_transition_plays_the_prompt_then_a_seat_answers(stack: Stack) -> None:
    prompt = stack.prompt_seconds("merged-notice")
    assert prompt > 3  # a real rendering of the Mandarin text, not an empty file
    # the caller's pause starts when the platform answers, before the prompt
    r = stack.call(MERGED_IN_TRANSITION, "13900000201", talk_ms=int(prompt * 1000) + 2500)
    assert r.returncode == 0, r.stdout[-800:]
    rec = stack.record_for("13900000201")
    assert rec["outcome"] == "answered" and rec["seat"] in {"1001", "1002"}
    assert rec["dialled_number"] == MERGED_IN_TRANSITION
    assert rec["legacy_mode"] == "merged" and rec["department"] == "chengjian"
    assert rec["extra"]["prompt"] == "merged-notice"
    # the caller heard the whole prompt before joining the queue (Playback blocks the dialplan)
    assert seconds(rec, "arrived_at", "queued_at") >= prompt - 0.2
    assert 0.5 < rec["talk_seconds"] < 3.5
    code, page = http_json("GET", f"{stack.api}/api/calls?dialled_number={MERGED_IN_TRANSITION}")
    assert code == 200 and [c["call_id"] for c in page["items"]] == [rec["call_id"]]


def test_withdrawn_number_plays_the_notice_then_connects_to_12345(stack: Stack) -> None:
    notice = stack.prompt_seconds("withdrawn-notice")
    r = stack.call(MERGED_WITHDRAWN_TO_HOTLINE, "13900000202", talk_ms=int(notice * 1000) + 2500)
    assert r.returncode == 0, r.stdout[-800:]
    rec = stack.record_for("13900000202")
    assert rec["outcome"] == "answered" and rec["seat"] in {"1001", "1002"}
    assert rec["dialled_number"] == MERGED_WITHDRAWN_TO_HOTLINE and rec["department"] == "chengjian"
    assert rec["extra"]["prompt"] == "withdrawn-notice"
    assert seconds(rec, "arrived_at", "queued_at") >= notice - 0.2


def test_withdrawn_number_plays_the_notice_then_ends(stack: Stack) -> None:
    notice = stack.prompt_seconds("withdrawn-notice")
    r = stack.call(MERGED_WITHDRAWN_END, "13900000203", scenario="caller_hears_notice.xml")
    assert r.returncode == 0, r.stdout[-800:]   # the platform hung up (the caller answered its BYE)
    rec = stack.record_for("13900000203")
    assert rec["outcome"] == "ended_after_notice"
    assert rec["extra"]["prompt"] == "withdrawn-notice"
    assert rec["extra"]["hangup_source"] == "other"   # the platform, not the caller
    assert rec["queue"] is None and rec["queued_at"] is None and rec["seat"] is None
    assert rec["recording"] is None
    assert seconds(rec, "arrived_at", "ended_at") >= notice - 0.2
    assert rec["dialled_number"] == MERGED_WITHDRAWN_END and rec["legacy_mode"] == "merged"


def test_parallel_number_answered_by_the_department(stack: Stack, department_phones: None) -> None:
    stack.wait_reachable(DEPT_PHONES["gongjijin"][0])
    r = stack.call(PARALLEL_ANSWERED, "13900000204", talk_ms=TALK_MS)
    assert r.returncode == 0, r.stdout[-800:]
    rec = stack.record_for("13900000204")
    assert rec["outcome"] == "answered"
    assert rec["extra"].get("answered_by") == "department", rec["extra"]
    assert "overflow" not in rec["extra"]
    assert rec["seat"] is None and rec["queue"] is None and rec["queued_at"] is None
    assert rec["dialled_number"] == PARALLEL_ANSWERED
    assert rec["legacy_mode"] == "parallel" and rec["department"] == "gongjijin"
    assert 0.5 < rec["talk_seconds"] < 3.5
    assert rec["recording"] == f"{rec['call_id']}.wav"  # the platform records these lines too
    assert stack.recording(rec).stat().st_size > 8000


def test_parallel_number_nobody_answers_overflows_to_a_seat(stack: Stack, department_phones: None) -> None:
    # The phone must be reachable when it is dialled: on a loaded machine a late OPTIONS answer
    # makes Asterisk mark the contact unavailable for a moment, and the overflow reason would then
    # rightly be "chanunavail", not the "noanswer" this test is about.
    stack.wait_reachable(DEPT_PHONES["guotu"][0])
    r = stack.call(PARALLEL_NOANSWER, "13900000205", talk_ms=TALK_MS, timeout=60)
    assert r.returncode == 0, r.stdout[-800:]
    rec = stack.record_for("13900000205")
    assert rec["extra"]["overflow"] == "noanswer"
    assert "answered_by" not in rec["extra"]
    assert rec["outcome"] == "answered" and rec["seat"] in {"1001", "1002"}
    assert rec["dialled_number"] == PARALLEL_NOANSWER
    assert rec["legacy_mode"] == "parallel" and rec["department"] == "guotu"
    # the department's phone rang for its ring time before 12345 took the call
    assert PARALLEL_RING_S - 0.5 <= seconds(rec, "arrived_at", "queued_at") < PARALLEL_RING_S + 3


def test_parallel_number_of_a_closed_department_goes_straight_to_a_seat(stack: Stack) -> None:
    r = stack.call(PARALLEL_CLOSED, "13900000206", talk_ms=TALK_MS)
    assert r.returncode == 0, r.stdout[-800:]
    rec = stack.record_for("13900000206")
    assert rec["extra"]["overflow"] == "closed"
    assert rec["outcome"] == "answered" and rec["seat"] in {"1001", "1002"}
    assert rec["department"] == "wenhua"
    assert seconds(rec, "arrived_at", "queued_at") < 2  # nothing rang


def test_call_diverted_from_110_is_tagged(stack: Stack) -> None:
    r = stack.call(DIVERTED_110, "13900000207", talk_ms=TALK_MS)
    assert r.returncode == 0, r.stdout[-800:]
    rec = stack.record_for("13900000207")
    assert rec["origin"] == "110"
    assert rec["outcome"] == "answered" and rec["seat"] in {"1001", "1002"}
    assert rec["dialled_number"] == DIVERTED_110
    assert rec["legacy_mode"] is None and rec["queue"] == "hotline"
    # no other call is
    assert all(c["origin"] is None for c in stack.calls() if c["dialled_number"] != DIVERTED_110)
