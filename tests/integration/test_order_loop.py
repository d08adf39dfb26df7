"""The whole 12345 loop on the real stack (issue 11 item 7): real calls answered by seats become
work orders, dispatched to member units, signed, one returned and re-dispatched, one extended,
one warned and flagged overdue, one reopened after 不满意 and then closed, one reopened and left
with its unit (warned again); one signed in the unit portal (headless Chromium); every event
reaches a real webhook receiver (failing now and then) in order; the KPIs equal the
hand-computed values below.

The calls are real (sipp callers through the carrier trunk, seats 1001/1002 answering, the CEL
log assembled into records). The orders are driven through the controller's API by the users
of the rig's site (a seat, the supervisor, a unit user of each unit). Working-day deadlines need
a known calendar and the 督办 sweep needs days to pass, so the controller runs on the work-order
service's test clock (``HOTLINE_TEST_ORDER_CLOCK``, :mod:`hotline.work_orders.testclock`): the
test writes a time into a file, nothing sleeps. Waits poll the API for the thing itself (a
record, a lifecycle event, a delivery), never ``/status``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotline.work_orders.testclock import ENV as CLOCK_ENV
from tests.unit.outboxkit import Receipt, Receiver, check_order

from .browser import chromium
from .rig import UNIT_USERS, Stack, http_json, wait_for

TZ = dt.timezone(dt.timedelta(hours=8))
SECRET = "loop-webhook-secret-1"
SITE_ID = "hotline"   # the rig's site.id (default): the idempotency keys' prefix

# The test clock (site time). November 2026 has no holiday: working days are Monday to Friday.
T0 = dt.datetime(2026, 11, 2, 10, tzinfo=TZ)      # Monday: orders filed and dispatched
T0_1 = dt.datetime(2026, 11, 2, 11, tzinfo=TZ)    # units sign; A returned and re-dispatched
T1 = dt.datetime(2026, 11, 3, 10, tzinfo=TZ)      # Tuesday: B extended; A replied, closed; D reopened
T2 = dt.datetime(2026, 11, 4, 10, tzinfo=TZ)      # Wednesday: D replied again, closed
T3 = dt.datetime(2026, 11, 9, 9, tzinfo=TZ)       # next Monday: C due within 24 h, warned
T4 = dt.datetime(2026, 11, 10, 9, tzinfo=TZ)      # Tuesday: C overdue (flagged); B and C replied
# 5 working days from Monday 2 November: Tue 3 .. Mon 9, due at the end of Monday 9 November.
DUE_NORMAL = dt.datetime(2026, 11, 10, tzinfo=TZ)
# B's 3 days more: after the day its deadline falls in (Mon 9): Tue 10, Wed 11, Thu 12.
DUE_B_EXTENDED = dt.datetime(2026, 11, 13, tzinfo=TZ)
# D reopened on Tuesday 3 November: 5 working days more, Wed 4 .. Tue 10.
DUE_D_REDO = dt.datetime(2026, 11, 11, tzinfo=TZ)

RETURN = {"return_reason": "不属本单位职责", "leader_opinion": "同意退回", "suggestion": "转住建局",
          "contact_phone": "0393-1234567"}
SEAT, BOSS, RENSHE, ZHUJIAN = "seat1001", "boss", "renshe1", "zhujian1"


class Webhooks:
    """outboxkit's real HTTP receiver on a loop of its own thread (this test is synchronous); every
    fifth message is answered 500 once, so the outbox's retry is part of the loop."""

    def __init__(self) -> None:
        self.seen = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.receiver = Receiver(SECRET, self._decide)
        asyncio.run_coroutine_threadsafe(self.receiver.start(), self.loop).result(10)

    def _decide(self, message: dict[str, Any]) -> int:
        self.seen += 1
        return 500 if self.seen % 5 == 0 else 200

    def accepted(self, order_id: str) -> list[Receipt]:
        return [r for r in list(self.receiver.receipts) if r.status < 300 and r.order_id == order_id]

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.receiver.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Loop:
    stack: Stack
    clock_file: Path
    hooks: Webhooks

    def at(self, when: dt.datetime) -> None:
        """Move the order service's clock (the controller reads the file on every ``now``)."""
        self.clock_file.write_text(when.isoformat() + "\n", encoding="utf-8")

    def post(self, user: str, path: str, body: dict[str, Any] | None = None, expect: int = 200) -> Any:
        code, answer = http_json("POST", f"{self.stack.api}{path}", body if body is not None else {}, user=user)
        assert code == expect, f"POST {path} as {user}: {code} {answer}"
        return answer

    def get(self, user: str, path: str) -> Any:
        code, answer = http_json("GET", f"{self.stack.api}{path}", user=user)
        assert code == 200, f"GET {path} as {user}: {code} {answer}"
        return answer

    def act(self, user: str, order_id: str, action: str, **fields: Any) -> dict[str, Any]:
        return dict(self.post(user, f"/api/work-orders/{order_id}/{action.replace('_', '-')}", fields))

    def lifecycle(self, order_id: str) -> dict[str, Any]:
        return dict(self.get(BOSS, f"/api/work-orders/{order_id}/lifecycle"))

    def actions(self, order_id: str) -> list[str]:
        return [e["action"] for e in self.lifecycle(order_id)["events"]]


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from chromium()


