"""The unit portal (承办单位门户, issue 11 item 1) in headless Chromium against the controller's
real HTTP app and a SQLite store (no Asterisk needed).

A unit user logs in, sees its unit's orders (not another unit's) with their deadlines, signs one,
tries to return it with a field missing (the API's error shown next to the field, nothing stored),
returns it properly; after the centre's 督办 sweep (the service's clock moved, nothing sleeps) sees
the warned and the overdue order flagged; on a confidential order asks for an extension and, once
the supervisor approved it, replies. The event trail in the store is checked afterwards. Hostile
text (an order's title and description, a reply) is shown as text and never runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .browser import chromium

TZ = dt.timezone(dt.timedelta(hours=8))
PASSWORDS = {"renshe1": "unit-pass-renshe", "boss": "boss-pass-1", "s1001": "seat-pass-1001",
             "hualong1": "unit-pass-hualong"}
HOSTILE_TITLE = "<script>window.pwned=1</script>\"引号' 欠薪"
HOSTILE_TEXT = "<img src=x onerror=\"window.pwned=2\"> 公司拖欠工资三个月"
HOSTILE_REPLY = "已督促企业支付<script>window.pwned=3</script> \"全部\"工资"


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from chromium()


class Controller:
    """The controller's HTTP app (build_services + build_app) on a thread of its own, with the
    work-order service on a clock the test moves."""

    def __init__(self, tmp_path: Path) -> None:
        from aiohttp import web

        from hotline.api.app import build_app
        from hotline.auth.passwords import hash_password
        from hotline.auth.services import AuthService
        from hotline.calls.services import CallTracker, directory_for
        from hotline.compose import build_services
        from hotline.config import parse_site
        from hotline.live.hub import LiveHub
        from hotline.store import Store
        from hotline.work_orders.services import WorkOrderService

        users = [{"name": "renshe1", "role": "unit", "unit": "renshe"}, {"name": "boss", "role": "supervisor"},
                 {"name": "s1001", "role": "seat", "seat": "1001"},
                 {"name": "hualong1", "role": "unit", "unit": "hualong"}]
        leader = {"name": "王局长", "phone": "13800000001"}
        self.site = parse_site({
            "trunks": [{"name": "c", "host": "127.0.0.2"}],
            "seats": [{"id": "1001", "name": "坐席1001", "secret": "seat-secret-1001"}],
            "orders": {"units": [{"id": "renshe", "name": "人社局", "leader": leader},
                                 {"id": "zhujian", "name": "住建局", "leader": leader},
                                 {"id": "hualong", "name": "华龙区", "leader": leader}]},
            "users": [{**u, "password_hash": hash_password(PASSWORDS[u["name"]], iterations=1000)} for u in users]},
            "t.yaml")
        self.store = Store(f"sqlite:///{tmp_path}/hotline.db")
        self.store.upgrade()
        self.now = dt.datetime(2026, 11, 2, 10, tzinfo=TZ)   # a Monday

        async def no_ami(action: dict[str, str], **_: Any) -> Any:
            raise ConnectionError("no AMI in this test")

        directory = directory_for(self.site)
        services = build_services(self.site, self.store, ami_send=no_ami, hub=LiveHub(""),
                                  tracker=CallTracker(directory, lambda record: None, on_partial=lambda c: None),
                                  directory=directory, auth=AuthService.for_state_dir(self.site.users, tmp_path),
                                  status=lambda: {}, database_status=lambda: {"ok": True})
        self.orders = WorkOrderService(self.store, orders=self.site.orders, now=lambda: self.now)
        self.duty_probes = services.duty_probes
        app = build_app(dataclasses.replace(services, work_orders=self.orders))
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", 0).start())
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(20)

    def order(self, call_id: str, number: str, category: str, title: str, description: str, *,
              unit: str = "renshe", urgency: str = "normal", co_units: tuple[str, ...] = ()) -> str:
        """An order filed by a seat from a stored call, started and dispatched to ``unit``."""
        from hotline.records.call import CallRecord, Outcome
        from hotline.records.work_order import Category
        from hotline.work_orders.lifecycle import Urgency
        from hotline.work_orders.schemas import WorkOrderCreate
        from hotline.work_orders.transitions import Actor

        self.store.upsert_call(CallRecord(call_id=call_id, dialled_number="12345", caller_number=number,
                                          arrived_at=self.now - dt.timedelta(minutes=5), outcome=Outcome.answered))
        seat = Actor("s1001", "seat")
        filed = self.run(self.orders.create(WorkOrderCreate(call_ids=[call_id], title=title, description=description,
                                                            category=Category(category), created_by="1001")))
        self.run(self.orders.start(filed["id"], urgency=Urgency(urgency), subject=None, area=None, actor=seat))
        self.run(self.orders.act(filed["id"], "dispatch", seat, {"unit": unit, "co_units": list(co_units)}))
        return str(filed["id"])

    def trail(self, order_id: str) -> list[tuple[str, str, str | None]]:
        return [(e["action"], e["actor"], e["to_state"]) for e in self.orders.lifecycle.events(order_id)]

    def close(self) -> None:
        self.run(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.store.close()


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Controller]:
    c = Controller(tmp_path)
    try:
        yield c
    finally:
        c.close()


def _waiter(browser: Any) -> tuple[Any, Callable[..., Any], Any]:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    # the page re-renders a list or an order as a whole: an element read mid-render is retried
    wait = WebDriverWait(browser, 20, ignored_exceptions=[StaleElementReferenceException])
    return wait, lambda css: wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, css))), By


def test_a_unit_signs_returns_extends_and_replies_in_the_portal(controller: Controller, browser: Any) -> None:
    c = controller
    a = c.order("1.1", "13800138000", "consult", "路灯不亮", "小区路灯坏了一周")
    b = c.order("1.2", "13912345678", "complaint", HOSTILE_TITLE, HOSTILE_TEXT)
    e = c.order("1.3", "13700001111", "help", "停水", "全楼停水", urgency="emergency")
    other = c.order("1.4", "13600002222", "consult", "别家的工单", "住建局的", unit="zhujian")
    wait, shown, by = _waiter(browser)

    browser.get(f"{c.url}/portal")
    shown("#login-name").send_keys("renshe1")
    browser.find_element(by.ID, "login-password").send_keys("wrong-pass")
    browser.find_element(by.ID, "login-submit").click()
    wait.until(lambda d: d.find_element(by.ID, "login-error").text == "用户名或密码错误（bad-credentials）")
    browser.find_element(by.ID, "login-password").send_keys(PASSWORDS["renshe1"])
    browser.find_element(by.ID, "login-submit").click()

    # the list: the unit's three orders with their deadlines, not another unit's
    row_a = shown(f'tr.order[data-order="{a}"]')
    assert _listed(browser) == {a, b, e} and other not in browser.page_source
    assert browser.find_element(by.ID, "count").text == "共 3 件"
    due_a = c.run(c.orders.order(a))[0].due
    assert row_a.find_element(by.CSS_SELECTOR, ".due").text == "2026-11-09 24:00"   # 5 working days, site time
    assert due_a == dt.datetime(2026, 11, 10, tzinfo=TZ)
    assert row_a.find_element(by.CSS_SELECTOR, ".state").text == "待签收"
    # 应急, with the time it was reported to the duty office (at its start, by the clock of the test)
    assert browser.find_element(by.CSS_SELECTOR, f'tr[data-order="{e}"] .urgency').text.startswith("应急（20")
    assert "已报值班室" in browser.find_element(by.CSS_SELECTOR, f'tr[data-order="{e}"] .urgency').text
    assert "hotline_token" not in browser.execute_script("return document.cookie")   # HttpOnly

    _sign_and_return(c, browser, a)

    # 督办: a week later the centre's sweep warns B (due today) and flags E (8 h long gone)
    c.now = dt.datetime(2026, 11, 9, 10, tzinfo=TZ)
    swept = {(ev.order_id, ev.action) for ev in c.run(c.orders.sweep())}
    assert swept == {(b, "warn"), (e, "flag_overdue"), (other, "warn")}
    browser.find_element(by.ID, "back").click()
    wait.until(lambda d: _listed(d) == {b, e})   # A went back to the centre
    assert browser.find_element(by.CSS_SELECTOR, f'tr[data-order="{b}"] .alert').text == "临期预警"
    assert browser.find_element(by.CSS_SELECTOR, f'tr[data-order="{e}"] .alert').text == "超期"
    assert browser.find_element(by.CSS_SELECTOR, f'tr[data-order="{b}"] .title').text == HOSTILE_TITLE   # as text

    _extend_and_reply(c, browser, b)

    # the store: the unit's acts in the trail, by the unit user; the refusals left no trace
    assert c.trail(a) == [("create", "s1001", "created"), ("dispatch", "s1001", "dispatched"),
                          ("sign", "renshe1", "signed"), ("return", "renshe1", "returned")]
    assert c.trail(b) == [("create", "s1001", "created"), ("dispatch", "s1001", "dispatched"),
                          ("warn", "system", "dispatched"), ("sign", "renshe1", "signed"),
                          ("request_extension", "renshe1", "extension_requested"),
                          ("approve_extension", "boss", "signed"), ("reply", "renshe1", "replied")]
    events = {ev["action"]: ev for ev in c.orders.lifecycle.events(b)}
    assert events["request_extension"]["fields"] == {"reason": "需协调企业财务，时间不足", "days": 3}
    assert events["reply"]["fields"] == {"result": HOSTILE_REPLY}
    returned = {ev["action"]: ev for ev in c.orders.lifecycle.events(a)}["return"]["fields"]
    assert returned == {"return_reason": "不属本单位职责", "leader_opinion": "同意退回", "suggestion": "转住建局",
                        "contact_phone": "0393-1234567"}


def _sign_and_return(c: Controller, browser: Any, a: str) -> None:
    wait, shown, by = _waiter(browser)
    """Order A (not confidential): the caller masked; sign it, return it with 联系电话 missing
    (refused next to the field, nothing stored), then properly."""
    shown(f'tr.order[data-order="{a}"]').click()
    wait.until(lambda d: _text(d, 'dd[data-name="来电人"]') == "138****8000")
    assert "13800138000" not in browser.page_source
    shown("#sign").click()
    wait.until(lambda d: d.find_element(by.ID, "action-result").text == "已签收 ✓")
    assert c.run(c.orders.order(a))[0].state.value == "signed"

    # return with 联系电话 missing: the API's error next to the field, nothing stored
    before = c.trail(a)
    form = shown("#act-return")
    for field, value in (("return_reason", "不属本单位职责"), ("leader_opinion", "同意退回"),
                         ("suggestion", "转住建局")):
        form.find_element(by.CSS_SELECTOR, f'[data-field="{field}"]').send_keys(value)
    form.find_element(by.CSS_SELECTOR, 'button[type="submit"]').click()
    spot = form.find_element(by.CSS_SELECTOR, '.field-error[data-for="contact_phone"]')
    wait.until(lambda d: spot.text == "缺少必填项：联系电话（missing-order-field）")
    assert c.trail(a) == before and c.run(c.orders.order(a))[0].state.value == "signed"
    form.find_element(by.CSS_SELECTOR, '[data-field="contact_phone"]').send_keys("0393-1234567")
    form.find_element(by.CSS_SELECTOR, 'button[type="submit"]').click()
    wait.until(lambda d: d.find_element(by.ID, "action-result").text == "已退回 ✓")
    assert c.run(c.orders.order(a))[0].state.value == "returned"



def _extend_and_reply(c: Controller, browser: Any, b: str) -> None:
    wait, shown, by = _waiter(browser)
    """Order B (a complaint: confidential): no caller identity; sign, ask for 3 more days; once the
    supervisor approved, reply (empty first: the API names the field) with hostile text."""
    shown(f'tr.order[data-order="{b}"]').click()
    wait.until(lambda d: d.find_element(by.CSS_SELECTOR, 'dd[data-name="内容"]').text == HOSTILE_TEXT)
    wait.until(lambda d: _text(d, 'dd[data-name="来电人"]') == "保密工单，不向承办单位显示来电人信息")
    assert "13912345678" not in browser.page_source and "912345678" not in browser.page_source
    shown("#sign").click()
    wait.until(lambda d: d.find_element(by.ID, "action-result").text == "已签收 ✓")
    form = shown("#act-request_extension")
    form.find_element(by.CSS_SELECTOR, '[data-field="reason"]').send_keys("需协调企业财务，时间不足")
    form.find_element(by.CSS_SELECTOR, '[data-field="days"]').send_keys("3")
    form.find_element(by.CSS_SELECTOR, 'button[type="submit"]').click()
    wait.until(lambda d: d.find_element(by.ID, "action-result").text == "已提交延期申请 ✓")
    assert browser.find_element(by.ID, "action-none").is_displayed()   # waiting for the centre
    from hotline.work_orders.transitions import Actor
    c.run(c.orders.act(b, "approve_extension", Actor("boss", "supervisor"), {}))

    # the supervisor approved: reply (empty first: the API names the field)
    browser.find_element(by.ID, "back").click()
    wait.until(lambda d: _text(d, f'tr[data-order="{b}"] .state') == "办理中")   # the list read again
    shown(f'tr.order[data-order="{b}"]').click()
    form = shown("#act-reply")
    form.find_element(by.CSS_SELECTOR, 'button[type="submit"]').click()
    spot = form.find_element(by.CSS_SELECTOR, '.field-error[data-for="result"]')
    wait.until(lambda d: spot.text == "缺少必填项：办理结果（missing-order-field）")
    form.find_element(by.CSS_SELECTOR, '[data-field="result"]').send_keys(HOSTILE_REPLY)
    form.find_element(by.CSS_SELECTOR, 'button[type="submit"]').click()
    wait.until(lambda d: d.find_element(by.ID, "action-result").text == "已提交办结回复 ✓")
    wait.until(lambda d: _text(d, '#trail tr[data-action="reply"] td.fields') == f"办理结果：{HOSTILE_REPLY}")
    assert browser.execute_script("return window.pwned === undefined")   # nothing ran



def test_only_unit_users_use_the_portal_and_errors_name_their_id(controller: Controller, browser: Any) -> None:
    """A seat user is told the portal is for units; a unit user's order taken away meanwhile gives
    the API's refusal in Chinese with its stable id."""
    c = controller
    wait, shown, by = _waiter(browser)
    browser.get(f"{c.url}/portal")
    shown("#login-name").send_keys("s1001")
    browser.find_element(by.ID, "login-password").send_keys(PASSWORDS["s1001"])
    browser.find_element(by.ID, "login-submit").click()
    wait.until(lambda d: "本门户仅供承办单位用户使用" in d.find_element(by.ID, "login-error").text)
    assert not browser.find_element(by.ID, "portal").is_displayed()

    a = c.order("2.1", "13800138000", "consult", "噪音扰民", "夜间施工")
    browser.delete_all_cookies()
    browser.get(f"{c.url}/portal")
    shown("#login-name").send_keys("renshe1")
    browser.find_element(by.ID, "login-password").send_keys(PASSWORDS["renshe1"])
    browser.find_element(by.ID, "login-submit").click()
    shown(f'tr.order[data-order="{a}"]').click()
    shown("#sign").click()
    wait.until(lambda d: d.find_element(by.ID, "action-result").text == "已签收 ✓")
    c.run(c.orders.act(a, "request_extension", _unit(), {"reason": "另一窗口已申请", "days": 2}))
    form = shown("#act-reply")   # the page still shows the signed order: the API refuses
    form.find_element(by.CSS_SELECTOR, '[data-field="result"]').send_keys("已处理")
    form.find_element(by.CSS_SELECTOR, 'button[type="submit"]').click()
    spot = form.find_element(by.CSS_SELECTOR, ".form-error")
    wait.until(lambda d: spot.text == "当前状态不允许此操作（illegal-transition）")
    assert c.run(c.orders.order(a))[0].state.value == "extension_requested"
    browser.find_element(by.ID, "logout").click()   # the token revoked: a reload asks to log in again
    wait.until(lambda d: d.find_element(by.ID, "login-error").text == "已退出")
    status = browser.execute_async_script(
        "const done = arguments[0]; fetch('/api/me').then((r) => done(r.status))")
    assert status == 401 and not browser.find_element(by.ID, "portal").is_displayed()


