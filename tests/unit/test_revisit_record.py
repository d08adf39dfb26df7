"""The record of a 回访 try (hotline.calls.revisit_record): from synthetic CEL events shaped like
Asterisk 22's for an originated trunk channel (the account code set by the Originate), and from
CEL captured on Asterisk 22 by the integration test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hotline.calls import cel
from hotline.calls.assemble import Directory, assemble
from hotline.calls.cel import CelEvent
from hotline.spine import marks

DIRECTORY = Directory(trunks=frozenset({"trunk-carrier"}), seats=frozenset({"1001", "1002"}))
CALL = "1796000000.10"
ACCOUNT = marks.revisit_account(7, 2, "13800138000")
TRUNK = "PJSIP/trunk-carrier-0000000a"


def ev(name: str, t: float, *, channel: str = TRUNK, uniqueid: str = CALL, extra: dict[str, Any] | None = None,
       account: str = ACCOUNT) -> CelEvent:
    return CelEvent(name=name, time=1796000000.0 + t, channel=channel, uniqueid=uniqueid, linkedid=CALL,
                    extra=extra or {}, accountcode=account)


def mark(m: marks.Mark[Any], t: float, *fields: str) -> CelEvent:
    return ev(m.name, t, extra={"extra": "|".join(fields)})


def survey(*keys: str, seat: bool = False) -> list[CelEvent]:
    out = [ev("CHAN_START", 0, account=""), ev("ANSWER", 5), mark(marks.REVISIT, 5.1, "7", "2", "WO20261102000003")]
    for i, key in enumerate(keys):
        out.append(mark(marks.REVISIT_KEY, 20 + i * 10, key, str(i + 1)))
    if seat:
        out += [mark(marks.REVISIT_SEAT, 41, "hotline"),
                ev("CHAN_START", 42, channel="PJSIP/1001-00000001", uniqueid="1796000042.11"),
                ev("ANSWER", 45, channel="PJSIP/1001-00000001", uniqueid="1796000042.11"),
                ev("HANGUP", 80, channel="PJSIP/1001-00000001", uniqueid="1796000042.11", extra={"hangupcause": 16})]
    return [*out, ev("HANGUP", 90, extra={"hangupcause": 16}), ev("CHAN_END", 90), ev("LINKEDID_END", 90)]


def unanswered(cause: int | None) -> list[CelEvent]:
    return [ev("CHAN_START", 0, account=""), ev("HANGUP", 30, extra={} if cause is None else {"hangupcause": cause}),
            ev("CHAN_END", 30), ev("LINKEDID_END", 30)]


@pytest.mark.parametrize(("events", "outcome", "result", "keys", "rating"), [
    (survey("3"), "answered", "rated", ["3"], "unsatisfied"),
    (survey("1"), "answered", "rated", ["1"], "satisfied"),
    (survey("9", "2"), "answered", "rated", ["9", "2"], "basically_satisfied"),   # asked again once
    (survey("9", "8"), "answered", "no_rating", ["9", "8"], None),
    (survey("", ""), "answered", "no_rating", ["", ""], None),                     # no key in time, twice
    (survey(), "answered", "no_rating", [], None),                                 # hung up during the intro
    (survey("0", seat=True), "answered", "to_seat", ["0"], None),
    (unanswered(19), "failed", "no_answer", [], None),
    (unanswered(None), "failed", "no_answer", [], None),
    (unanswered(17), "failed", "busy", [], None),
    (unanswered(1), "failed", "failed", [], None),
    (unanswered(34), "failed", "failed", [], None),
])
def test_a_try_becomes_one_record(events: list[CelEvent], outcome: str, result: str, keys: list[str],
                                  rating: str | None) -> None:
    record = assemble(list(reversed(events)), DIRECTORY)   # any order
    assert record is not None
    assert (record.call_id, record.outcome.value) == (CALL, outcome)
    assert record.caller_number == record.dialled_number == "13800138000"
    assert record.queued_at is None, "never an offered inbound call"
    assert record.trunk == "carrier"
    info = record.extra["revisit"]
    assert record.extra["direction"] == "revisit"
    assert (info["task"], info["try"], info["result"], info["keys"], info.get("rating")) == (7, 2, result, keys, rating)


def test_to_a_seat_names_the_seat_and_queue() -> None:
    record = assemble(survey("0", seat=True), DIRECTORY)
    assert record is not None
    assert (record.queue, record.seat, record.extra["revisit"]["order"]) == ("hotline", "1001", "WO-20261102-000003")
    assert record.talk_seconds == 85.0


def test_an_inbound_call_is_not_a_revisit() -> None:
    events = [ev(e.name, e.time - 1796000000.0, extra=e.extra, account="") for e in unanswered(16)]
    record = assemble(events, DIRECTORY)
    assert record is None or "revisit" not in record.extra


@pytest.mark.parametrize(("raw", "order"), [("WO20261102000003", "WO-20261102-000003"),
                                            ("WO-20261102-000003", "WO-20261102-000003"),
                                            ("WO2026", ""), ("", ""), ("XX20261102000003", "")])
def test_the_order_id_the_dialplan_wrote(raw: str, order: str) -> None:
    from hotline.calls.revisit_record import order_id
    assert order_id(raw) == order


# --- the same from CEL captured on Asterisk 22 (tests/fixtures/cel/revisit_*.jsonl, written by
# tests/integration/test_revisits.py with RV_CAPTURE set) ----------------------------------------

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cel"


def captured(name: str) -> list[CelEvent]:
    lines = (FIXTURES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [e for e in (cel.from_json_line(line) for line in lines) if e is not None]


@pytest.mark.parametrize(("fixture", "outcome", "info", "seat"), [
    ("revisit_rated_3", "answered",
     {"task": 1, "try": 1, "result": "rated", "keys": ["3"], "rating": "unsatisfied", "order": "WO-20261202-000001"},
     None),
    ("revisit_no_answer", "failed", {"task": 2, "try": 1, "result": "no_answer", "keys": []}, None),
    ("revisit_to_seat", "answered",
     {"task": 3, "try": 1, "result": "to_seat", "keys": ["0"], "order": "WO-20261202-000003"}, "1002"),
    ("revisit_asked_again", "answered",
     {"task": 4, "try": 1, "result": "rated", "keys": ["9", "1"], "rating": "satisfied",
      "order": "WO-20261202-000004"}, None),
])
def test_captured_tries(fixture: str, outcome: str, info: dict[str, Any], seat: str | None) -> None:
    record = assemble(captured(fixture), DIRECTORY)
    assert record is not None
    assert (record.outcome.value, record.extra["revisit"], record.seat) == (outcome, info, seat)
    assert record.trunk == "carrier" and record.queued_at is None
    assert record.caller_number == record.dialled_number and record.caller_number.startswith("139")
