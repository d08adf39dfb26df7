"""The 回访 service on a real store (SQLite and PostgreSQL) with a fake AMI port and an injected
clock: tasks from verified orders (and the skips), the cap and quiet hours, retries at the spacing,
giving up, ratings applied to the order (不满意 reopens it), refused numbers audited."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from hotline.ami.port import AmiPort
from hotline.audit.services import AuditService
from hotline.config.site import SiteConfig
from hotline.exceptions import HotlineError, StoreError
from hotline.records.call import CallRecord, Outcome
from hotline.revisits.errors import NumberNotAllowed, RevisitClaimed, RevisitClosed
from hotline.revisits.model import Status
from hotline.revisits.services import RevisitService
from hotline.spine import marks
from hotline.store import Store
from hotline.work_orders.lifecycle import Urgency
from hotline.work_orders.services import WorkOrderService
from hotline.work_orders.transitions import Actor
from tests.unit.conftest import MakeCall

TZ = dt.timezone(dt.timedelta(hours=8))
SEAT = Actor("seat1001", "seat")
UNIT = Actor("renshe1", "unit", "renshe")


def site(**revisits: Any) -> SiteConfig:
    return SiteConfig.model_validate({
        "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
        "orders": {"units": [{"id": "renshe", "name": "市人社局", "leader": {"name": "王", "phone": "13800000001"}}]},
        "revisits": {"enabled": True, "area_code": "0393", "max_concurrent": 2, "tries": 3, "spacing_minutes": 30,
                     **revisits}})


class Clock:
    def __init__(self) -> None:
        self.at = dt.datetime(2026, 12, 1, 9, 0, tzinfo=TZ)

    def __call__(self) -> dt.datetime:
        return self.at


class Ami:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self.fail = False
        self.live: list[str] = []   # accountcodes of live channels (CoreShowChannels)

    async def send(self, action: dict[str, str], *, timeout: float, as_list: bool | None = None) -> Any:
        if self.fail:
            raise ConnectionError("AMI is not connected")
        if action["Action"] == "CoreShowChannels":
            return [{"Response": "Success"}, *({"Event": "CoreShowChannel", "AccountCode": a} for a in self.live),
                    {"Event": "CoreShowChannelsComplete"}]
        self.sent.append(action)
        return {"Response": "Success", "Message": "Originate successfully queued"}


class Audits:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add_audit(self, **row: Any) -> int:
        self.rows.append(row)
        return len(self.rows)

    def list_audit(self, **_: Any) -> list[dict[str, Any]]:
        return self.rows


@dataclass
class Env:
    store: Store
    orders: WorkOrderService
    service: RevisitService
    clock: Clock
    ami: Ami
    audits: Audits
    make_call: MakeCall

    async def verified_order(self, caller: str = "13800138000", *, category: str = "help", n: int = 1) -> str:
        call_id = f"1700000000.{n}"
        self.store.upsert_call(self.make_call(call_id, caller_number=caller))
        oid = str(self.store.create_work_order(call_ids=[call_id], title="欠薪", description="工资拖欠",
                                               category=category, created_by="1001")["id"])
        await self.orders.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT)
        await self.orders.act(oid, "dispatch", SEAT, {"unit": "renshe"})
        await self.orders.act(oid, "sign", UNIT, {})
        await self.orders.act(oid, "reply", UNIT, {"result": "已发放"})
        await self.orders.act(oid, "verify", SEAT, {})
        return oid

    def record(self, action: dict[str, str], result: str, *, keys: tuple[str, ...] = (), rating: str | None = None,
               call_id: str = "1796000000.9") -> CallRecord:
        tried = marks.revisit_of(action["Account"])
        assert tried is not None
        info: dict[str, Any] = {"task": tried.task, "try": tried.attempt, "result": result, "keys": list(keys)}
        if rating:
            info["rating"] = rating
        return CallRecord(call_id=call_id, dialled_number=tried.number, caller_number=tried.number,
                          arrived_at=self.clock.at.astimezone(dt.UTC),
                          outcome=Outcome.answered if rating or result in ("to_seat", "no_rating") else Outcome.failed,
                          extra={"direction": "revisit", "revisit": info})

    async def deliver(self, record: CallRecord) -> None:
        """As the controller hands a record over (maybe from another thread), then wait for it."""
        self.service.on_record(record)
        await asyncio.sleep(0)          # the loop runs the scheduled hand-over
        await self.service.settle()


def make_env(store: Store, make_call: MakeCall, **revisits: Any) -> Env:
    clock, ami, audits = Clock(), Ami(), Audits()
    cfg = site(**revisits)
    orders = WorkOrderService(store, orders=cfg.orders, now=clock)
    service = RevisitService(cfg, store, AmiPort(ami.send), orders, AuditService(audits), now=clock)
    return Env(store, orders, service, clock, ami, audits, make_call)


@pytest.fixture
def env(store: Store, make_call: MakeCall) -> Env:
    return make_env(store, make_call)


async def test_a_verified_order_is_called_and_3_reopens_it(env: Env) -> None:
    env.service.start()
    oid = await env.verified_order()
    placed = await env.service.tick()
    assert [t.work_order_id for t in placed] == [oid]
    action = env.ami.sent[0]
    assert action["Channel"] == "PJSIP/13800138000@trunk-carrier" and action["Context"] == "hotline-revisit"
    assert "HOTLINE_RV_ORDER=" + oid in action["Variable"]
    await env.deliver(env.record(action, "rated", keys=("3",), rating="unsatisfied", call_id="1796000000.9"))
    task = (await env.service.list(None, oid, 10))[0]
    assert (task.status, task.rating, task.attempts) == (Status.rated, "unsatisfied", 1)
    order, _ = await env.orders.order(oid)
    assert (order.state.value, order.redo_count) == ("signed", 1), "不满意 reopens it (重办)"
    trail = await env.orders.trail(oid)
    assert trail[-1]["action"] == "reopen" and trail[-1]["actor"] == "revisit"
    assert trail[-1]["fields"]["revisit"]["call_id"] == "1796000000.9", "the call's record linked"
    assert await env.service.tick() == [], "the task is done: no second call"


async def test_a_replayed_record_changes_nothing(env: Env) -> None:
    env.service.start()
    oid = await env.verified_order()
    await env.service.tick()
    record = env.record(env.ami.sent[0], "rated", keys=("1",), rating="satisfied")
    await env.deliver(record)
    await env.deliver(record)
    assert [e["action"] for e in await env.orders.trail(oid)].count("evaluate") == 1


async def test_the_cap_and_the_quiet_hours(env: Env) -> None:
    env.service.start()
    for n in range(1, 5):
        await env.verified_order(f"1380013800{n}", n=n)
    env.clock.at = dt.datetime(2026, 12, 1, 20, 31, tzinfo=TZ)
    assert await env.service.tick() == [] and env.ami.sent == [], "outside the hours: waits, never dials"
    env.clock.at = dt.datetime(2026, 12, 2, 8, 30, tzinfo=TZ)
    assert len(await env.service.tick()) == 2
    assert len(await env.service.tick()) == 0, "never more than max_concurrent at once"
    await env.deliver(env.record(env.ami.sent[0], "no_answer", call_id="1796000000.1"))
    assert len(await env.service.tick()) == 1, "a line freed: the next task"
    assert len(env.ami.sent) == 3


async def test_retried_at_the_spacing_then_given_up(env: Env) -> None:
    env.service.start()
    oid = await env.verified_order()
    for attempt, result in enumerate(("no_answer", "busy", "failed"), start=1):
        assert len(await env.service.tick()) == 1
        await env.deliver(env.record(env.ami.sent[-1], result, call_id=f"1796000000.{attempt}"))
        env.clock.at += dt.timedelta(minutes=29)
        assert await env.service.tick() == [], "not before the spacing"
        env.clock.at += dt.timedelta(minutes=1)
    task = (await env.service.list(None, oid, 10))[0]
    assert (task.status, task.attempts) == (Status.failed, 3)
    assert [t["result"] for t in task.tries] == ["no_answer", "busy", "failed"]
    assert [a["Account"].split("-")[2] for a in env.ami.sent] == ["1", "2", "3"]
    assert await env.service.tick() == []


async def test_skips(store: Store, make_call: MakeCall) -> None:
    env = make_env(store, make_call)
    env.service.start()
    confidential = await env.verified_order(category="complaint", n=1)
    premium = await env.verified_order("16812345", n=2)
    anonymous = await env.verified_order("anonymous", n=3)
    await env.service.refuse("13900139000", user="boss", role="supervisor", reason="不愿接受回访")
    refused = await env.verified_order("+8613900139000", n=4)
    assert await env.service.tick() == []
    reasons = {t.work_order_id: t.skip_reason for t in await env.service.list(None, None, 10)}
    assert reasons == {confidential: "confidential", premium: "number_not_allowed", anonymous: "no_number",
                       refused: "refused"}
    assert [r["action"] for r in env.audits.rows] == ["revisits.number-refused"], "the rule's refusal audited"
    assert env.audits.rows[0]["detail"] == {"number": "168*2345", "reason": "premium"}


async def test_seat_gives_another_number_or_rates_by_hand(env: Env) -> None:
    env.service.start()
    oid = await env.verified_order("anonymous")
    task = (await env.service.list(None, oid, 10))[0] if await env.service.seed() else None
    assert task is not None and task.skip_reason == "no_number"
    with pytest.raises(NumberNotAllowed) as refused:
        await env.service.renumber(task.id, "+14155550100", SEAT)
    assert refused.value.error_id == "number-not-allowed" and refused.value.details["reason"] == "international"
    assert env.audits.rows[-1]["user"] == "seat1001"
    task = await env.service.renumber(task.id, "0393-8123456", SEAT)
    assert (task.status, task.number) == (Status.pending, "8123456")
    task = await env.service.rate(task.id, "satisfied", SEAT)
    assert task.status is Status.rated and task.seat == "seat1001"
    order, _ = await env.orders.order(oid)
    assert (order.state.value, order.rating.value if order.rating else None) == ("closed", "satisfied")
    with pytest.raises(RevisitClosed):
        await env.service.rate(task.id, "satisfied", SEAT)


async def test_an_order_evaluated_by_hand_supersedes_its_task(env: Env) -> None:
    env.service.start()
    oid = await env.verified_order()
    await env.service.seed()
    await env.orders.act(oid, "evaluate", SEAT, {"rating": "satisfied"})
    assert await env.service.tick() == [] and env.ami.sent == []
    assert (await env.service.list(None, oid, 10))[0].status is Status.superseded


async def test_disabled_makes_tasks_but_dials_none(store: Store, make_call: MakeCall) -> None:
    env = make_env(store, make_call, enabled=False)
    env.service.start()
    await env.verified_order()
    assert await env.service.tick() == [] and env.ami.sent == []
    assert (await env.service.list("pending", None, 10))[0].number == "13800138000"


async def test_asterisk_refusing_the_originate_is_a_failed_try(env: Env) -> None:
    env.service.start()
    oid = await env.verified_order()
    env.ami.fail = True
    await env.service.tick()
    task = (await env.service.list(None, oid, 10))[0]
    assert (task.status, task.attempts, task.last_result) == (Status.pending, 1, "failed")


async def test_a_record_is_taken_after_a_database_error(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """The try's record is never dropped: its effect is retried until the database answers (else
    the try would count as lost and the caller be called again)."""
    env.service.start()
    oid = await env.verified_order()
    await env.service.tick()
    real_apply, real_act, failures = env.service.tasks.apply, env.orders.act, {"apply": 1, "act": 1}
    monkeypatch.setattr(env.service, "RETRY_FIRST_S", 0.01)

    def apply(*args: Any) -> Any:
        if failures["apply"]:
            failures["apply"] -= 1
            raise StoreError("database down")
        return real_apply(*args)

    async def act(*args: Any) -> Any:
        if failures["act"]:
            failures["act"] -= 1
            raise StoreError("database down")
        return await real_act(*args)
    monkeypatch.setattr(env.service.tasks, "apply", apply)
    monkeypatch.setattr(env.orders, "act", act)
    await env.deliver(env.record(env.ami.sent[0], "rated", keys=("2",), rating="basically_satisfied"))
    assert failures == {"apply": 0, "act": 0}
    task = (await env.service.list(None, oid, 10))[0]
    assert (task.status, task.rating) == (Status.rated, "basically_satisfied")
    order, _ = await env.orders.order(oid)
    assert (order.state.value, order.rating.value if order.rating else None) == ("closed", "basically_satisfied")


async def test_a_try_is_lost_only_when_asterisk_has_no_channel_of_it(env: Env) -> None:
    env.service.start()
    oid = await env.verified_order()
    await env.service.tick()
    account = env.ami.sent[0]["Account"]
    env.clock.at += dt.timedelta(minutes=20)          # ring time + LOST_AFTER passed
    env.ami.live = [account]                           # still talking (to a seat)
    await env.service.tick()
    assert (await env.service.list(None, oid, 10))[0].status is Status.dialling
    env.ami.fail = True                                # Asterisk cannot be asked: nothing declared lost
    await env.service.tick()
    assert (await env.service.list(None, oid, 10))[0].status is Status.dialling
    env.ami.fail, env.ami.live = False, []
    await env.service.tick()
    task = (await env.service.list(None, oid, 10))[0]
    assert (task.status, task.last_result, task.attempts) == (Status.pending, "lost", 1)


async def test_a_seat_rates_while_the_caller_is_still_on_the_line(env: Env) -> None:
    env.service.start()
    oid = await env.verified_order()
    await env.service.tick()
    task = (await env.service.list(None, oid, 10))[0]
    assert task.status is Status.dialling
    await env.service.rate(task.id, "unsatisfied", SEAT)
    await env.deliver(env.record(env.ami.sent[0], "to_seat", keys=("0",), call_id="1796000000.7"))
    task = (await env.service.list(None, oid, 10))[0]
    assert (task.status, task.rating, [t["call_id"] for t in task.tries]) == (Status.rated, "unsatisfied",
                                                                             ["1796000000.7"])
    actions = [e["action"] for e in await env.orders.trail(oid)]
    assert actions[-1] == "reopen" and actions.count("reopen") == 1, "evaluated once, by the seat"


async def test_no_revisit_at_filing_skips_the_task(env: Env) -> None:
    """不需回访 recorded at filing: the task is made skipped (reason no_revisit), nothing dialled."""
    env.service.start()
    env.store.upsert_call(env.make_call("1700000000.9", caller_number="13800138009"))
    filed = env.store.create_work_order(call_ids=["1700000000.9"], title="欠薪", description="工资拖欠",
                                        category="help", created_by="1001", no_revisit=True)
    assert filed["no_revisit"] is True
    oid = str(filed["id"])
    await env.orders.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT)
    for action, actor, fields in (("dispatch", SEAT, {"unit": "renshe"}), ("sign", UNIT, {}),
                                  ("reply", UNIT, {"result": "已发放"}), ("verify", SEAT, {})):
        await env.orders.act(oid, action, actor, fields)
    assert await env.service.tick() == [] and env.ami.sent == []
    task = (await env.service.list(None, oid, 10))[0]
    assert (task.status, task.skip_reason) == (Status.skipped, "no_revisit")


async def test_no_revisit_recorded_later_skips_a_pending_task(env: Env) -> None:
    env.service.start()
    oid = await env.verified_order()
    await env.service.seed()
    assert (await env.orders.update(oid, {"no_revisit": True}))["no_revisit"] is True
    assert await env.service.tick() == [] and env.ami.sent == [], "never dialled"
    task = (await env.service.list(None, oid, 10))[0]
    assert (task.status, task.skip_reason) == (Status.skipped, "no_revisit")


async def test_a_claimed_task_is_left_alone_by_the_dialler_until_released(env: Env) -> None:
    env.service.start()
    oid = await env.verified_order()
    [task] = await env.service.seed()
    claimed = await env.service.claim(task.id, SEAT)
    assert (claimed.status, claimed.seat) == (Status.claimed, "seat1001")
    assert await env.service.tick() == [] and env.ami.sent == [], "claimed: not dialled"
    with pytest.raises(RevisitClosed):
        await env.service.claim(task.id, Actor("seat1002", "seat"))
    with pytest.raises(RevisitClaimed) as other:
        await env.service.release(task.id, Actor("seat1002", "seat"))
    assert other.value.error_id == "revisit-claimed"
    with pytest.raises(RevisitClaimed):
        await env.service.rate(task.id, "satisfied", Actor("seat1002", "seat"))
    released = await env.service.release(task.id, SEAT)
    assert (released.status, released.seat) == (Status.pending, None)
    assert [t.work_order_id for t in await env.service.tick()] == [oid], "released: dialled again"


async def test_a_claimed_task_rated_by_its_seat(env: Env) -> None:
    env.service.start()
    oid = await env.verified_order()
    [task] = await env.service.seed()
    await env.service.claim(task.id, SEAT)
    rated = await env.service.rate(task.id, "basically_satisfied", SEAT)
    assert (rated.status, rated.seat) == (Status.rated, "seat1001")
    order, _ = await env.orders.order(oid)
    assert order.state.value == "closed"


async def test_a_rating_by_hand_and_the_evaluate_commit_together(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """The order's evaluate refused (the database fails in its step, or the order moved): the
    task is not rated either; retried, both commit."""
    env.service.start()
    oid = await env.verified_order()
    [task] = await env.service.seed()
    real = env.orders.lifecycle.act_in

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise StoreError("database down")
    monkeypatch.setattr(env.orders.lifecycle, "act_in", failing)
    with pytest.raises(StoreError):
        await env.service.rate(task.id, "satisfied", SEAT)
    assert (await env.service.get(task.id)).status is Status.pending, "the task's rating rolled back"
    monkeypatch.setattr(env.orders.lifecycle, "act_in", real)
    await env.orders.act(oid, "evaluate", Actor("boss", "supervisor"), {"rating": "satisfied"})
    with pytest.raises(HotlineError):
        await env.service.rate(task.id, "satisfied", SEAT)
    assert (await env.service.get(task.id)).status is Status.pending, "the order moved: nothing rated"


async def test_outside_the_configured_hours_no_originate_is_ever_sent(store: Store, make_call: MakeCall) -> None:
    """A campaign whose window is later in the day: ticks before it send no Originate (the due
    task waits); the first tick inside it dials."""
    env = make_env(store, make_call, hours={"start": "14:00", "end": "16:00"})
    env.service.start()
    oid = await env.verified_order()
    for minutes in (0, 90, 299):
        env.clock.at = dt.datetime(2026, 12, 1, 9, 0, tzinfo=TZ) + dt.timedelta(minutes=minutes)
        assert await env.service.tick() == []
    assert env.ami.sent == [], "no Originate outside the hours"
    assert (await env.service.list(None, oid, 10))[0].status is Status.pending
    env.clock.at = dt.datetime(2026, 12, 1, 14, 0, tzinfo=TZ)
    assert [t.work_order_id for t in await env.service.tick()] == [oid]
    assert [a["Action"] for a in env.ami.sent] == ["Originate"]
