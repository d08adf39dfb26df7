"""The knowledge-base service on SQLite and PostgreSQL (the ``store`` fixture): entries and their
versions, the Chinese search (居住证 in 办理居住证需要哪些材料), hostile search strings, the unit
rule, freshness and validity flags, answers linked to orders, and the unit score's 知识库 rule
measured from the entries at a month's end."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hotline.config.site import SiteConfig
from hotline.exceptions import InvalidRequest, NoSuchWorkOrder
from hotline.knowledge.errors import NoSuchEntry, NoSuchUnit, NotYourUnit, VersionConflict
from hotline.knowledge.schemas import EntryBody
from hotline.knowledge.services import KnowledgeService, Who
from hotline.records.call import CallRecord, Outcome
from hotline.store import Store
from hotline.unit_scores.inputs import Month
from hotline.unit_scores.services import UnitScoreService
from hotline.work_orders.services import WorkOrderService

SH = ZoneInfo("Asia/Shanghai")
UNITS = {"gongan": "市公安局", "renshe": "市人社局", "zhujian": "市住建局"}
BOSS = Who("boss", "supervisor")
GONGAN = Who("gongan1", "unit", "gongan")
RENSHE = Who("renshe1", "unit", "renshe")
SEAT = Who("s1001", "seat")

ENTRIES: list[tuple[str, str, dict[str, str]]] = [
    ("gongan", "居住证办理", {"conditions": "在本市居住半年以上，有合法稳定就业、合法稳定住所或连续就读",
                         "materials": "身份证、居住登记凭证、近期一寸照片", "process": "申请、受理、审核、发证",
                         "fees": "首次申领免费", "location": "居住地派出所", "time_limit": "15个工作日",
                         "basis": "《居住证暂行条例》", "notes": "居住证每年签注一次"}),
    ("gongan", "居住证签注", {"materials": "居住证原件", "process": "到派出所签注",
                         "notes": "逾期未签注的居住证暂停使用"}),
    ("gongan", "身份证补领", {"materials": "户口簿、照片", "process": "申请、受理、发证", "fees": "20元"}),
    ("renshe", "社保卡办理", {"materials": "身份证原件、照片", "process": "申请、制卡、领卡", "fees": "免费",
                         "time_limit": "20个工作日", "location": "各社保经办机构"}),
    ("renshe", "失业保险金申领", {"conditions": "非因本人意愿中断就业", "materials": "身份证、解除劳动合同证明"}),
    ("zhujian", "公积金提取", {"materials": "身份证、购房合同", "process": "线上申请或到窗口办理"}),
]


class Clock:
    def __init__(self) -> None:
        self.at = dt.datetime(2026, 6, 1, 9, tzinfo=SH)

    def __call__(self) -> dt.datetime:
        return self.at


def site(fresh_days: int = 180) -> SiteConfig:
    return SiteConfig.model_validate({
        "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
        "orders": {"units": [{"id": u, "name": n, "leader": {"name": "王", "phone": "13800000001"}}
                             for u, n in UNITS.items()]},
        "knowledge": {"fresh_days": fresh_days}})


def body(title: str, unit: str | None = None, **fields: Any) -> EntryBody:
    return EntryBody(unit=unit, title=title, **fields)


async def filled(store: Store, clock: Clock, **kw: Any) -> tuple[KnowledgeService, dict[str, int]]:
    kb = KnowledgeService(site(**kw), store, now=clock)
    ids = {}
    for unit, title, fields in ENTRIES:
        ids[title] = (await kb.create(body(title, unit, **fields), BOSS))["id"]
    return kb, ids


async def test_chinese_full_text_finds_the_entries_of_a_question(store: Store) -> None:
    kb, ids = await filled(store, Clock())
    found = await kb.search("办理居住证需要哪些材料", None, 10)
    titles = [i["title"] for i in found["items"]]
    assert titles[:2] == ["居住证办理", "居住证签注"], titles   # the title weighs more
    assert {"居住", "住证"} <= set(found["terms"])
    assert found["items"][0]["materials"].startswith("身份证") and found["items"][0]["score"] > 0
    assert [i["title"] for i in (await kb.search("居住证", None, 10))["items"]] == ["居住证办理", "居住证签注"]
    assert [i["title"] for i in (await kb.search("社保卡怎么办", None, 10))["items"]][0] == "社保卡办理"
    assert [i["title"] for i in (await kb.search("失业金", None, 10))["items"]] == ["失业保险金申领"]
    only = await kb.search("身份证", "renshe", 10)
    assert {i["unit"] for i in only["items"]} == {"renshe"} and only["items"]
    assert (await kb.search("证", None, 10))["items"], "one character finds its entries"
    assert (await kb.search("火星移民", None, 10))["items"] == []
    assert ids


HOSTILE = ["", " ", "%", "_", "\\", "'", "%_\\'", "' OR 1=1 --", "'; DROP TABLE knowledge_terms; --",
           "\x00", "居住\x00证", "😀" * 50, "\ud800居住证\udfff", "居%证", "居_证", "\u202e居住证", "\ufeff",
           "居住证" * 4000]


@pytest.mark.parametrize("query", HOSTILE, ids=[repr(q[:12]) for q in HOSTILE])
async def test_hostile_search_strings_answer_a_list(store: Store, query: str) -> None:
    kb, _ = await filled(store, Clock())
    found = await kb.search(query, None, 10)
    assert isinstance(found["items"], list)
    if "居住" in query.replace("\x00", ""):
        assert found["items"][0]["title"].startswith("居住证")


async def test_ten_kb_of_random_unicode_answers_a_list(store: Store) -> None:
    kb, _ = await filled(store, Clock())
    rng = random.Random(13)
    for _ in range(5):
        text = "".join(chr(rng.randrange(0x110000)) for _ in range(10_240))
        assert isinstance((await kb.search(text, None, 50))["items"], list)


async def test_units_write_their_own_entries_supervisors_any(store: Store) -> None:
    kb = KnowledgeService(site(), store, now=Clock())
    mine = await kb.create(body("户籍迁入"), GONGAN)
    assert mine["unit"] == "gongan" and mine["version"] == 1 and mine["updated_by"] == "gongan1"
    assert "materials" in mine["missing"]
    with pytest.raises(NotYourUnit):
        await kb.create(body("社保转移", "renshe"), GONGAN)
    with pytest.raises(NotYourUnit):
        await kb.create(body("社保转移", "renshe"), SEAT)
    with pytest.raises(NoSuchUnit):
        await kb.create(body("社保转移", "nosuch"), BOSS)
    with pytest.raises(InvalidRequest) as e:
        await kb.create(body("社保转移"), BOSS)
    assert e.value.details["field"] == "unit"
    with pytest.raises(NotYourUnit):
        await kb.update(mine["id"], body("户籍迁入", version=1), RENSHE)
    with pytest.raises(NotYourUnit):
        await kb.withdraw(mine["id"], RENSHE)
    changed = await kb.update(mine["id"], body("户籍迁入", materials="户口簿", version=1), GONGAN)
    assert changed["version"] == 2 and changed["materials"] == "户口簿"
    with pytest.raises(VersionConflict):
        await kb.update(mine["id"], body("户籍迁入", version=1), BOSS)
    with pytest.raises(InvalidRequest):
        await kb.update(mine["id"], body("户籍迁入", "renshe", version=2), BOSS)
    old = await kb.get(mine["id"], version=1)
    assert old["materials"] == "" and old["version"] == 1 and not old["withdrawn"]
    assert (await kb.search("户口簿", None, 10))["items"][0]["id"] == mine["id"], "the index follows the text"
    await kb.withdraw(mine["id"], BOSS)
    with pytest.raises(NoSuchEntry):
        await kb.get(mine["id"])
    assert (await kb.search("户口簿", None, 10))["items"] == []


async def test_stale_and_expired_entries_are_flagged(store: Store) -> None:
    clock = Clock()
    kb, ids = await filled(store, clock, fresh_days=30)
    e = await kb.get(ids["社保卡办理"])
    await kb.update(e["id"], body("社保卡办理", valid_until=dt.date(2026, 6, 20), version=1), BOSS)
    clock.at += dt.timedelta(days=20)
    e = await kb.get(ids["公积金提取"])
    await kb.update(e["id"], body("公积金提取", materials="身份证", version=1), BOSS)
    clock.at += dt.timedelta(days=15)    # 2026-07-06: the first five are 35 days old
    stale = await kb.stale(None)
    assert [(i["title"], i["stale"], i["expired"]) for i in stale["items"]] == [
        ("居住证办理", True, False), ("居住证签注", True, False), ("身份证补领", True, False),
        ("社保卡办理", True, True), ("失业保险金申领", True, False)]   # the oldest update first, then by id
    assert stale["units"] == {"gongan": 3, "renshe": 2} and stale["fresh_days"] == 30
    assert [i["title"] for i in (await kb.stale("renshe"))["items"]] == ["社保卡办理", "失业保险金申领"]
    hit = (await kb.search("公积金", None, 10))["items"][0]
    assert not hit["stale"] and not hit["expired"]
    assert (await kb.search("社保卡", None, 10))["items"][0]["expired"] is True


def _order(store: Store) -> str:
    store.upsert_call(CallRecord(call_id="1700000000.1", dialled_number="12345", caller_number="13800138000",
                                 arrived_at=dt.datetime(2026, 6, 1, 1, tzinfo=dt.UTC), outcome=Outcome.answered))
    return str(store.create_work_order(call_ids=["1700000000.1"], title="咨询居住证", description="问居住证材料",
                                       category="consult", created_by="1001")["id"])


async def test_an_answer_used_on_a_call_is_linked_to_the_order(store: Store) -> None:
    kb, ids = await filled(store, Clock())
    oid = _order(store)
    link, new = await kb.link(oid, ids["居住证办理"], None, SEAT)
    assert new and (link["entry_id"], link["version"], link["title"], link["by"]) == (
        ids["居住证办理"], 1, "居住证办理", "s1001")
    again, new = await kb.link(oid, ids["居住证办理"], 1, SEAT)
    assert not new and again == link
    await kb.update(ids["居住证办理"], body("居住证申领", version=1), BOSS)
    await kb.link(oid, ids["居住证办理"], None, SEAT)
    assert [(k["version"], k["title"]) for k in store.get_work_order(oid)["knowledge"]] == [
        (1, "居住证办理"), (2, "居住证申领")]
    with pytest.raises(NoSuchWorkOrder):
        await kb.link("WO-20260601-999999", ids["居住证办理"], None, SEAT)
    with pytest.raises(NoSuchEntry):
        await kb.link(oid, 99999, None, SEAT)
    with pytest.raises(InvalidRequest) as e:
        await kb.link(oid, ids["居住证办理"], 7, SEAT)
    assert e.value.details["field"] == "version"


async def test_the_unit_score_reads_the_entries_at_the_months_end(store: Store) -> None:
    clock = Clock()                       # 2026-06-01: six entries saved
    kb, ids = await filled(store, clock, fresh_days=30)
    clock.at = dt.datetime(2026, 7, 10, 9, tzinfo=SH)
    e = await kb.get(ids["居住证办理"])
    await kb.update(e["id"], body("居住证办理", version=1, valid_until=dt.date(2026, 7, 20)), GONGAN)
    await kb.update(ids["社保卡办理"], body("社保卡办理", version=1), RENSHE)
    clock.at = dt.datetime(2026, 8, 15, 9, tzinfo=SH)
    await kb.update(ids["居住证签注"], body("居住证签注", version=1), GONGAN)   # after July: not counted then
    s = site(fresh_days=30)
    orders = WorkOrderService(store, orders=s.orders, timezone="Asia/Shanghai", now=clock)
    scores = UnitScoreService(s, store, orders, knowledge=kb)
    _, july = await scores.month_scores(Month(2026, 7, SH))
    kb_rule = {u.unit: next(r for r in u.rules if r.id == "knowledge_base") for u in july}
    # gongan at July's end: 居住证办理 updated 07-10 but expired 07-20; 居住证签注, 身份证补领 stale
    assert (kb_rule["gongan"].points, kb_rule["gongan"].status) == (17.0, "measured")
    assert kb_rule["gongan"].inputs["stale"] == [ids["居住证签注"], ids["身份证补领"]]
    assert kb_rule["gongan"].inputs["expired"] == [ids["居住证办理"]] and kb_rule["gongan"].inputs["updated"] == 1
    assert kb_rule["renshe"].points == 19.0 and kb_rule["renshe"].inputs["stale"] == [ids["失业保险金申领"]]
    assert kb_rule["zhujian"].points == 19.0
    await kb.withdraw(ids["公积金提取"], BOSS)
    clock.at += dt.timedelta(minutes=1)
    _, august = await scores.month_scores(Month(2026, 8, SH))    # in progress: as it stands now
    zhujian = next(r for u in august if u.unit == "zhujian" for r in u.rules if r.id == "knowledge_base")
    assert (zhujian.points, zhujian.inputs["entries"]) == (0.0, 0), "no entry: 未建知识库"
    await scores.set_knowledge_base("gongan", Month(2026, 7, SH), 20, "已补推送", "boss")
    _, july = await scores.month_scores(Month(2026, 7, SH))
    gongan = next(r for u in july if u.unit == "gongan" for r in u.rules if r.id == "knowledge_base")
    assert (gongan.points, gongan.status, gongan.inputs["measured"]["flagged"]) == (20.0, "manual", 3)
