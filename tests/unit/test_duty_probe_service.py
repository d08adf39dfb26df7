"""The duty-phone test service on a real store (SQLite and PostgreSQL) with a fake AMI port, an
injected clock and a seeded random generator: probes planned in the windows, 3 failed tries at the
spacing are one 不通 event, an answered probe ends it, a number in a live call postpones, a refused
duty phone is skipped and audited, the month's counts for the unit score."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

import pytest

from hotline.ami.port import AmiPort
from hotline.audit.services import AuditService
from hotline.config.site import SiteConfig
from hotline.duty_probes.model import Status
from hotline.duty_probes.services import DutyProbeService
from hotline.records.call import CallRecord, Outcome
from hotline.spine import marks
from hotline.store import Store

TZ = dt.timezone(dt.timedelta(hours=8))
MORNING = dt.datetime(2026, 11, 3, 8, 0, tzinfo=TZ)


def site(enabled: bool = True, **units: Any) -> SiteConfig:
    return SiteConfig.model_validate({
        "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
        "departments": [{"id": "rs", "name": "人社局", "duty_phone": "03934567891"}],
        "orders": {"units": [
            {"id": "renshe", "name": "市人社局", "department": "rs", "leader": {"name": "王", "phone": "13800000001"}},
            {"id": "zhujian", "name": "市住建局", "leader": {"name": "李", "phone": "13800000002"},
             "duty_phones": units.get("zhujian", ["13900000002"])},
            {"id": "nophone", "name": "市档案馆", "leader": {"name": "赵", "phone": "13800000003"}}]},
        "revisits": {"area_code": "0393"},
        "duty_probes": {"enabled": enabled, "windows": [{"name": "office", "start": "09:00", "end": "17:00"}],
                        "tries": 3, "spacing_minutes": 10, "ring_seconds": 20, "max_concurrent": 5}})


class Clock:
    def __init__(self) -> None:
        self.at = MORNING

    def __call__(self) -> dt.datetime:
        return self.at


class Ami:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self.fail = False
        self.live: list[dict[str, str]] = []   # CoreShowChannel fields of live channels

    async def send(self, action: dict[str, str], *, timeout: float, as_list: bool | None = None) -> Any:
        if self.fail:
            raise ConnectionError("AMI is not connected")
        if action["Action"] == "CoreShowChannels":
            return [{"Response": "Success"}, *({"Event": "CoreShowChannel", **c} for c in self.live),
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
    service: DutyProbeService
    clock: Clock
    ami: Ami
    audits: Audits

    def record(self, action: dict[str, str], result: str, call_id: str) -> CallRecord:
        tried = marks.duty_probe_of(action["Account"])
        assert tried is not None
        return CallRecord(call_id=call_id, dialled_number=tried.number, caller_number=tried.number,
                          arrived_at=self.clock.at.astimezone(dt.UTC),
                          outcome=Outcome.answered if result == "answered" else Outcome.failed,
                          extra={"direction": "duty_probe",
                                 "duty_probe": {"probe": tried.probe, "try": tried.attempt, "result": result}})

    async def deliver(self, record: CallRecord) -> None:
        self.service.on_record(record)
        await asyncio.sleep(0)
        await self.service.settle()

    async def due(self, unit: str) -> dt.datetime:
        """The clock moved to the unit's drawn time; that time."""
        probes = [p for p in await asyncio.to_thread(self.service.probes.open_probes) if p.unit_id == unit]
        self.clock.at = probes[0].due_at
        return probes[0].due_at

    def sent_to(self, unit_number: str) -> list[dict[str, str]]:
        return [a for a in self.ami.sent if a["Channel"].startswith(f"PJSIP/{unit_number}@")]


def make_env(store: Store, cfg: SiteConfig | None = None) -> Env:
    clock, ami, audits = Clock(), Ami(), Audits()
    service = DutyProbeService(cfg or site(), store, AmiPort(ami.send), AuditService(audits), now=clock,
                               rng=random.Random(12345))
    return Env(service, clock, ami, audits)


@pytest.fixture
def env(store: Store) -> Env:
    e = make_env(store)
    return e