def test_a_key_order_needs_the_leaders_approval_in_the_reply(controller: Controller, browser: Any) -> None:
    """重点 items: the reply form shows the leader's approval field and the API's refusal lands there."""
    c = controller
    k = c.order("3.1", "13800138000", "help", "危房排查", "老旧小区危房", urgency="key")
    c.run(c.orders.act(k, "sign", _unit(), {}))
    wait, shown, by = _waiter(browser)
    browser.get(f"{c.url}/portal")
    shown("#login-name").send_keys("renshe1")
    browser.find_element(by.ID, "login-password").send_keys(PASSWORDS["renshe1"])
    browser.find_element(by.ID, "login-submit").click()
    wait.until(lambda d: _text(d, f'tr[data-order="{k}"] .urgency') == "重点")
    browser.find_element(by.CSS_SELECTOR, f'tr.order[data-order="{k}"]').click()
    form = shown("#act-reply")
    form.find_element(by.CSS_SELECTOR, '[data-field="result"]').send_keys("已排查完毕")
    form.find_element(by.CSS_SELECTOR, 'button[type="submit"]').click()
    spot = form.find_element(by.CSS_SELECTOR, '.field-error[data-for="leader_approval"]')
    wait.until(lambda d: spot.text == "缺少必填项：领导审批意见（missing-order-field）")
    form.find_element(by.CSS_SELECTOR, '[data-field="leader_approval"]').send_keys("同意，张局长")
    form.find_element(by.CSS_SELECTOR, 'button[type="submit"]').click()
    wait.until(lambda d: d.find_element(by.ID, "action-result").text == "已提交办结回复 ✓")
    assert c.orders.lifecycle.events(k)[-1]["fields"] == {"result": "已排查完毕", "leader_approval": "同意，张局长"}


