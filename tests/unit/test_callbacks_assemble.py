"""Records of queue callbacks and callback tries, from CEL captured on Asterisk 22
(tests/fixtures/cel/callback_*.jsonl, written by tests/integration/test_callbacks.py with
CB_CAPTURE set)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hotline.calls import cel
from hotline.calls.assemble import Directory, assemble
from hotline.calls.cel import CelEvent

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cel"
DIRECTORY = Directory(trunks=frozenset({"trunk-carrier"}), seats=frozenset({"1001", "1002"}))
ORIGINAL, ABANDONED = "1795454365.0", "1795454381.5"


def events(name: str) -> list[CelEvent]:
    out = [cel.from_json_line(line) for line in (FIXTURES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
    return [e for e in out if e is not None]


@pytest.mark.parametrize(("fixture", "expected", "extra"), [
    ("callback_requested",
     {"call_id": ORIGINAL, "outcome": "callback_requested", "queue": "hotline", "seat": None,
      "caller_number": "13800005001", "dialled_number": "12345", "recording": None},
     {"callback": {"reason": "key", "queue": "hotline"}}),
    ("callback_queue_try_connected",
     {"outcome": "answered", "seat": "1001", "queue": "hotline", "queued_at": None, "trunk": "carrier",
      "caller_number": "13800005001", "dialled_number": "13800005001"},
     {"callback_of": ORIGINAL, "callback_kind": "queue_callback", "callback_result": "answer",
      "direction": "callback"}),
    ("callback_abandoned_in_queue", {"call_id": ABANDONED, "outcome": "abandoned_in_queue"}, {}),
    ("callback_take_connected",
     {"outcome": "answered", "seat": "1001", "queue": None, "queued_at": None, "dialled_number": "13800005003"},
     {"callback_of": ABANDONED, "callback_kind": "abandoned", "callback_result": "answer"}),
])
def test_captured_conversations(fixture: str, expected: dict[str, Any], extra: dict[str, Any]) -> None:
    record = assemble(events(fixture), DIRECTORY)
    assert record is not None
    got = record.to_dict()
    assert {k: got[k] for k in expected} == expected
    for key, value in extra.items():
        if isinstance(value, dict):
            assert {k: got["extra"][key][k] for k in value} == value
        else:
            assert got["extra"][key] == value


def test_a_callback_request_is_not_an_abandon_and_its_wait_ends_at_the_request() -> None:
    evs = events("callback_requested")
    record = assemble(evs, DIRECTORY)
    assert record is not None and record.queued_at is not None and record.wait_seconds is not None
    request = next(e for e in evs if e.name == "HOTLINE_CALLBACK_REQUEST")
    assert record.wait_seconds == round(request.time - record.queued_at.timestamp(), 3)


def _result(e: CelEvent, status: str) -> CelEvent:
    return replace(e, name="HOTLINE_CALLBACK_RESULT", appdata=f"HOTLINE_CALLBACK_RESULT,{status}",
                   extra={"extra": status}, time=e.time + 0.001)


@pytest.mark.parametrize(("change", "result"), [
    ("noanswer", "noanswer"),       # the citizen's phone rang out: no ANSWER on the trunk leg
    ("no_dial", "seat_missed"),     # nobody answered the seat side: the citizen was never dialled
])
def test_unanswered_tries(change: str, result: str) -> None:
    evs = events("callback_take_connected")
    trunk = {e.uniqueid for e in evs if e.channel.startswith("PJSIP/trunk-carrier")}
    kept = [e for e in evs if not (e.name == "ANSWER" and e.uniqueid in trunk)]
    if change == "noanswer":
        dial = next(e for e in kept if e.name == "HOTLINE_CALLBACK_DIAL")
        kept.append(_result(dial, "NOANSWER"))
    else:
        kept = [e for e in kept if e.name != "HOTLINE_CALLBACK_DIAL" and e.uniqueid not in trunk]
    record = assemble(kept, DIRECTORY)
    assert record is not None
    assert (record.outcome.value, record.answered_at, record.extra["callback_result"]) == ("failed", None, result)
    assert record.extra["callback_of"] == ABANDONED


def test_a_local_conversation_without_a_callback_tag_is_no_record() -> None:
    evs = [replace(e, accountcode="", name="X" if e.name.startswith("HOTLINE_CALLBACK") else e.name)
           for e in events("callback_take_connected")]
    assert assemble(evs, DIRECTORY) is None
