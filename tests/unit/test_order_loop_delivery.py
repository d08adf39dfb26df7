"""A whole order loop reaches a real order system (SQLite and PostgreSQL: the ``store`` fixture):
every transition's event arrives at a real HTTP receiver that fails now and then, in order, each
once accepted under its own idempotency key, the loop's last event ``closed``."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hotline.config.integration import Integration, Webhook
from hotline.config.site import OrdersSection
from hotline.outbox.services import OutboxService
from hotline.store import Store
from hotline.work_orders.lifecycle import State, Urgency
from hotline.work_orders.services import WorkOrderService
from hotline.work_orders.transitions import Actor
from outboxkit import Clock, Receiver, check_order
from tests.unit.conftest import MakeCall

SECRET = "s3cret-key-1"
TZ = dt.timezone(dt.timedelta(hours=8))
SEAT = Actor("seat1001", "seat")
SUP = Actor("boss", "supervisor")
RENSHE = Actor("renshe1", "unit", "renshe")
ZHUJIAN = Actor("zhujian1", "unit", "zhujian")
RETURN = {"return_reason": "不属本单位职责", "leader_opinion": "同意", "suggestion": "转住建局",
          "contact_phone": "13800000001"}
LOOP: list[tuple[str, Actor, dict[str, Any]]] = [
    ("dispatch", SEAT, {"unit": "renshe"}),
    ("sign", RENSHE, {}),
    ("return", RENSHE, RETURN),
    ("redispatch", SUP, {"unit": "zhujian"}),
    ("sign", ZHUJIAN, {}),
    ("request_extension", ZHUJIAN, {"reason": "需现场勘查", "days": 3}),
    ("approve_extension", SUP, {}),
    ("reply", ZHUJIAN, {"result": "已修复"}),
    ("verify", SEAT, {}),
    ("evaluate", SEAT, {"rating": "unsatisfied"}),     # 不满意: reopened (重办)
    ("reply", ZHUJIAN, {"result": "已彻底修复"}),
    ("verify", SEAT, {}),
    ("evaluate", SEAT, {"rating": "satisfied"}),       # 满意: closed
]
EXPECTED = ["created", "dispatched", "signed", "returned", "dispatched", "signed", "extension_requested",
            "extension_approved", "replied", "verified", "evaluated", "reopened", "replied", "verified",
            "evaluated", "closed"]


class OrderClock:
    def __init__(self) -> None:
        self.at = dt.datetime(2026, 12, 1, 9, tzinfo=TZ)

    def __call__(self) -> dt.datetime:
        self.at += dt.timedelta(minutes=30)   # each step half an hour later
        return self.at


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    calls = {"n": 0}

    def every_third_fails(message: dict[str, Any]) -> int:
        calls["n"] += 1
        return 500 if calls["n"] % 3 == 0 else 200

    r = Receiver(SECRET, every_third_fails)
    await r.start()
    yield r
    await r.stop()


async def test_a_whole_order_loop_reaches_the_order_system_in_order(store: Store, make_call: MakeCall,
                                                                    receiver: Receiver) -> None:
    clock = Clock()
    hook = Webhook(name="gongdan", url=receiver.url, secret=SECRET, timeout_ms=2000)
    outbox = OutboxService(Integration(webhooks=[hook], backoff_base_ms=1000, backoff_cap_ms=60000), "puyang",
                           store, clock=clock, rand=lambda: 0.5)
    service = WorkOrderService(store, orders=OrdersSection(), now=OrderClock(), outbox=outbox)
    store.upsert_call(make_call("1700000000.1"))
    oid = str(store.create_work_order(call_ids=["1700000000.1"], title="路灯不亮", description="小区路灯坏了",
                                      category="help", created_by="1001")["id"])
    await service.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT)
    for action, actor, fields in LOOP:
        await service.act(oid, action, actor, fields)
        await outbox.run_once()          # deliveries interleave with the loop, failures included
    for _ in range(100):
        if outbox.status()["pending_rows"] == 0:
            break
        clock.advance(minutes=2)         # past any backoff: the test clock, no sleeping
        await outbox.run_once()
    await outbox.stop()
    accepted = receiver.accepted()
    assert [r.event_type for r in accepted] == EXPECTED
    assert [r.key for r in accepted] == [f"puyang:{oid}:{seq}" for seq in range(1, len(EXPECTED) + 1)]
    assert len({r.key for r in accepted}) == len(accepted) and all(r.signed for r in receiver.receipts)
    assert any(r.status == 500 for r in receiver.receipts)    # it did fail, and recovered
    check_order(receiver.receipts)
    assert outbox.status()["dead_rows"] == 0
    by_type = {r.event_type: r.payload for r in accepted}
    assert by_type["returned"]["fields"] == RETURN and by_type["returned"]["unit"] == "renshe"
    assert accepted[4].payload["action"] == "redispatch" and accepted[4].payload["order"]["unit"] == "zhujian"
    assert accepted[11].payload["order"]["redo_count"] == 1
    assert by_type["closed"]["order"]["state"] == "closed" and by_type["closed"]["order"]["rating"] == "satisfied"
    order, _ = await service.order(oid)
    assert order.state == State.closed
