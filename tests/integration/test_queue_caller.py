"""Issue #3, the caller's side of the queue, on the real Asterisk: Mandarin announcements while
waiting, max wait -> a fallback queue, no seat -> a voice message and its work order, and the
repeat-caller priority. The queues and numbers are rig.py's "issue #3" block."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.store import Store

from .callers import finish, start_caller, waiting
from .rig import Q3_BACKUP, Q3_NIGHT, Q3_NUMBERS, Q3_PRIO, Q3_REPEAT_PRIORITY, Q3_TIMEOUT, Q3_WAIT, Stack, wait_for


@pytest.fixture
def verbose_log(stack: Stack) -> Iterator[Path]:
    """A temporary Asterisk log channel at verbose 3: app_queue writes "Told <channel> in <queue>
    their queue position (which was N)" and file.c "Playing 'digits/2.wav' (language 'zh')"."""
    name = "queue-caller-test.log"
    path = stack.runtime.log_dir / name
    path.unlink(missing_ok=True)
    stack.cli("core set verbose 3")
    stack.cli(f"logger add channel {name} notice,warning,error,verbose(3)")
    try:
        yield path
    finally:
        stack.cli(f"logger remove channel {name}")
        stack.cli("core set verbose 1")


def test_generated_music_on_hold_and_language_files_are_in_place(stack: Stack) -> None:
    assert "Class: hotline" in stack.cli("moh show classes")
    assert "/sounds/moh/hotline-calm" in stack.cli("moh show files")
    digits = stack.runtime.host_path("/usr/share/asterisk/sounds/zh/digits")
    assert {f"{n}.wav" for n in ("1", "2", "10", "hundred", "wan")} <= {p.name for p in digits.iterdir()}
    show = stack.cli(f"queue show {Q3_WAIT}")
    assert Q3_WAIT in show


def test_a_waiting_caller_hears_position_announcements_in_mandarin(stack: Stack, verbose_log: Path) -> None:
    first = start_caller(stack, Q3_NUMBERS[Q3_WAIT], "13900030001", 0, talk_ms=14000)
    try:
        wait_for("the first caller in the queue", lambda: waiting(stack, Q3_WAIT) == 1, timeout=30)
        second = start_caller(stack, Q3_NUMBERS[Q3_WAIT], "13900030002", 1, talk_ms=12000)
        try:
            def told(position: int) -> int:
                text = verbose_log.read_text(errors="replace") if verbose_log.exists() else ""
                return len(re.findall(rf"Told PJSIP/trunk-carrier-\S+ in {Q3_WAIT} their queue position "
                                      rf"\(which was {position}\)", text))
            # on entry and again every Q3_ANNOUNCE_S seconds while nobody answers
            wait_for("two position announcements to the first caller", lambda: told(1) >= 2, timeout=45)
            wait_for("a position announcement to the second caller", lambda: told(2) >= 1, timeout=45)
            log = verbose_log.read_text(errors="replace")
            # the second caller: "您现在排在第" + say.c's zh "2" + "位", then the thank-you
            # (file.c names the format it plays, slin for our 8 kHz WAVs)
            def played(name: str) -> bool:
                return re.search(rf"Playing '{name}\.\w+' \(language 'zh'\)", log) is not None
            sounds = re.escape(stack.runtime.sounds_inner)
            assert played(f"{sounds}/queue-thereare") and played("digits/2") and played(f"{sounds}/queue-callswaiting")
            assert played(f"{sounds}/queue-youarenext")    # the first caller: first in line
            assert played(f"{sounds}/queue-thankyou")
            assert "does not exist" not in log           # every file say.c and app_queue asked for was there
        finally:
            finish(second)
    finally:
        finish(first)
    for caller in ("13900030001", "13900030002"):
        record = stack.record_for(caller)
        assert record["queue"] == Q3_WAIT and record["outcome"] == "abandoned_in_queue"


def test_max_wait_moves_the_caller_to_the_fallback_queue(stack: Stack) -> None:
    caller = start_caller(stack, Q3_NUMBERS[Q3_TIMEOUT], "13900030011", 0, talk_ms=15000)
    assert finish(caller) == [0]
    record = stack.record_for("13900030011")
    assert record["outcome"] == "answered", record
    assert record["queue"] == Q3_BACKUP and record["seat"] == "1002"
    assert record["extra"]["fallback"] == {"action": "queue", "reason": "timeout", "queue": Q3_TIMEOUT,
                                           "to": Q3_BACKUP}


def test_no_seat_with_a_message_fallback_records_a_voice_message_and_files_a_work_order(stack: Stack) -> None:
    caller = start_caller(stack, Q3_NUMBERS[Q3_NIGHT], "13900030021", 0, talk_ms=12000)
    assert finish(caller) == [0]
    record = stack.record_for("13900030021")
    assert record["outcome"] == "voice_message", record
    assert record["queue"] == Q3_NIGHT
    assert record["extra"]["fallback"] == {"action": "message", "reason": "no_seat", "queue": Q3_NIGHT}
    assert record["recording"] == f"{record['call_id']}-message.wav"
    message = stack.runtime.recordings_dir / record["recording"]
    wait_for("the voice message file", lambda: message.is_file() and message.stat().st_size > 8000, timeout=15)
    store = Store(f"sqlite:///{stack.paths.sqlite_path}")
    try:
        orders = wait_for("the voice message's work order", lambda: store.work_orders_for_call(record["call_id"]),
                          timeout=15)
    finally:
        store.close()
    assert len(orders) == 1
    assert orders[0]["status"] == "open" and orders[0]["created_by"] == "system"
    assert record["recording"] in orders[0]["description"]


def test_a_repeat_caller_is_served_before_an_earlier_first_time_caller(stack: Stack) -> None:
    repeat, first_timer = "13900030031", "13900030032"
    # the repeat caller's earlier call (answered by a seat of the hotline queue)
    assert finish(start_caller(stack, "12345", repeat, 0, talk_ms=1000)) == [0]
    stack.record_for(repeat)
    # one seat serves q3prio: paused while both callers join, the first-time caller first
    stack.cli(f"queue pause member PJSIP/1001 queue {Q3_PRIO}")
    try:
        a = start_caller(stack, Q3_NUMBERS[Q3_PRIO], first_timer, 1, talk_ms=40000)
        wait_for("the first-time caller queued", lambda: waiting(stack, Q3_PRIO) == 1, timeout=30)
        b = start_caller(stack, Q3_NUMBERS[Q3_PRIO], repeat, 2, talk_ms=12000)
        wait_for("both callers queued", lambda: waiting(stack, Q3_PRIO) == 2, timeout=30)
    finally:
        stack.cli(f"queue unpause member PJSIP/1001 queue {Q3_PRIO}")
    assert finish(a, b) == [0, 0]
    records = {r["caller_number"]: r for r in stack.calls() if r["queue"] == Q3_PRIO}
    wait_for("both records", lambda: len({r["caller_number"] for r in stack.calls() if r["queue"] == Q3_PRIO}) == 2)
    records = {r["caller_number"]: r for r in stack.calls() if r["queue"] == Q3_PRIO}
    b_rec, a_rec = records[repeat], records[first_timer]
    assert b_rec["extra"]["priority"] == Q3_REPEAT_PRIORITY
    assert b_rec["extra"]["priority_reason"] == "repeat_caller"
    assert "priority_reason" not in a_rec["extra"]
    assert a_rec["queued_at"] < b_rec["queued_at"]
    assert b_rec["outcome"] == "answered" and a_rec["outcome"] == "answered"
    assert b_rec["answered_at"] < a_rec["answered_at"]