@pytest.fixture
def loop(stack: Stack) -> Iterator[Loop]:
    """The session's controller restarted on the test clock with a webhook to a real receiver;
    afterwards the site and the controller as they were."""
    hooks = Webhooks()
    clock_file = stack.workdir / "order-clock"
    previous = stack.site_file.read_text(encoding="utf-8")
    site = yaml.safe_load(previous)
    site["integration"] = {"webhooks": [{"name": "gongdan", "url": hooks.receiver.url, "secret": SECRET,
                                         "timeout_ms": 2000}],
                           "backoff_base_ms": 100, "backoff_cap_ms": 1000, "poll_ms": 100}
    try:
        stack.stop_controller()
        stack.site_file.write_text(yaml.safe_dump(site, allow_unicode=True, sort_keys=False), encoding="utf-8")
        loop = Loop(stack, clock_file, hooks)
        loop.at(T0)
        stack.start_controller(env={CLOCK_ENV: str(clock_file)})
        yield loop
    finally:
        stack.stop_controller()
        stack.site_file.write_text(previous, encoding="utf-8")
        stack.start_controller()
        hooks.close()


def _answered_call(stack: Stack, number: str, caller: str) -> dict[str, Any]:
    r = stack.call(number, caller, talk_ms=2000)
    assert r.returncode == 0, r.stdout[-800:]
    record = stack.record_for(caller)
    assert record["outcome"] == "answered" and record["seat"] in {"1001", "1002"}, record
    assert record["dialled_number"] == number
    return record


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _at_least(receipts: list[Receipt], n: int) -> list[Receipt] | None:
    return receipts if len(receipts) >= n else None


def _file(loop: Loop, calls: list[dict[str, Any]], title: str, category: str, subject: str) -> str:
    """A seat files an order from ``calls`` (POST /api/work-orders), enters it into the lifecycle."""
    filed = loop.post(SEAT, "/api/work-orders", {"call_ids": [c["call_id"] for c in calls], "title": title,
                                                 "description": f"{title}（来电记录）", "category": category,
                                                 "created_by": "1001"}, expect=201)
    loop.post(SEAT, f"/api/work-orders/{filed['id']}/start", {"urgency": "normal", "subject": subject,
                                                              "area": "hualong"}, expect=201)
    return str(filed["id"])