HOSTILE_OPINION = "<b onmouseover=\"window.pwned=4\">本区</b>已约谈企业负责人"


def test_a_co_unit_contributes_and_the_main_unit_reads_it(controller: Controller, browser: Any) -> None:
    """协办: 华龙区 finds the order it helps with (marked 协办, from the one search: no request per
    order), has only the 协办意见 form, posts its opinion (empty first: the API names the field); the
    主办 人社局 sees its list marked 主办 and the opinion in the order's trail. Headers name the unit."""
    c = controller
    x = c.order("4.1", "13800138000", "help", "企业欠薪", "拖欠三个月工资", co_units=("hualong",))
    only = c.order("4.2", "13800138001", "consult", "人社局自办", "不需协办")
    wait, shown, by = _waiter(browser)
    _login(browser, c, "hualong1")
    row = shown(f'tr.order[data-order="{x}"]')
    assert _listed(browser) == {x} and only not in browser.page_source
    assert row.find_element(by.CSS_SELECTOR, ".party").text == "协办"
    assert row.find_element(by.CSS_SELECTOR, ".due").text == "2026-11-09 24:00"
    assert browser.find_element(by.ID, "whoami").text == "hualong1（华龙区）"
    assert _requests(browser, "/lifecycle") == 0 and _requests(browser, "/api/work-orders?") == 1

    row.click()
    wait.until(lambda d: _text(d, 'dd[data-name="本单位"]') == "协办（主办：renshe）")
    form = shown("#act-contribute")
    for action in ("sign", "return", "request_extension", "reply"):
        assert not browser.find_element(by.ID, f"act-{action}").is_displayed(), action
    before = c.trail(x)
    form.find_element(by.CSS_SELECTOR, 'button[type="submit"]').click()
    spot = form.find_element(by.CSS_SELECTOR, '.field-error[data-for="opinion"]')
    wait.until(lambda d: spot.text == "缺少必填项：协办意见（missing-order-field）")
    assert c.trail(x) == before
    form.find_element(by.CSS_SELECTOR, '[data-field="opinion"]').send_keys(HOSTILE_OPINION)
    form.find_element(by.CSS_SELECTOR, 'button[type="submit"]').click()
    wait.until(lambda d: d.find_element(by.ID, "action-result").text == "已提交协办意见 ✓")
    assert c.trail(x)[-1] == ("contribute", "hualong1", "dispatched")
    assert c.run(c.orders.order(x))[0].state.value == "dispatched"   # the 主办's order, unchanged

    browser.find_element(by.ID, "logout").click()
    wait.until(lambda d: d.find_element(by.ID, "login-error").text == "已退出")
    _login(browser, c, "renshe1")
    wait.until(lambda d: _text(d, f'tr[data-order="{x}"] .party') == "主办")
    assert _listed(browser) == {x, only} and browser.find_element(by.ID, "whoami").text == "renshe1（人社局）"
    browser.find_element(by.CSS_SELECTOR, f'tr.order[data-order="{x}"]').click()
    wait.until(lambda d: _text(d, '#trail tr[data-action="contribute"] td.fields') == f"协办意见：{HOSTILE_OPINION}")
    assert "hualong1（hualong）" in _text(browser, '#trail tr[data-action="contribute"]')  # type: ignore[operator]
    assert browser.find_element(by.ID, "act-sign").is_displayed()
    assert not browser.find_element(by.ID, "act-contribute").is_displayed()
    assert browser.execute_script("return window.pwned === undefined")   # nothing ran


