"""Duty-phone dial tests (issue 12) on the real Asterisk with sipp: the unit's duty phone is
dialled through the carrier trunk (a sipp UAS on the trunk's contact plays the phone). Unanswered,
it is tried 3 times at the configured spacing (on the test clock) and becomes one 不通 event;
answered, it hears the notice 测试来电 and the call ends, recorded answered; a duty phone in a call
with 12345 is not dialled (postponed) until that call ends.

The controller runs on the order service's test clock (``HOTLINE_TEST_ORDER_CLOCK``; the duty-phone
service uses the same clock); the probe window is one minute wide, so the drawn time is known to
fall inside it. Everything waits on state (probes, records), never on the clock.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotline.work_orders.testclock import ENV as CLOCK_ENV

from .rig import Stack, http_json, wait_for

TZ = dt.timezone(dt.timedelta(hours=8))
DAY1 = dt.datetime(2026, 12, 7, 10, 0, tzinfo=TZ)    # each test its own day: a fresh probe of the window
UNIT, DUTY_PHONE = "zhujian", "13900007001"
SPACING_MIN, TRIES, RING_S, POSTPONE_MIN = 10, 3, 5, 3


@dataclass
class Dp:
    stack: Stack
    clock_file: Path

    def at(self, when: dt.datetime) -> None:
        self.clock_file.write_text(when.isoformat() + "\n", encoding="utf-8")

    def month(self, user: str = "boss") -> dict[str, Any]:
        code, body = http_json("GET", f"{self.stack.api}/api/duty-probes?month=2026-12&unit={UNIT}", user=user)
        assert code == 200, body
        [unit] = body["units"]
        return dict(unit)

    def probe(self, day: dt.datetime) -> dict[str, Any] | None:
        return next((p for p in self.month()["items"] if p["day"] == day.date().isoformat()), None)

    def ticks(self) -> int:
        return int(self.stack.status()["duty_probes"]["ticks"])

    def planned(self, day: dt.datetime) -> dict[str, Any]:
        """The clock at the window's start: the day's probe, drawn inside the one-minute window."""
        self.at(day)
        probe = wait_for("the day's probe planned", lambda: self.probe(day), timeout=30)
        due = dt.datetime.fromisoformat(probe["due_at"])
        assert day <= due < day + dt.timedelta(minutes=1), probe
        assert probe["status"] == "pending" and probe["attempts"] == 0
        return probe


@pytest.fixture(scope="module")
def dp(stack: Stack) -> Iterator[Dp]:
    """The session's site with ``duty_probes`` on and a duty phone for one unit, the controller on the
    test clock; afterwards as it was."""
    previous = stack.site_file.read_text(encoding="utf-8")
    site = yaml.safe_load(previous)
    for unit in site["orders"]["units"]:
        if unit["id"] == UNIT:
            unit["duty_phones"] = [DUTY_PHONE]
    site["duty_probes"] = {"enabled": True, "windows": [{"name": "office", "start": "10:00", "end": "10:01"}],
                           "tries": TRIES, "spacing_minutes": SPACING_MIN, "ring_seconds": RING_S,
                           "postpone_minutes": POSTPONE_MIN}
    clock_file = stack.workdir / "duty-probe-clock"
    dp = Dp(stack, clock_file)
    dp.at(DAY1 - dt.timedelta(hours=2))
    try:
        stack.apply_site_text(yaml.safe_dump(site, allow_unicode=True, sort_keys=False))   # the notice's dialplan
        stack.stop_controller()
        stack.start_controller(env={CLOCK_ENV: str(clock_file)})
        yield dp
    finally:
        stack.stop_controller()
        stack.apply_site_text(previous)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)


def test_an_unanswered_duty_phone_tried_3_times_at_the_spacing_is_one_event(dp: Dp) -> None:
    s = dp.stack
    day = DAY1
    dp.planned(day)
    phone = s.start_pstn("noanswer_uas.xml")
    try:
        now = day + dt.timedelta(minutes=1)   # the drawn time has come
        for attempt in range(1, TRIES + 1):
            dp.at(now)
            probe = wait_for(f"try {attempt} unanswered", lambda a=attempt: (p := dp.probe(day))
                             and p["attempts"] == a and p["status"] != "dialling" and p, timeout=60)
            assert probe["last_result"] == "no_answer", probe
            if attempt < TRIES:
                assert probe["status"] == "pending"
                next_at = dt.datetime.fromisoformat(probe["next_at"])
                assert next_at == now + dt.timedelta(minutes=SPACING_MIN), probe
                dp.at(next_at - dt.timedelta(minutes=1))
                seen = dp.ticks()
                wait_for("two more ticks of the duty-phone service", lambda n=seen: dp.ticks() >= n + 2)
                assert dp.probe(day)["attempts"] == attempt, "not dialled before the spacing"  # type: ignore[index]
                now = next_at
    finally:
        _stop(phone)
    assert probe["status"] == "unreachable" and [t["result"] for t in probe["tries"]] == ["no_answer"] * TRIES
    summary = dp.month()
    [event] = [e for e in summary["events"] if e["probe"] == probe["id"]]
    assert dt.datetime.fromisoformat(event["at"]) == now and event["number"] == "139****7001"
    records = {c["call_id"]: c for c in s.calls() if c["call_id"] in {t["call_id"] for t in probe["tries"]}}
    assert len(records) == TRIES, records
    for r in records.values():
        assert (r["outcome"], r["extra"]["direction"], r["queued_at"]) == ("failed", "duty_probe", None), r
        assert r["dialled_number"] == DUTY_PHONE and r["trunk"] == "carrier"
        assert r["extra"]["duty_probe"]["probe"] == probe["id"] and r["extra"]["duty_probe"]["result"] == "no_answer"
    mine = dp.month(user="zhujian1")   # the unit itself sees its month
    assert mine["unreachable"] >= 1 and any(e["probe"] == probe["id"] for e in mine["events"])


def test_an_answered_duty_phone_hears_the_notice_and_the_call_ends(dp: Dp) -> None:
    s = dp.stack
    day = DAY1 + dt.timedelta(days=1)
    dp.planned(day)
    phone = s.start_pstn("seat_uas.xml")
    try:
        dp.at(day + dt.timedelta(minutes=1))
        probe = wait_for("the probe answered", lambda: (p := dp.probe(day)) and p["status"] == "answered" and p,
                         timeout=60)
    finally:
        _stop(phone)
    [tried] = probe["tries"]
    record = wait_for("the try's record", lambda: next((c for c in s.calls() if c["call_id"] == tried["call_id"]),
                                                       None))
    assert (record["outcome"], record["extra"]["direction"], record["queued_at"]) == ("answered", "duty_probe", None)
    assert record["extra"]["duty_probe"] == {"probe": probe["id"], "try": 1, "result": "answered", "notice": True}
    notice = s.prompt_seconds("duty-probe-notice")
    assert notice - 0.5 <= record["talk_seconds"] <= notice + 5, (record["talk_seconds"], notice)
    assert record["hangup_cause"] == 16, "Asterisk hung up after the notice"
    assert not [c for c in s.channels() if c.startswith("PJSIP/trunk-carrier-")], "the call ended"


def test_a_duty_phone_in_a_call_with_12345_is_not_dialled(dp: Dp) -> None:
    s = dp.stack
    day = DAY1 + dt.timedelta(days=2)
    dp.planned(day)
    phone = s.start_pstn("seat_uas.xml")
    caller = s.start_call("12345", DUTY_PHONE)   # the unit's phone calls 12345 and waits in the queue
    try:
        wait_for("the unit's call with 12345", lambda: any(c.startswith("PJSIP/trunk-carrier-") for c in s.channels()))
        due = day + dt.timedelta(minutes=1)
        dp.at(due)
        probe = wait_for("the probe postponed", lambda: (p := dp.probe(day)) and p["postponed"] >= 1 and p)
        assert (probe["attempts"], probe["status"]) == (0, "pending"), probe
        assert dt.datetime.fromisoformat(probe["next_at"]) == due + dt.timedelta(minutes=POSTPONE_MIN)
        for channel in [c for c in s.channels() if c.startswith("PJSIP/trunk-carrier-")]:
            s.cli(f"channel request hangup {channel}")   # the unit's phone hangs up
        wait_for("the unit's call over", lambda: not any(c.startswith("PJSIP/trunk-carrier-") for c in s.channels()))
        dp.at(due + dt.timedelta(minutes=POSTPONE_MIN))
        probe = wait_for("the probe answered", lambda: (p := dp.probe(day)) and p["status"] == "answered" and p,
                         timeout=60)
    finally:
        _stop(caller)
        _stop(phone)
    assert probe["attempts"] == 1 and probe["postponed"] >= 1