def test_calls_become_orders_that_go_round_the_loop_and_count(loop: Loop, browser: Any) -> None:
    s = loop.stack
    # -- real calls to 12345 (and one to a merged number), answered by seats -------------------
    c1 = _answered_call(s, "12345", "13900001101")
    c2 = _answered_call(s, "12345", "13900001102")   # the same street light, a neighbour
    c3 = _answered_call(s, "12345", "13900001103")
    c4 = _answered_call(s, "12345", "13900001104")
    c5 = _answered_call(s, "83531111", "13900001105")
    c6 = _answered_call(s, "12345", "13900001106")
    assert c5["legacy_mode"] == "merged" and c5["department"] == "chengjian"

    # -- a seat files the orders (A from two calls); the centre dispatches them at T0 ----------
    a = _file(loop, [c1, c2], "小区路灯不亮", "help", "housing")
    b = _file(loop, [c3], "公司拖欠工资", "complaint", "wage")
    c = _file(loop, [c4], "社保转移咨询", "consult", "wage")
    d = _file(loop, [c5], "楼道漏水", "help", "housing")
    e = _file(loop, [c6], "物业不作为", "criticism", "housing")
    for order_id, unit in ((a, "renshe"), (b, "renshe"), (c, "renshe"), (d, "zhujian"), (e, "zhujian")):
        event = loop.act(SEAT, order_id, "dispatch", unit=unit)
        assert event["to_state"] == "dispatched"
    assert _time(loop.lifecycle(c)["lifecycle"]["due"]) == DUE_NORMAL

    # the call record links to its order and back
    for call in (c1, c2):
        linked = loop.get(BOSS, f"/api/calls/{call['call_id']}/work-orders")
        assert [o["id"] for o in linked["items"]] == [a]
    assert sorted(loop.get(BOSS, f"/api/work-orders/{a}")["call_ids"]) == sorted([c1["call_id"], c2["call_id"]])

    # -- units sign; a unit never acts on another unit's order ---------------------------------
    loop.at(T0_1)
    refused = loop.post(ZHUJIAN, f"/api/work-orders/{b}/sign", {}, expect=403)
    assert refused["error_id"] == "not-your-order"
    assert loop.lifecycle(b)["lifecycle"]["state"] == "dispatched"
    listed = loop.get(RENSHE, "/api/work-orders")
    assert {o["id"] for o in listed["items"]} == {a, b, c}
    for order_id, user in ((a, RENSHE), (b, RENSHE), (d, ZHUJIAN), (e, ZHUJIAN)):
        loop.act(user, order_id, "sign")
    _sign_in_the_portal(loop, browser, c)

    # A is not 人社局's: returned with the four fields (one missing first: refused, nothing stored)
    short = {k: v for k, v in RETURN.items() if k != "contact_phone"}
    missing = loop.post(RENSHE, f"/api/work-orders/{a}/return", short, expect=400)
    assert missing["error_id"] == "missing-order-field"
    assert loop.lifecycle(a)["lifecycle"]["state"] == "signed"
    returned = loop.act(RENSHE, a, "return", **RETURN)
    assert returned["fields"] == RETURN and returned["to_state"] == "returned"
    loop.act(BOSS, a, "redispatch", unit="zhujian")
    loop.act(ZHUJIAN, a, "sign")

    # -- T1: B extended (asked, approved); A replied and closed; D reopened after 不满意 ---------
    loop.at(T1)
    loop.act(RENSHE, b, "request_extension", reason="需协调企业财务，时间不足", days=3)
    loop.act(BOSS, b, "approve_extension")
    assert _time(loop.lifecycle(b)["lifecycle"]["due"]) == DUE_B_EXTENDED
    loop.act(ZHUJIAN, a, "reply", result="路灯已修复")
    loop.act(SEAT, a, "verify")
    assert loop.act(SEAT, a, "evaluate", rating="satisfied")["to_state"] == "closed"
    loop.act(ZHUJIAN, d, "reply", result="已派人查看")
    loop.act(SEAT, d, "verify")
    reopened = loop.act(SEAT, d, "evaluate", rating="unsatisfied")
    assert reopened["action"] == "reopen" and reopened["to_state"] == "signed"
    d_now = loop.lifecycle(d)["lifecycle"]
    assert d_now["redo_count"] == 1 and _time(d_now["due"]) == DUE_D_REDO
    loop.act(ZHUJIAN, e, "reply", result="已约谈物业")   # E: 不满意 too, and left with the unit
    loop.act(SEAT, e, "verify")
    assert loop.act(SEAT, e, "evaluate", rating="unsatisfied")["action"] == "reopen"

    # -- T2: D replied again, 满意: closed -----------------------------------------------------
    loop.at(T2)
    loop.act(ZHUJIAN, d, "reply", result="漏水已彻底修复")
    loop.act(SEAT, d, "verify")
    assert loop.act(SEAT, d, "evaluate", rating="satisfied")["to_state"] == "closed"

    _supervision(loop, b, c, e)

    # -- T4: B (in its extended time) and C (late) replied and closed -----------------------
    loop.act(RENSHE, b, "reply", result="已督促企业支付全部工资")
    loop.act(SEAT, b, "verify")
    loop.act(SEAT, b, "evaluate", rating="basically_satisfied")
    loop.act(RENSHE, c, "reply", result="已告知办理流程")
    loop.act(SEAT, c, "verify")
    loop.act(SEAT, c, "evaluate", rating="satisfied")

    _webhooks_got_every_event(loop, {"a": a, "b": b, "c": c, "d": d, "e": e})
    _kpis_equal_the_hand_computed_values(loop)