def _login(browser: Any, c: Controller, name: str) -> None:
    wait, shown, by = _waiter(browser)
    browser.get(f"{c.url}/portal")
    shown("#login-name").send_keys(name)
    browser.find_element(by.ID, "login-password").send_keys(PASSWORDS[name])
    browser.find_element(by.ID, "login-submit").click()
    wait.until(lambda d: d.find_element(by.ID, "portal").is_displayed())


def _requests(browser: Any, part: str) -> int:
    """How many requests the page made to a URL holding ``part`` (the browser's resource timing)."""
    return int(browser.execute_script(
        "return performance.getEntriesByType('resource').filter(e => e.name.includes(arguments[0])).length", part))


def _listed(browser: Any) -> set[str]:
    """The orders in the list, read in one go (the list is re-rendered as a whole)."""
    return set(browser.execute_script("return [...document.querySelectorAll('tr.order')].map(r => r.dataset.order)"))


def _text(browser: Any, css: str) -> str | None:
    return browser.execute_script("const n = document.querySelector(arguments[0]); return n && n.innerText", css)


def _unit() -> Any:
    from hotline.work_orders.transitions import Actor
    return Actor("renshe1", "unit", "renshe")


def _unreachable_probe(c: Controller, unit: str, at: dt.datetime) -> int:
    """A duty-phone probe of ``unit`` drawn at ``at`` whose 3 tries failed: one 不通 event."""
    from hotline.duty_probes import model
    from hotline.duty_probes.schedule import Phone, Planned

    probes = c.duty_probes.probes
    made = probes.create(Planned(unit, "office", at.date(), 0, Phone("13900007001", "f"), at), number="13900007001",
                         skip_reason=None, max_attempts=3, now=at)
    assert made is not None
    for n in (1, 2, 3):
        t = at + dt.timedelta(minutes=5 * n)
        probes.apply(made.id, lambda p, t=t: model.dial(p, t))
        probes.apply(made.id, lambda p, t=t, n=n: model.finish(p, model.TryResult(f"1796.{made.id}{n}", n, "no_answer"),
                                                              t, dt.timedelta(minutes=5)))
    return made.id


