"""Issue #3, the caller's side of the queue in the record: fallbacks, voice messages, callback
requests, priority and its reason. Table-driven; each case is the real capture of a caller who
waited in an empty queue (no_seat_caller_hangs_up) with the dialplan's user events inserted
between the queue join (539.697159) and the hang-up (541.689088)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hotline.calls import cel
from hotline.calls.assemble import Directory, assemble
from hotline.calls.cel import CelEvent
from hotline.records.call import Outcome
from hotline.records.work_order import Category
from hotline.records.voice_message import voice_message_order

CEL_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "cel"
DIRECTORY = Directory(trunks=frozenset({"trunk-carrier"}), seats=frozenset({"1001", "1002"}))
LINKEDID = "1795444539.0"


def _user(name: str, at: float, extra: str) -> dict[str, Any]:
    return {"eventtype": name, "userdeftype": name, "eventtime": f"{at:.6f}", "name": "caller",
            "num": "13800001111", "dnid": "12345", "exten": "s", "context": "hotline-queue-exit",
            "channame": "PJSIP/trunk-carrier-00000000", "appname": "CELGenUserEvent",
            "appdata": f"{name},{extra}", "uniqueid": LINKEDID, "linkedid": LINKEDID, "peer": "",
            "eventextra": json.dumps({"extra": extra})}


def conversation(queue_extra: str, inserted: list[tuple[str, float, str]]) -> list[CelEvent]:
    out = []
    for raw in (CEL_DIR / "no_seat_caller_hangs_up.jsonl").read_text().splitlines():
        d = json.loads(raw)
        if d["eventtype"] == "HOTLINE_QUEUE":
            d["appdata"], d["eventextra"] = f"HOTLINE_QUEUE,{queue_extra}", json.dumps({"extra": queue_extra})
        out.append(d)
    out += [_user(name, at, extra) for name, at, extra in inserted]
    out.sort(key=lambda d: float(d["eventtime"]))
    events = [cel.from_json_object(d) for d in out]
    assert all(e is not None for e in events)
    return [e for e in events if e is not None]


TIMEOUT_TO_BACKUP = [("HOTLINE_QUEUE_EXIT", 540.0, "TIMEOUT"),
                     ("HOTLINE_FALLBACK", 540.001, "queue|timeout|hotline|backup"),
                     ("HOTLINE_QUEUE", 540.002, "backup|5|repeat_caller")]
NO_SEAT_MESSAGE = [("HOTLINE_QUEUE_EXIT", 540.0, "JOINEMPTY"),
                   ("HOTLINE_FALLBACK", 540.001, "message|no_seat|hotline|"),
                   ("HOTLINE_VOICE_MESSAGE", 541.0, f"{LINKEDID}-message.wav")]
CALLBACK = [("HOTLINE_QUEUE_EXIT", 540.0, "TIMEOUT"), ("HOTLINE_FALLBACK", 540.001, "callback|timeout|hotline|"),
            ("HOTLINE_CALLBACK_REQUEST", 541.0, "13800001111|hotline|timeout")]
CALLBACK_NO_KEY_REJOINED = [("HOTLINE_QUEUE_EXIT", 540.0, "TIMEOUT"),
                            ("HOTLINE_FALLBACK", 540.001, "callback|timeout|hotline|"),
                            ("HOTLINE_QUEUE", 541.0, "hotline||")]
HUNG_UP_IN_FALLBACK_PROMPT = [("HOTLINE_QUEUE_EXIT", 540.0, "JOINEMPTY"),
                              ("HOTLINE_FALLBACK", 540.001, "message|no_seat|hotline|")]
GAVE_UP = [("HOTLINE_QUEUE_EXIT", 540.0, "FULL")]
# a browser seat lost mid-call (hotline.seats.browser_loss): the caller back in its queue, first in line
REQUEUED = [("HOTLINE_REQUEUE", 540.0, "1011"), ("HOTLINE_QUEUE", 540.001, "hotline|101|requeued")]
REQUEUED_TWICE = [*REQUEUED, ("HOTLINE_REQUEUE", 540.5, "1012"), ("HOTLINE_QUEUE", 540.501, "hotline|101|requeued")]
REQUEUED_HOSTILE = [("HOTLINE_REQUEUE", 540.0, "1011|x"), ("HOTLINE_REQUEUE", 540.1, "'; drop"),
                    ("HOTLINE_QUEUE", 540.2, "hotline|101|requeued")]

MESSAGE_FALLBACK = {"action": "message", "reason": "no_seat", "queue": "hotline"}


@pytest.mark.parametrize("queue_extra, inserted, outcome, queue, recording, extra", [
    # before issue #3 the event carried the queue only
    ("hotline", [], Outcome.abandoned_in_queue, "hotline", None, {}),
    ("hotline||", [], Outcome.abandoned_in_queue, "hotline", None, {}),
    # the 110 diversion's priority has no reason of its own (the origin says it)
    ("hotline|20|", [], Outcome.abandoned_in_queue, "hotline", None, {"priority": 20}),
    ("hotline|5|repeat_caller", [], Outcome.abandoned_in_queue, "hotline", None,
     {"priority": 5, "priority_reason": "repeat_caller"}),
    ("hotline|0|", [], Outcome.abandoned_in_queue, "hotline", None, {}),
    # max_wait -> the fallback queue: the record names the last queue and why the caller moved
    ("hotline|5|repeat_caller", TIMEOUT_TO_BACKUP, Outcome.abandoned_in_queue, "backup", None,
     {"priority": 5, "priority_reason": "repeat_caller",
      "fallback": {"action": "queue", "reason": "timeout", "queue": "hotline", "to": "backup"}}),
    ("hotline||", NO_SEAT_MESSAGE, Outcome.voice_message, "hotline", f"{LINKEDID}-message.wav",
     {"fallback": MESSAGE_FALLBACK}),
    ("hotline||", CALLBACK, Outcome.callback_requested, "hotline", None,
     {"fallback": {"action": "callback", "reason": "timeout", "queue": "hotline"},
      # the request the callback tasks act on (hotline.callbacks)
      "callback": {"requested_at": "2026-11-23T14:35:41+00:00", "reason": "timeout", "queue": "hotline"}}),
    ("hotline||", CALLBACK_NO_KEY_REJOINED, Outcome.abandoned_in_queue, "hotline", None,
     {"fallback": {"action": "callback", "reason": "timeout", "queue": "hotline"}}),
    ("hotline||", HUNG_UP_IN_FALLBACK_PROMPT, Outcome.abandoned_in_queue, "hotline", None,
     {"fallback": MESSAGE_FALLBACK}),
    # requeued: the record names the seats that lost the caller; the priority is the first join's
    ("hotline|5|repeat_caller", REQUEUED, Outcome.abandoned_in_queue, "hotline", None,
     {"priority": 5, "priority_reason": "repeat_caller", "requeued_from": ["1011"]}),
    ("hotline||", REQUEUED_TWICE, Outcome.abandoned_in_queue, "hotline", None, {"requeued_from": ["1011", "1012"]}),
    ("hotline||", REQUEUED_HOSTILE, Outcome.abandoned_in_queue, "hotline", None, {"requeued_from": []}),
    # a queue exit with nothing after it: the platform gave up
    ("hotline||", GAVE_UP, Outcome.failed, "hotline", None, {"queue_status": "FULL"}),
])
def test_queue_path(queue_extra: str, inserted: list[tuple[str, float, str]], outcome: Outcome,
                    queue: str, recording: str | None, extra: dict[str, Any]) -> None:
    record = assemble(conversation(queue_extra, [(n, 1795444000 + t, x) for n, t, x in inserted]), DIRECTORY)
    assert record is not None
    assert record.outcome == outcome
    assert record.queue == queue
    assert record.recording == recording
    assert {k: v for k, v in record.extra.items() if k != "hangup_source"} == extra
    # queued_at stays the first join: the wait counts from the first queue (539.697159 -> 541.689088);
    # a callback request ends the wait at the request (539.697159 -> 541.0)
    assert record.wait_seconds == (1.303 if outcome == Outcome.callback_requested else 1.992)


@pytest.mark.parametrize("inserted, filed", [
    (NO_SEAT_MESSAGE, True), (CALLBACK, False), (TIMEOUT_TO_BACKUP, False), ([], False),
])
def test_a_voice_message_gets_a_work_order(inserted: list[tuple[str, float, str]], filed: bool) -> None:
    record = assemble(conversation("hotline||", [(n, 1795444000 + t, x) for n, t, x in inserted]), DIRECTORY)
    assert record is not None
    order = voice_message_order(record)
    assert (order is not None) == filed
    if order is not None:
        assert order.category == Category.consult and order.created_by == "system"
        assert order.title == "语音留言：13800001111"
        assert f"录音：{LINKEDID}-message.wav" in order.description and "无坐席在线" in order.description