def _sign_in_the_portal(loop: Loop, browser: Any, c: str) -> None:
    """人社局's user signs C in the unit portal (headless Chromium, the controller's /portal): the
    deadline in site time, the caller's number masked (a consultation is not confidential)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 20, ignored_exceptions=[StaleElementReferenceException])

    def shown(css: str) -> Any:
        return wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))
    browser.get(f"{loop.stack.api}/portal")
    shown("#login-name").send_keys(RENSHE)
    browser.find_element(By.ID, "login-password").send_keys(UNIT_USERS[RENSHE][1])
    browser.find_element(By.ID, "login-submit").click()
    row = shown(f'tr.order[data-order="{c}"]')
    assert row.find_element(By.CSS_SELECTOR, ".due").text == "2026-11-09 24:00"   # DUE_NORMAL, site time
    assert row.find_element(By.CSS_SELECTOR, ".state").text == "待签收"
    row.click()
    wait.until(lambda drv: drv.find_element(By.CSS_SELECTOR, 'dd[data-name="来电人"]').text == "139****1104")
    assert "13900001104" not in browser.page_source
    shown("#sign").click()
    wait.until(lambda drv: drv.find_element(By.ID, "action-result").text == "已签收 ✓")
    signed = [e for e in loop.lifecycle(c)["events"] if e["action"] == "sign"]
    assert [(e["actor"], e["unit"]) for e in signed] == [(RENSHE, "renshe")]


def _supervision(loop: Loop, b: str, c: str, e: str) -> None:
    """督办 by the controller's own periodic sweep: the clock moved, the events awaited in the
    order's lifecycle (the API, not /status)."""
    loop.at(T3)   # C due at the end of today (within warn_hours 24): warned; B (due Friday) not
    events = wait_for("C's 临期预警", lambda: [e for e in loop.lifecycle(c)["events"] if e["action"] == "warn"])
    assert events[0]["actor"] == "system" and _time(events[0]["fields"]["due"]) == DUE_NORMAL
    loop.at(T4)   # C's deadline passed: flagged, escalated to 人社局's leader
    flagged = wait_for("C's 超期 flag",
                       lambda: [e for e in loop.lifecycle(c)["events"] if e["action"] == "flag_overdue"])
    assert flagged[0]["fields"]["escalated_to"] == {"name": "王局长", "phone": "13800000001"}
    # E's redo deadline (end of Tue 10 November, like D's) is within 24 h of T4: warned, not overdue
    wait_for("E's 临期预警", lambda: "warn" in loop.actions(e))
    assert "warn" not in loop.actions(b) and "flag_overdue" not in loop.actions(b)
    assert "flag_overdue" not in loop.actions(e)
    assert loop.actions(c).count("warn") == 1 and loop.actions(c).count("flag_overdue") == 1   # once each


EXPECTED_EVENTS = {
    "a": ["created", "dispatched", "signed", "returned", "dispatched", "signed", "replied", "verified",
          "evaluated", "closed"],
    "b": ["created", "dispatched", "signed", "extension_requested", "extension_approved", "replied", "verified",
          "evaluated", "closed"],
    "c": ["created", "dispatched", "signed", "warned", "overdue", "replied", "verified", "evaluated", "closed"],
    "d": ["created", "dispatched", "signed", "replied", "verified", "evaluated", "reopened", "replied", "verified",
          "evaluated", "closed"],
    "e": ["created", "dispatched", "signed", "replied", "verified", "evaluated", "reopened", "warned"],
}


def _webhooks_got_every_event(loop: Loop, orders: dict[str, str]) -> None:
    """Every event of every order accepted once, in order, under its idempotency key; the receiver's
    500s were retried."""
    for name, order_id in orders.items():
        expected, count = EXPECTED_EVENTS[name], len(EXPECTED_EVENTS[name])
        got = wait_for(f"order {name}'s {count} events at the webhook",
                       lambda o=order_id, n=count: _at_least(loop.hooks.accepted(o), n))
        assert [r.event_type for r in got] == expected, name
        assert [r.key for r in got] == [f"{SITE_ID}:{order_id}:{seq}" for seq in range(1, len(expected) + 1)]
    receipts = list(loop.hooks.receiver.receipts)
    assert all(r.signed for r in receipts) and any(r.status == 500 for r in receipts)
    check_order(receipts)
    returned = next(r for r in loop.hooks.accepted(orders["a"]) if r.event_type == "returned")
    assert returned.payload["fields"] == RETURN and returned.payload["unit"] == "renshe"
    # a complaint is confidential: no caller identity in any of B's events
    assert not any("13900001103" in str(r.payload) for r in loop.hooks.accepted(orders["b"]))


