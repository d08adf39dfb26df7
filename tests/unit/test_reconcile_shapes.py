"""The reconciliation report on the real lines of a whole run of the call-shape catalogue
(tests/fixtures/reconcile/shapes: the queue_log and CDR log Asterisk 22 wrote on the rig during
tests/integration/test_shapes.py, and the records the controller wrote): every rule that fires
does so on a real call, and nothing is left unexplained.

Callers are numbered by the shape's place in the catalogue of that run: ``1391<shape><n>``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hotline.reconcile import parse, report

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "reconcile" / "shapes"
TZ = ZoneInfo("Asia/Shanghai")
DAY = "2026-12-02"
MAX_WAIT, VOICE_MESSAGE, ATTENDED_DEPT, ATTENDED_110 = "13910100001", "13910170001", "13910280001", "13910290001"
THREE_WAY_110 = ("13910330001", "13910340001", "13910350001")   # seat, 110, caller leaves first
CALLBACK_ASKED, RESTART = "13910380002", "13910400001"


def _records() -> list[dict[str, Any]]:
    return list(json.loads((FIX / "records.json").read_text()))


def _report() -> dict[str, Any]:
    parsed = parse.parse_queue_log((FIX / "queue_log").read_text().splitlines())
    parse.parse_cdr_log((FIX / "hotline-cdr.json").read_text().splitlines(), into=parsed)
    return report.build(DAY, _records(), parsed, TZ)


def _calls(rep: dict[str, Any], caller: str) -> list[dict[str, Any]]:
    ids = {r["call_id"]: r for r in _records() if r["caller_number"] == caller}
    return [c for c in rep["calls"] if c["call_id"] in ids]


def test_a_whole_run_of_the_shapes_is_explained() -> None:
    rep = _report()
    assert rep["unexplained"] == [] and rep["skipped"] == []
    assert {k: (v["ours"], v["asterisk"]) for k, v in rep["counts"].items()} == {
        "entered": (48, 46), "offered": (44, 44), "answered": (37, 38), "abandoned": (5, 5)}
    assert rep["rules"] == {"ended-before-queue": 1, "short-abandon-excluded": 2, "requeued": 1, "voice-message": 1,
                            "ended-after-notice": 1, "parallel-number-not-queued": 1, "callback-keeps-place": 1,
                            "restart-mid-call": 1}


def test_a_three_way_leg_through_the_trunk_is_part_of_its_call_not_a_call_that_entered() -> None:
    """The controller originates the 110 leg with its own Linkedid; its CDR starts on the trunk
    (PJSIP/trunk-carrier-…) and carries accountcode leg-<call id>-110. Read as a conversation of
    its own it was an entered call without a record: unexplained."""
    rep = _report()
    for caller in THREE_WAY_110:
        (call,) = _calls(rep, caller)
        assert call["rules"] == [] and call["differs"] == []
        assert len([ch for ch in call["asterisk"]["cdr_channels"] if ch.startswith("PJSIP/trunk-carrier-")]) == 2
    legs = [line for line in (FIX / "hotline-cdr.json").read_text().splitlines() if '"accountcode":"leg-' in line
            and "trunk-carrier" in json.loads(line)["channel"]]
    assert len(legs) == 3
    assert not {json.loads(line)["linkedid"] for line in legs} & {c["call_id"] for c in rep["calls"]}


def test_the_rules_fire_on_the_calls_they_name() -> None:
    rep = _report()
    (fallback,) = _calls(rep, MAX_WAIT)
    assert fallback["rules"] == ["requeued"] and fallback["differs"] == []
    (message,) = _calls(rep, VOICE_MESSAGE)
    assert message["rules"] == ["voice-message"] and message["differs"] == ["offered"]
    asked, tried = sorted(_calls(rep, CALLBACK_ASKED), key=lambda c: c["call_id"])
    assert asked["rules"] == [] and asked["ours"]["offered"] and not asked["asterisk"]["abandoned"]
    assert tried["rules"] == ["callback-keeps-place"] and tried["asterisk"]["accountcode"] == f"cb-{asked['call_id']}"
    (cut,) = _calls(rep, RESTART)
    assert cut["rules"] == ["restart-mid-call"] and cut["differs"] == ["entered"]   # no CDR: Asterisk was killed
    assert "ENTERQUEUE" in " ".join(cut["asterisk"]["queue_log"])


def test_attended_transfers_keep_their_connect_on_asterisk_22() -> None:
    """Asterisk issue 759 (queue_log without the CONNECT of an attended transfer) does not show
    here: the seat answers (CONNECT) before it consults the target, so nothing differs."""
    rep = _report()
    for caller in (ATTENDED_DEPT, ATTENDED_110):
        (call,) = _calls(rep, caller)
        assert call["rules"] == [] and call["ours"]["answered"] and call["asterisk"]["answered"]
        assert any(e.endswith(" CONNECT") for e in call["asterisk"]["queue_log"])


def test_a_callback_a_seat_took_is_a_callback_try_not_a_queue_callback() -> None:
    """Recorded by the shape seat-calls-back-an-abandoned-caller (tests/fixtures/reconcile/
    seat_callback): the caller abandoned after 7 s, seat 1001 took the callback. The try starts on
    the seat's phone (no trunk channel started it): entered on our side only, and no queue callback
    (no EXITWITHKEY, no placeholder) to explain it with."""
    fix = FIX.parent / "seat_callback"
    parsed = parse.parse_queue_log((fix / "queue_log").read_text().splitlines())
    parse.parse_cdr_log((fix / "hotline-cdr.json").read_text().splitlines(), into=parsed)
    rep = report.build(DAY, json.loads((fix / "records.json").read_text()), parsed, TZ)
    assert rep["unexplained"] == []
    calls = {c["call_id"]: c for c in rep["calls"]}
    assert calls["1796197578.0"]["rules"] == [] and calls["1796197578.0"]["asterisk"]["abandoned"] is True
    tried = calls["1796197586.2"]
    assert tried["rules"] == ["callback-try"] and tried["differs"] == ["entered"]
    assert tried["asterisk"]["accountcode"] == "cb-1796197578.0"