async def test_three_unanswered_tries_at_the_spacing_are_one_event(env: Env) -> None:
    env.service.start()
    assert await env.service.tick() == [], "before the window: planned, nothing due"
    planned = await asyncio.to_thread(env.service.probes.open_probes)
    assert sorted(p.unit_id for p in planned) == ["renshe", "zhujian"], "a unit without a duty phone: none"
    due = await env.due("renshe")
    assert dt.datetime(2026, 11, 3, 9, tzinfo=TZ) <= due < dt.datetime(2026, 11, 3, 17, tzinfo=TZ)
    env.clock.at = due - dt.timedelta(seconds=1)
    assert [p.unit_id for p in await env.service.tick() if p.unit_id == "renshe"] == [], "not before its time"
    env.clock.at = due
    for n, result in enumerate(("no_answer", "busy", "failed"), start=1):
        placed = [p for p in await env.service.tick() if p.unit_id == "renshe"]
        assert len(placed) == 1 and placed[0].attempts == n
        action = env.sent_to("4567891")[-1]
        assert action["Context"] == "hotline-duty-probe" and action["Timeout"] == "20000"
        assert action["Account"] == f"dp-{placed[0].id}-{n}-4567891"
        await env.deliver(env.record(action, result, f"1796000000.{n}"))
        env.clock.at += dt.timedelta(minutes=9)
        assert [p for p in await env.service.tick() if p.unit_id == "renshe"] == [], "not before the spacing"
        env.clock.at += dt.timedelta(minutes=1)
    [probe] = [p for p in (await env.service.month(2026, 11, "renshe"))[0]["items"]]
    assert (probe["status"], probe["attempts"]) == ("unreachable", 3)
    assert [t["call_id"] for t in probe["tries"]] == ["1796000000.1", "1796000000.2", "1796000000.3"]
    assert len(env.sent_to("4567891")) == 3, "no fourth try"
    assert await env.service.unreachable_counts(2026, 11) == {"renshe": 1}
    assert await env.service.unreachable_counts(2026, 12) == {}
    summary = (await env.service.month(2026, 11, "renshe"))[0]
    assert (summary["probes"], summary["tries"], summary["answered"], summary["unreachable"]) == (1, 3, 0, 1)
    [event] = summary["events"]
    assert event["at"] == (due + dt.timedelta(minutes=20)).astimezone(TZ).isoformat()
    assert event["tries"][0] == "1796000000.1"


async def test_an_answered_probe_ends_it_and_a_replay_changes_nothing(env: Env) -> None:
    env.service.start()
    await env.service.tick()
    env.clock.at = await env.due("zhujian")
    [placed] = [p for p in await env.service.tick() if p.unit_id == "zhujian"]
    action = env.sent_to("13900000002")[0]
    assert action["Channel"] == "PJSIP/13900000002@trunk-carrier" and "HOTLINE_DP_TRY=1" in action["Variable"]
    await env.deliver(env.record(action, "no_answer", "1796000001.1"))
    env.clock.at += dt.timedelta(minutes=10)
    await env.service.tick()
    second = env.sent_to("13900000002")[1]
    await env.deliver(env.record(second, "answered", "1796000001.2"))
    await env.deliver(env.record(second, "answered", "1796000001.2"))   # replayed (the reconciler)
    await env.deliver(env.record(action, "no_answer", "1796000001.1"))
    got = await asyncio.to_thread(env.service.probes.get, placed.id)
    assert (got.status, got.attempts, [t["result"] for t in got.tries]) == (Status.answered, 2,
                                                                            ["no_answer", "answered"])
    assert await env.service.unreachable_counts(2026, 11) == {}


