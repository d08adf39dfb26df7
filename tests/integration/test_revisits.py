"""回访 calls (issue 12) on the real Asterisk with sipp: an order replied to and verified is called
back through the carrier trunk; the caller's phone (a sipp UAS on the trunk's contact) presses 3
(RFC 2833) and the order is reopened (重办), the try's call record linked; an unanswered 回访 is
retried at the configured spacing on the test clock and given up after its tries.

The controller runs on the order service's test clock (``HOTLINE_TEST_ORDER_CLOCK``; the 回访
service uses the same clock): set inside the quiet hours, moved to show the spacing. Everything
waits on state (tasks, records, the order's trail), never on the clock.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
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
T0 = dt.datetime(2026, 12, 2, 10, 0, tzinfo=TZ)   # a Wednesday, inside 08:30-20:30
SEAT, UNIT, BOSS = "seat1001", "renshe1", "boss"
SPACING_MIN, TRIES, RING_S = 30, 2, 6


@dataclass
class Rv:
    stack: Stack
    clock_file: Path

    def at(self, when: dt.datetime) -> None:
        self.clock_file.write_text(when.isoformat() + "\n", encoding="utf-8")

    def post(self, user: str, path: str, body: dict[str, Any], expect: int = 200) -> Any:
        code, answer = http_json("POST", f"{self.stack.api}{path}", body, user=user)
        assert code == expect, f"POST {path} as {user}: {code} {answer}"
        return answer

    def get(self, path: str, user: str = BOSS) -> Any:
        code, answer = http_json("GET", f"{self.stack.api}{path}", user=user)
        assert code == 200, f"GET {path}: {code} {answer}"
        return answer

    def task(self, order_id: str) -> dict[str, Any] | None:
        items = self.get(f"/api/revisits?work_order_id={order_id}&full=1&reason=test")["items"]
        return items[0] if items else None

    def ticks(self) -> int:
        return int(self.stack.status()["revisits"]["ticks"])

    def replied_order(self, caller: str) -> str:
        """A real call from ``caller`` answered by a seat, filed, dispatched, signed and replied to."""
        r = self.stack.call("12345", caller, talk_ms=1500)
        assert r.returncode == 0, r.stdout[-800:]
        record = self.stack.record_for(caller)
        filed = self.post(SEAT, "/api/work-orders", {"call_ids": [record["call_id"]], "title": "路灯不亮",
                                                      "description": "小区路灯不亮（来电记录）", "category": "help",
                                                      "created_by": "1001", "urgency": "normal"}, expect=201)
        oid = str(filed["id"])
        self.post(SEAT, f"/api/work-orders/{oid}/dispatch", {"unit": "renshe"})
        self.post(UNIT, f"/api/work-orders/{oid}/sign", {})
        self.post(UNIT, f"/api/work-orders/{oid}/reply", {"result": "已修复路灯"})
        return oid


@pytest.fixture(scope="module")
def rv(stack: Stack) -> Iterator[Rv]:
    """The session's site with ``revisits`` on, the controller on the test clock; afterwards as it was."""
    previous = stack.site_file.read_text(encoding="utf-8")
    site = yaml.safe_load(previous)
    site["revisits"] = {"enabled": True, "area_code": "0393", "max_concurrent": 2, "tries": TRIES,
                        "spacing_minutes": SPACING_MIN, "ring_seconds": RING_S, "queue": "hotline"}
    clock_file = stack.workdir / "revisit-clock"
    rv = Rv(stack, clock_file)
    rv.at(T0)
    try:
        stack.apply_site_text(yaml.safe_dump(site, allow_unicode=True, sort_keys=False))   # the survey's dialplan
        stack.stop_controller()
        stack.start_controller(env={CLOCK_ENV: str(clock_file)})
        yield rv
    finally:
        capture = os.environ.get("RV_CAPTURE")   # to refresh tests/fixtures/cel/revisit_*.jsonl
        if capture:
            shutil.copyfile(stack.runtime.cel_log, capture)
        stack.stop_controller()
        stack.apply_site_text(previous)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)


