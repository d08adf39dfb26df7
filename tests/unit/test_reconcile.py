"""The reconciliation report (hotline/reconcile), table-driven from queue_log and CDR lines recorded
on the rig (tests/fixtures/reconcile/basic: an answered call, a short and a long abandon, a withdrawn
number's notice, a caller gone before the queue), and variants of them for the other shapes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hotline.exceptions import InvalidRequest
from hotline.reconcile import parse, report, rules, schemas, text

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "reconcile" / "basic"
TZ = ZoneInfo("Asia/Shanghai")
DAY = "2026-12-02"
ANSWERED, SHORT, LONG, NOTICE, BEFORE = "1796186006.0", "1796186008.2", "1796186010.3", "1796186017.4", "1796186025.5"


def _base() -> tuple[list[str], list[str], list[dict[str, Any]]]:
    return ((FIX / "queue_log").read_text().splitlines(), (FIX / "hotline-cdr.json").read_text().splitlines(),
            json.loads((FIX / "records.json").read_text()))


def _report(qlog: list[str], cdrs: list[str], records: list[dict[str, Any]], day: str = DAY) -> dict[str, Any]:
    parsed = parse.parse_queue_log(qlog)
    parse.parse_cdr_log(cdrs, into=parsed)
    return report.build(day, records, parsed, TZ)


def _rules(rep: dict[str, Any]) -> dict[str, list[str]]:
    return {c["call_id"]: c["rules"] for c in rep["calls"]}


def test_recorded_calls_match_with_their_notes() -> None:
    rep = _report(*_base())
    assert rep["unexplained"] == [] and rep["skipped"] == []
    assert {k: (v["ours"], v["asterisk"]) for k, v in rep["counts"].items()} == {
        "entered": (5, 5), "offered": (3, 3), "answered": (1, 1), "abandoned": (2, 2)}
    assert rep["counts"]["abandoned"]["ours_short"] == 1 and rep["counts"]["abandoned"]["ours_kpi"] == 1
    assert _rules(rep) == {ANSWERED: [], SHORT: ["short-abandon-excluded"], LONG: [],
                           NOTICE: ["ended-after-notice"], BEFORE: ["ended-before-queue"]}
    assert rep["queue_log_lines"]["ENTERQUEUE"] == 3


Logs = tuple[list[str], list[str], list[dict[str, Any]]]


def _edit(call_id: str, **fields: Any) -> Any:
    def change(q: list[str], c: list[str], r: list[dict[str, Any]]) -> Logs:
        r = copy.deepcopy(r)
        rec = next(x for x in r if x["call_id"] == call_id)
        for k, v in fields.items():
            if k == "extra":
                rec["extra"].update(v)
            else:
                rec[k] = v
        return q, c, r
    return change


def _drop_queue(call_id: str, event: str) -> Any:
    return lambda q, c, r: ([x for x in q if not (f"|{call_id}|" in x and f"|{event}|" in x)], c, r)


def _drop_record(call_id: str) -> Any:
    return lambda q, c, r: (q, c, [x for x in r if x["call_id"] != call_id])


def _add_placeholder(q: list[str], c: list[str], r: list[dict[str, Any]]) -> Any:
    # a queue callback's placeholder (Local;2, accountcode cb-<call id>) re-enters the queue and is answered
    q = [*q, "1796186030|1796186030.9|hotline|NONE|ENTERQUEUE|||1",
         "1796186031|1796186030.9|hotline|1001|CONNECT|1|1796186031.10|0"]
    c = [*c, json.dumps({"uniqueid": "1796186030.9", "linkedid": "1796186030.8",
                         "channel": "Local/hotline@hotline-cb-hold-00000001;2", "dstchannel": "PJSIP/1001-0000000a",
                         "dcontext": "hotline-cb-hold", "lastapp": "Queue", "accountcode": f"cb-{LONG}",
                         "start": 1796186030.1, "answer": 1796186031.0, "end": 1796186040.0, "duration": 10,
                         "billsec": 9, "disposition": "ANSWERED", "sequence": 9})]
    return q, c, r


CASES = [  # (name, change, call id, expected rules, unexplained?)
    ("attended transfer: no CONNECT", lambda q, c, r: _edit(ANSWERED, extra={"legs": [{"kind": "attended"}]})(
        *_drop_queue(ANSWERED, "CONNECT")(q, c, r)), ANSWERED, ["attended-transfer-connect-missing"], False),
    ("no CONNECT, no transfer", _drop_queue(ANSWERED, "CONNECT"), ANSWERED, ["unexplained"], True),
    ("restart mid-call: no CDR, no ABANDON", lambda q, c, r: _edit(LONG, extra={"cut_by": "asterisk_restart"})(
        *_drop_queue(LONG, "ABANDON")(q, c, r)), LONG, ["restart-mid-call"], False),
    ("record missing", _drop_record(ANSWERED), ANSWERED, ["unexplained"], True),
    ("voice message: refused at join", lambda q, c, r: _edit(LONG, outcome="voice_message")(
        *_drop_queue(LONG, "ENTERQUEUE")(*_drop_queue(LONG, "ABANDON")(q, c, r))), LONG, ["voice-message"], False),
    ("callback kept the place", lambda q, c, r: _edit(LONG, outcome="callback_requested")(
        *_drop_queue(LONG, "ABANDON")(q, c, r)), LONG, [], False),
    ("callback placeholder re-enters", _add_placeholder, "1796186030.8", ["callback-keeps-place"], False),
    ("hung up entering the queue", lambda q, c, r: _edit(SHORT, wait_seconds=0.3)(
        *_drop_queue(SHORT, "ENTERQUEUE")(*_drop_queue(SHORT, "ABANDON")(q, c, r))), SHORT,
     ["hung-up-entering-queue", "short-abandon-excluded"], False),
    ("parallel answered by the department", _edit(BEFORE, outcome="answered", legacy_mode="parallel",
                                                  extra={"answered_by": "department"}), BEFORE,
     ["parallel-number-not-queued"], False),
    ("requeued after max wait", lambda q, c, r: ([*q, "1796186012|1796186010.3|q3backup|NONE|ENTERQUEUE|||1"], c, r),
     LONG, ["requeued"], False),
]


@pytest.mark.parametrize("name, change, call_id, expected, unexplained", CASES, ids=[c[0] for c in CASES])
def test_each_shape_gets_its_rule(name: str, change: Any, call_id: str, expected: list[str], unexplained: bool) -> None:
    rep = _report(*change(*_base()))
    assert _rules(rep)[call_id] == expected
    assert bool(rep["unexplained"]) is unexplained
    for row in rep["counts"].values():
        assert row["ours"] - row["asterisk"] == row["explained_difference"] + row["unexplained_difference"]
    if unexplained:   # both sides' evidence
        bad = rep["unexplained"][0]
        assert bad["call_id"] == call_id and bad["differs"] and "queue_log" in bad["asterisk"]


def test_a_call_crossing_midnight_is_explained() -> None:
    q, c, r = _base()
    # our record says it arrived a second before local midnight; Asterisk's first channel started after it
    r = copy.deepcopy(r)
    rec = next(x for x in r if x["call_id"] == ANSWERED)
    rec["arrived_at"] = "2026-12-01T15:59:59+00:00"
    rep = _report(q, c, r, day="2026-12-01")
    assert _rules(rep)[ANSWERED] == ["crosses-midnight"] and rep["unexplained"] == []
    assert rep["counts"]["entered"]["ours"] == 1 and rep["counts"]["entered"]["asterisk"] == 0


HOSTILE = [
    "not a line",
    "1796186006|1796186006.0|hotline|NONE",                     # too few fields
    "yesterday|1796186006.0|hotline|NONE|ENTERQUEUE|",         # time
    "1796186006|../../etc|hotline|NONE|ENTERQUEUE|",            # callid
    "1796186006|1796186006.0|hot\x1bline|NONE|ENTERQUEUE|",     # control character
    "1796186006|1796186006.0|hotline|NONE|enter queue|",        # event
    "1796186006|1796186006.0|hotline|NONE|ENTERQUEUE|" + "x" * 5000,
]


def test_hostile_lines_are_skipped_with_their_numbers() -> None:
    q, c, r = _base()
    rep = _report([*q, *HOSTILE], [*c, "{broken", "[1,2]", json.dumps({"uniqueid": "x; rm", "linkedid": "1.1",
                                                                          "start": 1})], r)
    skipped = [(s["source"], s["line"]) for s in rep["skipped"]]
    assert skipped == [("queue_log", len(q) + i) for i in range(1, len(HOSTILE) + 1)] + \
        [("hotline-cdr.json", len(c) + i) for i in range(1, 4)]
    assert rep["unexplained"] == [] and rep["counts"]["entered"]["asterisk"] == 5


def test_rotated_files_are_read(tmp_path: Path) -> None:
    q, c, r = _base()
    (tmp_path / "queue_log.1796186000").write_text("\n".join(q[:9]) + "\n")
    (tmp_path / "queue_log").write_text("\n".join(q[9:]) + "\n")
    (tmp_path / "queue_log.gz").write_text("ignored")
    (tmp_path / "hotline-cdr.json").write_text("\n".join(c) + "\n")
    parsed, files = parse.read(tmp_path / "queue_log", tmp_path / "hotline-cdr.json")
    assert files == ["queue_log.1796186000", "queue_log", "hotline-cdr.json"]
    rep = report.build(DAY, r, parsed, TZ)
    assert rep["counts"]["offered"]["asterisk"] == 3 and rep["unexplained"] == []


def test_text_has_the_table_and_the_unexplained_list() -> None:
    rep = _report(*_drop_record(ANSWERED)(*_base()))
    out = text.render(rep)
    assert "entered" in out and "unexplained: 1" in out and ANSWERED in out


@pytest.mark.parametrize("raw", [None, "", "2026-13-01", "2026-1-1", "2026-12-02T00:00", "x" * 40])
def test_a_bad_day_names_the_field(raw: str | None) -> None:
    with pytest.raises(InvalidRequest) as exc:
        schemas.day(raw)
    assert exc.value.details["field"] == "day"


def test_every_rule_is_in_the_table() -> None:
    names = [row["rule"] for row in rules.table()]
    assert len(names) == len(set(names)) and "callback-keeps-place" in names


def test_the_soak_sums_the_reports_of_its_days() -> None:
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import soak_measure

    # 2026-12-02 23:30 to 2026-12-03 00:30 in Shanghai: two days
    assert soak_measure.days_between(1796225400, 1796229000, "Asia/Shanghai") == ["2026-12-02", "2026-12-03"]
    good = _report(*_base())
    bad = _report(*_drop_record(ANSWERED)(*_base()))
    summary = soak_measure.reconciliation_summary([good, bad, {"day": "2026-12-04", "error": {"error_id": "x"}}])
    assert summary["counts"]["entered"]["asterisk"] == 10 and summary["counts"]["entered"]["ours"] == 9
    assert summary["unexplained"] == 2 and summary["unexplained_calls"][0]["call_id"] == ANSWERED
    assert summary["rules"]["short-abandon-excluded"] == 2