def test_a_unit_sees_its_months_duty_phone_tests(controller: Controller, browser: Any) -> None:
    """The portal's 值班电话拨测 section: this month's counts and 不通 events of the unit (not another
    unit's), and another month on request."""
    c = controller
    now = dt.datetime.now(TZ)   # the page opens on the browser's current month (site time)
    mine = _unreachable_probe(c, "renshe", now.replace(day=1, hour=2, minute=0, second=0, microsecond=0))
    _unreachable_probe(c, "zhujian", now.replace(day=1, hour=3, minute=0, second=0, microsecond=0))
    wait, shown, by = _waiter(browser)
    browser.get(f"{c.url}/portal")
    shown("#login-name").send_keys("renshe1")
    browser.find_element(by.ID, "login-password").send_keys(PASSWORDS["renshe1"])
    browser.find_element(by.ID, "login-submit").click()
    wait.until(lambda d: "不通 1 次" in d.find_element(by.ID, "dp-summary").text)
    assert browser.find_element(by.ID, "dp-summary").text == \
        f"{now:%Y-%m}：拨测 1 次（共拨打 3 次），接通 0 次，不通 1 次"
    [row] = browser.find_elements(by.CSS_SELECTOR, "#dp-events tbody tr")
    assert row.get_attribute("data-probe") == str(mine)
    cells = [td.text for td in row.find_elements(by.TAG_NAME, "td")]
    assert cells[1:] == ["139****7001", "3"] and cells[0].endswith("02:15")   # the last failure, site time
    assert not browser.find_element(by.ID, "dp-none").is_displayed()
    browser.execute_script("document.getElementById('dp-month').value = '2026-01'")
    browser.find_element(by.ID, "dp-refresh").click()
    wait.until(lambda d: d.find_element(by.ID, "dp-summary").text.startswith("2026-01："))
    assert "不通 0 次" in browser.find_element(by.ID, "dp-summary").text
    assert browser.find_element(by.ID, "dp-none").is_displayed()