def test_a_revisit_answered_with_3_reopens_the_order(rv: Rv) -> None:
    s = rv.stack
    oid = rv.replied_order("13900001301")
    phone = s.start_pstn("revisit_phone_presses_3.xml")
    try:
        rv.post(SEAT, f"/api/work-orders/{oid}/verify", {})
        task = wait_for("the 回访 rated", lambda: (t := rv.task(oid)) and t["status"] == "rated" and t, timeout=90)
    finally:
        _stop(phone)
    assert (task["rating"], task["attempts"], task["number"]) == ("unsatisfied", 1, "13900001301"), task
    assert task["keys"].split(",")[-1] == "3"
    [tried] = task["tries"]
    record = wait_for("the try's call record", lambda: next(
        (c for c in s.calls() if c["call_id"] == tried["call_id"]), None))
    assert record["extra"]["direction"] == "revisit" and record["outcome"] == "answered", record
    assert record["extra"]["revisit"]["result"] == "rated" and record["extra"]["revisit"]["rating"] == "unsatisfied"
    assert record["extra"]["revisit"]["order"] == oid and record["queued_at"] is None
    assert record["trunk"] == "carrier" and record["dialled_number"] == "13900001301"

    def reopened() -> dict[str, Any] | None:
        life = rv.get(f"/api/work-orders/{oid}/lifecycle")
        return life if life["lifecycle"]["state"] == "signed" else None
    life = wait_for("the order reopened (重办)", reopened)
    assert life["lifecycle"]["redo_count"] == 1 and life["lifecycle"]["rating"] == "unsatisfied"
    last = life["events"][-1]
    assert (last["action"], last["actor"]) == ("reopen", "revisit")
    assert last["fields"]["revisit"]["call_id"] == record["call_id"], "the order names the call's record"


def test_an_unanswered_revisit_is_retried_at_the_spacing_then_given_up(rv: Rv) -> None:
    s = rv.stack
    rv.at(T0)
    oid = rv.replied_order("13900001302")
    phone = s.start_pstn("noanswer_uas.xml")
    try:
        rv.post(SEAT, f"/api/work-orders/{oid}/verify", {})
        first = wait_for("the first try unanswered", lambda: (t := rv.task(oid)) and t["status"] == "pending"
                         and t["attempts"] == 1 and t, timeout=60)
        assert first["last_result"] == "no_answer", first
        assert dt.datetime.fromisoformat(first["next_at"]) == T0 + dt.timedelta(minutes=SPACING_MIN)
        rv.at(T0 + dt.timedelta(minutes=SPACING_MIN - 1))
        seen = rv.ticks()
        wait_for("two more ticks of the 回访 service", lambda: rv.ticks() >= seen + 2)
        assert rv.task(oid)["attempts"] == 1, "not dialled before the spacing"   # type: ignore[index]
        rv.at(T0 + dt.timedelta(minutes=SPACING_MIN))
        last = wait_for("the task given up", lambda: (t := rv.task(oid)) and t["status"] == "failed" and t,
                        timeout=60)
    finally:
        _stop(phone)
    assert last["attempts"] == TRIES and [t["result"] for t in last["tries"]] == ["no_answer", "no_answer"], last
    records = [c for c in s.calls() if c["call_id"] in {t["call_id"] for t in last["tries"]}]
    assert len(records) == TRIES and all(r["outcome"] == "failed" for r in records), records
    assert rv.get(f"/api/work-orders/{oid}/lifecycle")["lifecycle"]["state"] == "verified", "no rating: unchanged"