def _kpis_equal_the_hand_computed_values(loop: Loop) -> None:
    """The assignments (one per dispatch to a 主办 unit) and their facts:

    ======  =======  ========  ======  =======  ==========  ======  ========
    order   unit     returned  closed  on time  last eval   reopen  note
    ======  =======  ========  ======  =======  ==========  ======  ========
    A       renshe   yes       -       -        -           -       returned at T0+1h
    A       zhujian  -         yes     yes      满意         -       replied T1 < due 11-10
    B       renshe   -         yes     yes      基本满意      -       replied T4 < extended due 11-13
    C       renshe   -         yes     no       满意         -       replied T4 (11-10 09:00) > due 11-10 00:00
    D       zhujian  -         yes     yes      满意         yes     replied T2 < redo due 11-11
    E       zhujian  -         -       -        不满意        yes     reopened T1, with the unit
    ======  =======  ========  ======  =======  ==========  ======  ========
    """
    def ratio(n: int, d: int) -> dict[str, Any]:
        return {"numerator": n, "denominator": d, "value": round(n / d, 4), "empty": False}

    def table(dispatched: int, returned: int, closed: int, on_time: int, evaluated: int, satisfied: int,
              reopened: int) -> dict[str, Any]:
        kept = dispatched - returned                 # 承办量 = 转办量 − 回退量
        return {"counts": {"dispatched": dispatched, "returned": returned, "kept": kept, "closed": closed,
                           "closed_on_time": on_time, "evaluated": evaluated, "satisfied": satisfied,
                           "reopened": reopened},
                "completion_rate": ratio(closed, kept),        # 办结率 = 办结量 / 承办量
                "on_time_rate": ratio(on_time, closed),        # 按期办结率 = 按期办结量 / 办结量
                "satisfaction_rate": ratio(satisfied, evaluated),   # 满意率 = (满意 + 基本满意) / 评价量
                "return_rate": ratio(returned, dispatched),    # 回退率 = 回退量 / 转办量
                "redo_rate": ratio(reopened, kept)}            # 重办率 = 重办量 / 承办量

    # renshe: A, B, C dispatched (3); A returned (1); kept 2 (B, C), both closed; on time 1 (B);
    #   satisfied 2 (基本满意 B, 满意 C); reopened 0 -> 回退率 1/3 = 0.3333, 按期办结率 1/2 = 0.5
    renshe = table(dispatched=3, returned=1, closed=2, on_time=1, evaluated=2, satisfied=2, reopened=0)
    # zhujian: A (re-dispatched), D, E (3); none returned, kept 3; A and D closed on time (2), 满意;
    #   evaluated 3 (E's last evaluation 不满意), satisfied 2; D and E reopened (2)
    #   -> 办结率 2/3 = 0.6667, 满意率 2/3 = 0.6667, 重办率 2/3 = 0.6667, 按期办结率 2/2 = 1
    zhujian = table(dispatched=3, returned=0, closed=2, on_time=2, evaluated=3, satisfied=2, reopened=2)
    # all: 6 dispatched, 1 returned (1/6 = 0.1667), kept 5, closed 4 (4/5 = 0.8), on time 3 (3/4 = 0.75),
    #   evaluated 5, satisfied 4 (4/5 = 0.8), reopened 2 (2/5 = 0.4)
    total = table(dispatched=6, returned=1, closed=4, on_time=3, evaluated=5, satisfied=4, reopened=2)
    assert renshe["return_rate"]["value"] == 0.3333 and zhujian["satisfaction_rate"]["value"] == 0.6667
    assert total["return_rate"]["value"] == 0.1667 and total["redo_rate"]["value"] == 0.4

    by_unit = loop.get(BOSS, "/api/order-kpis?dimension=unit")
    assert by_unit["groups"]["renshe"] == renshe
    assert by_unit["groups"]["zhujian"] == zhujian
    # dispatched in November 2026 (the test clock): this test's orders only, whatever else the session filed
    by_month = loop.get(BOSS, "/api/order-kpis?dimension=month")
    assert by_month["groups"]["2026-11"] == total
    # by subject: housing = A→renshe (returned), A→zhujian, D, E; wage = B, C
    by_subject = loop.get(BOSS, "/api/order-kpis?dimension=subject")
    assert by_subject["groups"]["housing"] == table(dispatched=4, returned=1, closed=2, on_time=2, evaluated=3,
                                                    satisfied=2, reopened=2)
    assert by_subject["groups"]["wage"] == table(dispatched=2, returned=0, closed=2, on_time=1, evaluated=2,
                                                 satisfied=2, reopened=0)
