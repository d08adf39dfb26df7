"""A month of orders for the unit-score tests, driven through the real work-order service on an
injected clock (as ``test_order_service`` does): three units, November 2026 (Asia/Shanghai), every
rule's input present. The expected points are computed by hand in :data:`EXPECTED`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from hotline.config.site import SiteConfig
from hotline.records.call import CallRecord, Outcome
from hotline.store import Store
from hotline.unit_scores.services import UnitScoreService
from hotline.work_orders.lifecycle import RETURN_FIELDS, Urgency
from hotline.work_orders.services import WorkOrderService
from hotline.work_orders.transitions import Actor

SH = ZoneInfo("Asia/Shanghai")
SEAT = Actor("seat1001", "seat")
SUP = Actor("boss", "supervisor")
UNITS = {"renshe": "市人社局", "zhujian": "市住建局", "jiaotong": "市交通局"}


def site(**unit_scores: Any) -> SiteConfig:
    return SiteConfig.model_validate({
        "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
        "orders": {"units": [{"id": u, "name": n, "leader": {"name": "王", "phone": "13800000001"}}
                             for u, n in UNITS.items()]},
        "unit_scores": {"ranking": {"bottom": 1, "months": 3}, **unit_scores}})


class Clock:
    def __init__(self) -> None:
        self.at = dt.datetime(2026, 10, 28, 9, tzinfo=SH)

    def __call__(self) -> dt.datetime:
        return self.at


class Probes:
    """The dial tests' side (hotline/duty_probes): 不通 events per unit, the same every month."""

    def __init__(self) -> None:
        self.asked: list[tuple[int, int]] = []

    async def unreachable_counts(self, year: int, month: int) -> dict[str, int]:
        self.asked.append((year, month))
        return {"renshe": 2, "zhujian": 12}


@dataclass
class Month:
    store: Store
    clock: Clock
    orders: WorkOrderService
    scores: UnitScoreService
    ids: dict[str, str]


def unit(name: str) -> Actor:
    return Actor(f"{name}1", "unit", name)