def test_0_reaches_a_seat_who_records_the_rating(rv: Rv) -> None:
    s = rv.stack
    rv.at(T0)
    oid = rv.replied_order("13900001303")
    phone = s.start_pstn("revisit_phone_presses_0.xml")
    try:
        rv.post(SEAT, f"/api/work-orders/{oid}/verify", {})

        def talking() -> list[str]:
            live = s.channels()
            seats = [c for c, bridge in live.items() if bridge and c.startswith(("PJSIP/1001-", "PJSIP/1002-"))]
            trunk = [c for c, bridge in live.items() if bridge and c.startswith("PJSIP/trunk-carrier-")]
            return trunk if seats and trunk else []
        for channel in wait_for("the 回访 caller talking to a seat", talking, timeout=90):
            s.cli(f"channel request hangup {channel}")
        task = wait_for("the task with the seat", lambda: (t := rv.task(oid)) and t["status"] == "with_seat" and t,
                        timeout=30)
    finally:
        _stop(phone)
    [tried] = task["tries"]
    record = wait_for("the try's record",
                      lambda: next((c for c in s.calls() if c["call_id"] == tried["call_id"]), None))
    assert record["extra"]["revisit"]["result"] == "to_seat" and record["queue"] == "hotline", record
    assert record["seat"] in {"1001", "1002"} and record["queued_at"] is None
    rated = rv.post(SEAT, f"/api/revisits/{task['id']}/rating", {"rating": "satisfied"})
    assert (rated["status"], rated["seat"]) == ("rated", SEAT)
    life = rv.get(f"/api/work-orders/{oid}/lifecycle")
    assert (life["lifecycle"]["state"], life["lifecycle"]["rating"]) == ("closed", "satisfied")
    assert (life["events"][-1]["action"], life["events"][-1]["actor"]) == ("evaluate", SEAT)


def test_a_wrong_key_is_asked_again_once(rv: Rv) -> None:
    """9 in the first menu: the invalid notice and the menu once more; 1 then is the rating."""
    s = rv.stack
    rv.at(T0)
    oid = rv.replied_order("13900001304")
    digits = [c for c in oid if c.isdigit()]
    said = json.loads((s.paths.sounds_dir / "zh" / "digits" / "prompts.json").read_text(encoding="utf-8"))
    into_menu = s.prompt_seconds("revisit-intro") + sum(float(said[f"digit-{c}"]["seconds"]) for c in digits) + 2.0
    phone = s.start_pstn("revisit_phone_presses_9_then_1.xml", "-d", str(int(into_menu * 1000)))
    try:
        rv.post(SEAT, f"/api/work-orders/{oid}/verify", {})
        task = wait_for("the 回访 rated", lambda: (t := rv.task(oid)) and t["status"] in ("rated", "no_rating") and t,
                        timeout=120)
    finally:
        _stop(phone)
    assert (task["status"], task["keys"], task["rating"]) == ("rated", "9,1", "satisfied"), task
    life = wait_for("the order closed", lambda: (x := rv.get(f"/api/work-orders/{oid}/lifecycle"))
                    and x["lifecycle"]["state"] == "closed" and x)
    assert life["lifecycle"]["rating"] == "satisfied"


def test_a_wrong_key_twice_is_no_rating(rv: Rv) -> None:
    """9 in both menus: asked again once, then no rating; the order is left as it was (verified)."""
    s = rv.stack
    rv.at(T0)
    oid = rv.replied_order("13900001305")
    phone = s.start_pstn("revisit_phone_presses_9.xml")
    try:
        rv.post(SEAT, f"/api/work-orders/{oid}/verify", {})
        task = wait_for("the 回访 ended", lambda: (t := rv.task(oid)) and t["status"] in ("rated", "no_rating") and t,
                        timeout=120)
    finally:
        _stop(phone)
    assert (task["status"], task["keys"], task["rating"], task["attempts"]) == ("no_rating", "9,9", None, 1), task
    [tried] = task["tries"]
    record = wait_for("the try's record",
                      lambda: next((c for c in s.calls() if c["call_id"] == tried["call_id"]), None))
    assert record["extra"]["revisit"]["result"] == "no_rating" and record["outcome"] == "answered", record
    life = rv.get(f"/api/work-orders/{oid}/lifecycle")
    assert (life["lifecycle"]["state"], life["lifecycle"]["rating"]) == ("verified", None), "no rating: unchanged"