async def test_a_number_in_a_live_call_with_12345_is_postponed(env: Env) -> None:
    env.service.start()
    await env.service.tick()
    due = await env.due("zhujian")
    env.ami.live = [{"Channel": "PJSIP/trunk-carrier-00000001", "CallerIDNum": "+8613900000002", "AccountCode": "",
                     "ConnectedLineNum": "12345", "Exten": "12345"}]
    assert [p for p in await env.service.tick() if p.unit_id == "zhujian"] == []
    assert env.sent_to("13900000002") == [], "never rings a number in a call with 12345"
    got = [p for p in await asyncio.to_thread(env.service.probes.open_probes) if p.unit_id == "zhujian"][0]
    assert (got.postponed, got.next_at, got.attempts) == (1, due + dt.timedelta(minutes=5), 0)
    env.ami.live = []
    env.clock.at = due + dt.timedelta(minutes=5)
    assert [p.unit_id for p in await env.service.tick() if p.unit_id == "zhujian"] == ["zhujian"]


async def test_asterisk_not_reachable_dials_nothing_and_counts_nothing(env: Env) -> None:
    env.service.start()
    await env.service.tick()
    env.clock.at = await env.due("zhujian")
    env.ami.fail = True
    assert await env.service.tick() == []
    got = [p for p in await asyncio.to_thread(env.service.probes.open_probes) if p.unit_id == "zhujian"][0]
    assert (got.status, got.attempts) == (Status.pending, 0)


async def test_a_lost_try_counts_as_a_failure(env: Env) -> None:
    env.service.start()
    await env.service.tick()
    env.clock.at = await env.due("zhujian")
    [placed] = [p for p in await env.service.tick() if p.unit_id == "zhujian"]
    env.clock.at += dt.timedelta(minutes=3, seconds=21)
    await env.service.tick()
    got = await asyncio.to_thread(env.service.probes.get, placed.id)
    assert (got.status, got.last_result, got.attempts) == (Status.pending, "lost", 1)


async def test_a_refused_duty_phone_is_skipped_and_audited(store: Store) -> None:
    env = make_env(store, site(zhujian=["075512345678"]))   # another area: long distance
    env.service.start()
    await env.service.tick()
    await env.service.tick()
    summary = {u["unit"]: u for u in await env.service.month(2026, 11, None)}
    [item] = summary["zhujian"]["items"]
    assert (item["status"], item["skip_reason"]) == ("skipped", "number_not_allowed")
    [refused] = summary["zhujian"]["refused_phones"]
    assert refused["error_id"] == "duty-phone-not-allowed"
    assert refused["details"]["field"] == "orders.units.1.duty_phones.0"
    assert refused["details"]["reason"] == "long_distance"
    [audit] = [r for r in env.audits.rows if r["action"] == "duty-probes.number-refused"]
    assert audit["target"] == "unit:zhujian" and audit["detail"]["error_id"] == "duty-phone-not-allowed"
    assert "12345678" not in str(audit["detail"]), "the number is masked"


async def test_disabled_plans_and_dials_nothing(store: Store) -> None:
    env = make_env(store, site(enabled=False))
    env.clock.at = dt.datetime(2026, 11, 3, 16, 59, tzinfo=TZ)
    assert await env.service.tick() == [] and env.ami.sent == []
    assert await asyncio.to_thread(env.service.probes.open_probes) == []


async def test_planning_is_idempotent_and_the_times_never_move(env: Env) -> None:
    await env.service.plan()
    first = {p.unit_id: p.due_at for p in await asyncio.to_thread(env.service.probes.open_probes)}
    assert await env.service.plan() == []
    again = {p.unit_id: p.due_at for p in await asyncio.to_thread(env.service.probes.open_probes)}
    assert first == again and len(first) == 2


async def test_the_unit_score_reads_the_dial_tests_of_the_composed_app(store: Store) -> None:
    """The composition root hands the dial tests to the unit score: a 不通 event costs the point."""
    from tests.unit.apikit import api_services

    store.upgrade()
    services = api_services(store, site=site())

    async def counts(year: int, month: int) -> dict[str, int]:
        return {"renshe": 2} if (year, month) == (2026, 11) else {}

    services.duty_probes.unreachable_counts = counts  # type: ignore[method-assign]
    score = await services.unit_scores.unit_score("renshe", services.unit_scores.month("2026-11"))
    [phone] = [r for r in score["rules"] if r["id"] == "phone"]
    assert (phone["points"], phone["status"]) == (8.0, "measured"), phone