async def build(store: Store, *, probes: Probes | None = None, **unit_scores: Any) -> Month:
    s = site(**unit_scores)
    clock = Clock()
    orders = WorkOrderService(store, orders=s.orders, timezone="Asia/Shanghai", now=clock)
    scores = UnitScoreService(s, store, orders, probes=probes if probes is not None else Probes())
    m = Month(store, clock, orders, scores, {})

    async def at(day: tuple[int, int], hour: int, name: str, action: str, actor: Actor, **fields: Any) -> None:
        clock.at = dt.datetime(2026, day[0], day[1], hour, tzinfo=SH)
        await orders.act(m.ids[name], action, actor, fields)

    async def new(name: str, day: tuple[int, int], to: str) -> None:
        clock.at = dt.datetime(2026, day[0], day[1], 9, tzinfo=SH)
        call = f"17{len(m.ids):08d}.1"
        store.upsert_call(CallRecord(call_id=call, dialled_number="12345", caller_number="13800138000",
                                     arrived_at=clock.at, outcome=Outcome.answered))
        oid = str(store.create_work_order(call_ids=[call], title=name, description="d", category="help",
                                          created_by="1001")["id"])
        m.ids[name] = oid
        await orders.start(oid, urgency=Urgency.normal, subject=None, area=None, actor=SEAT)
        await at(day, 9, name, "dispatch", SEAT, unit=to)

    async def done(name: str, day: tuple[int, int], who: str, *ratings: str) -> None:
        """Replied, verified and evaluated once per rating on ``day`` (hours 10, 11, ...)."""
        for n, rating in enumerate(ratings):
            await at(day, 10 + 3 * n, name, "reply", unit(who), result="已办理")
            await at(day, 11 + 3 * n, name, "verify", SEAT)
            await at(day, 12 + 3 * n, name, "evaluate", SEAT, rating=rating)

    async def sweep(day: tuple[int, int], hour: int) -> None:
        clock.at = dt.datetime(2026, day[0], day[1], hour, tzinfo=SH)
        await orders.sweep()

    await new("O7", (10, 28), "jiaotong")                      # October's: its deadline falls on Nov 5
    await new("O1", (11, 2), "renshe")
    await at((11, 2), 10, "O1", "sign", unit("renshe"))
    await new("O2", (11, 2), "renshe")
    await at((11, 2), 11, "O2", "sign", unit("renshe"))
    await new("O4", (11, 2), "zhujian")
    await at((11, 3), 9, "O4", "return", unit("zhujian"), **{f: "非本单位职责" for f in RETURN_FIELDS})
    await at((11, 3), 10, "O4", "redispatch", SEAT, unit="jiaotong")
    await new("O3", (11, 3), "renshe")
    await at((11, 3), 10, "O3", "sign", unit("renshe"))
    await at((11, 3), 11, "O7", "sign", unit("jiaotong"))
    await at((11, 3), 12, "O4", "sign", unit("jiaotong"))
    await at((11, 4), 9, "O3", "reply", unit("renshe"), result="已办")
    await at((11, 4), 10, "O3", "send_back", SUP, reason="应办未办：未联系来电人")     # 回访核实 finding
    await done("O1", (11, 4), "renshe", "satisfied")
    await done("O4", (11, 4), "jiaotong", "satisfied")
    await done("O3", (11, 5), "renshe", "basically_satisfied")
    await sweep((11, 5), 9)                                     # O7 overdue (due Nov 5 00:00)
    await done("O7", (11, 6), "jiaotong", "satisfied")
    await sweep((11, 10), 1)                                    # O2 overdue (due Nov 10 00:00)
    await done("O2", (11, 11), "renshe", "unsatisfied", "unsatisfied")      # reopened twice
    await done("O2", (11, 13), "renshe", "unsatisfied", "unsatisfied")      # 4 不满意: 3 count
    await done("O2", (11, 16), "renshe", "satisfied")
    await new("O5", (11, 16), "zhujian")
    await at((11, 16), 10, "O5", "sign", unit("zhujian"))
    await new("O6", (11, 20), "zhujian")
    await at((11, 20), 10, "O6", "sign", unit("zhujian"))
    await at((11, 23), 10, "O6", "reply", unit("zhujian"), result="已办")
    await at((11, 23), 11, "O6", "verify", SEAT)
    await at((11, 24), 9, "O6", "evaluate", SEAT, rating="unsatisfied")
    await sweep((11, 24), 1)                                    # O5 overdue (due Nov 24 00:00)
    clock.at = dt.datetime(2026, 12, 1, 10, tzinfo=SH)
    month = scores.month("2026-11")
    await scores.set_knowledge_base("renshe", month, 18, "新政策更新晚 2 天", "boss")
    await scores.set_knowledge_base("jiaotong", month, 20, "", "boss")
    await scores.exempt("zhujian", month, "on_time", m.ids["O5"], "法规规定办理时限 30 日，已书面说明", "boss")
    await scores.attend("zhujian", dt.date(2026, 11, 12), "absent", "无故未到", "boss")
    await scores.attend("renshe", dt.date(2026, 11, 5), "present", "", "boss")
    await scores.attend("jiaotong", dt.date(2026, 11, 19), "excused", "抗洪", "boss")
    return m


EXPECTED = {   # (knowledge_base, phone, on_time, completion, revisit_check, satisfaction), bonus, rotation, total
    "jiaotong": ((20, 10, 9, 20, 20, 20), 0, 0, 99),
    "renshe": ((18, 8, 9, 20, 19, 17), 5, 0, 96),   # closed 3 vs the average 4/3: 225% > 200%
    "zhujian": ((0, 0, 10, 0, 20, 19), 0, -10, 39),  # 0 closed of 2 kept; O5 exempted; absent once
}
