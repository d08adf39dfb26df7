"""``/api/knowledge`` on the app as the controller builds it (users), SQLite and PostgreSQL: units
write their own entries, supervisors any, seats read and search, departments nothing; the
居住证 search; hostile search strings (10 KB of random Unicode, emoji, NUL, SQL and LIKE
metacharacters) answer 200 with a list; bad bodies name the field; an answer used on a call is
linked to the order and shown when the order is read; the documented shapes are the served ones."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient

from apikit import Api
from authkit import FAST, serve
from hotline.auth.passwords import hash_password
from hotline.config.site import SiteConfig
from hotline.records.call import CallRecord, Outcome
from hotline.store import Store
from test_api_openapi import validator

UNITS = {"gongan": "市公安局", "renshe": "市人社局"}
USERS = {"boss": ("supervisor", None), "gongan1": ("unit", "gongan"), "renshe1": ("unit", "renshe"),
         "s1001": ("seat", None), "dept": ("department", None)}
PASSWORDS = {n: f"{n}-password" for n in USERS}

RESIDENCE = {"title": "居住证办理", "basis": "《居住证暂行条例》", "conditions": "在本市居住半年以上",
             "materials": "身份证、居住登记凭证、近期一寸照片", "process": "申请、受理、审核、发证",
             "fees": "首次申领免费", "location": "居住地派出所", "time_limit": "15个工作日",
             "notes": "居住证每年签注一次", "valid_from": "2026-01-01"}


def users_site() -> SiteConfig:
    users = [{"name": n, "role": r, **({"unit": u} if u else {}), **({"seat": "1001"} if r == "seat" else {}),
              "password_hash": hash_password(PASSWORDS[n], iterations=FAST)} for n, (r, u) in USERS.items()]
    return SiteConfig.model_validate({
        "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
        "seats": [{"id": "1001", "name": "坐席1001", "secret": "seat-secret-1001"}],
        "orders": {"units": [{"id": u, "name": n, "leader": {"name": "王", "phone": "13800000001"}}
                             for u, n in UNITS.items()]},
        "users": users})


async def _filled(api: Api) -> dict[str, int]:
    ids = {}
    for who, entry in (("gongan1", RESIDENCE), ("gongan1", {"title": "居住证签注", "materials": "居住证原件"}),
                       ("renshe1", {"title": "社保卡办理", "materials": "身份证原件、照片"}),
                       ("boss", {"unit": "renshe", "title": "失业保险金申领", "materials": "身份证"})):
        status, body = await api.call(who, "POST", "/api/knowledge", entry)
        assert status == 201, body
        ids[entry["title"]] = body["id"]
    return ids


async def test_roles_and_the_residence_permit_search(store: Store, tmp_path: Path) -> None:
    async with serve(store, tmp_path, users_site()) as client:
        api = Api(client, PASSWORDS)
        ids = await _filled(api)
        document = await (await client.get("/openapi.json")).json()
        status, found = await api.call("s1001", "GET", "/api/knowledge?q=" + quote("办理居住证需要哪些材料"))
        assert status == 200, found
        validator(document, "KnowledgeList").validate(found)
        assert [i["title"] for i in found["items"]][:2] == ["居住证办理", "居住证签注"]
        assert found["items"][0]["unit_name"] == "市公安局" and found["items"][0]["stale"] is False
        status, listed = await api.call("gongan1", "GET", "/api/knowledge?unit=gongan")
        assert status == 200 and {i["unit"] for i in listed["items"]} == {"gongan"}
        status, one = await api.call("s1001", "GET", f"/api/knowledge/{ids['居住证办理']}")
        assert status == 200 and one["materials"] == RESIDENCE["materials"]
        validator(document, "KnowledgeEntry").validate(one)

        # a unit writes its own entries only; a seat and a department write nothing
        for who, method, url, body in (
                ("gongan1", "POST", "/api/knowledge", {"unit": "renshe", "title": "社保转移"}),
                ("renshe1", "PUT", f"/api/knowledge/{ids['居住证办理']}", {**RESIDENCE, "version": 1}),
                ("renshe1", "DELETE", f"/api/knowledge/{ids['居住证办理']}", None),
                ("s1001", "POST", "/api/knowledge", {"unit": "gongan", "title": "户籍迁入"})):
            status, err = await api.call(who, method, url, body)
            assert (status, err["error_id"]) == (403, "not-your-unit"), (who, method, err)
        status, err = await api.call("dept", "GET", "/api/knowledge?q=" + quote("居住证"))
        assert (status, err["error_id"]) == (403, "knowledge-read-forbidden")
        status, err = await api.call("dept", "POST", "/api/knowledge", {"unit": "gongan", "title": "户籍迁入"})
        assert status == 403
        status, err = await api.call("s1001", "GET", "/api/knowledge/stale")
        assert (status, err["error_id"]) == (403, "forbidden")

        status, changed = await api.call("gongan1", "PUT", f"/api/knowledge/{ids['居住证办理']}",
                                         {**RESIDENCE, "materials": "身份证、照片", "version": 1})
        assert status == 200 and changed["version"] == 2
        status, err = await api.call("boss", "PUT", f"/api/knowledge/{ids['居住证办理']}", {**RESIDENCE, "version": 1})
        assert (status, err["error_id"]) == (409, "knowledge-version-conflict")
        status, stale = await api.call("boss", "GET", "/api/knowledge/stale")
        assert status == 200 and stale["items"] == [] and stale["fresh_days"] == 180
        status, gone = await api.call("renshe1", "DELETE", f"/api/knowledge/{ids['社保卡办理']}")
        assert status == 200 and gone["withdrawn_by"] == "renshe1"
        status, err = await api.call("s1001", "GET", f"/api/knowledge/{ids['社保卡办理']}")
        assert (status, err["error_id"]) == (404, "no-such-knowledge-entry")


BAD_BODIES = [
    ({"materials": "x"}, "title"),
    ({"title": ""}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"title": "居住证", "materials": "a\x00b"}, "materials"),
    ({"title": "居住证", "notes": 5}, "notes"),
    ({"title": "居住证", "valid_until": "2026-13-01"}, "valid_until"),
    ({"title": "居住证", "valid_from": "2026-06-01", "valid_until": "2026-05-01"}, "valid_until"),
    ({"title": "居住证", "fees": "x" * 20_001}, "fees"),
    ({"title": "居住证", "colour": "red"}, "colour"),
    ({"title": "居住证", "unit": "../etc"}, "unit"),
]


@pytest.mark.parametrize(("entry", "field"), BAD_BODIES, ids=[f for _, f in BAD_BODIES])
async def test_bad_entries_name_the_field(sqlite_store: Store, tmp_path: Path, entry: dict[str, Any],
                                          field: str) -> None:
    async with serve(sqlite_store, tmp_path, users_site()) as client:
        status, err = await Api(client, PASSWORDS).call("gongan1", "POST", "/api/knowledge", entry)
        assert (status, err["error_id"], err["details"]["field"]) == (400, "invalid-request", field)


def _hostile() -> list[str]:
    rng = random.Random(12345)
    ten_kb = "".join(chr(rng.randrange(0x110000)) for _ in range(10_240))
    return [ten_kb, "居住证" + ten_kb, "😀🎉👍🏽" * 100, "\x00", "居住\x00证", "%", "_", "\\", "'", "%_\\'",
            "' OR 1=1 --", "'; DROP TABLE knowledge_terms; --", "居%证", "\u202e", "", " "]


async def _get(client: TestClient[Any, Any], api: Api, query: str) -> tuple[int, Any]:
    await api.call("s1001", "GET", "/api/me")   # logged in
    r = await client.get("/api/knowledge", params={"q": query.encode("utf-8", "surrogatepass").decode(
        "utf-8", "replace")}, headers={"Authorization": f"Bearer {api.tokens['s1001']}"})
    return r.status, await r.json()


async def test_hostile_search_strings_answer_200_with_a_list(store: Store, tmp_path: Path) -> None:
    async with serve(store, tmp_path, users_site()) as client:
        api = Api(client, PASSWORDS)
        await _filled(api)
        for q in _hostile():
            status, found = await api.call("s1001", "POST", "/api/knowledge/search", {"q": q, "limit": 50})
            assert status == 200 and isinstance(found["items"], list), (q[:20], found)
            if "居住证" in q:
                assert found["items"][0]["title"] == "居住证办理"
            if len(q.encode("utf-8", "surrogatepass")) < 2000:    # within the server's request-line limit
                status, found = await _get(client, api, q)
                assert status == 200 and isinstance(found["items"], list), (q[:20], found)
        # an escaped unpaired surrogate in the JSON body is taken (and dropped with the other non-letters)
        headers = {"Authorization": f"Bearer {api.tokens['s1001']}", "Origin": str(client.make_url("")),
                   "Content-Type": "application/json"}
        r = await client.post("/api/knowledge/search", data=b'{"q": "\\ud800\\u5c45\\u4f4f\\u8bc1"}', headers=headers)
        assert r.status == 200 and (await r.json())["items"][0]["title"] == "居住证办理"
        # raw bytes that are not UTF-8 in the query string
        r = await client.get("/api/knowledge?q=%FF%FE%00%ED%A0%80", headers=headers)
        assert r.status == 200 and isinstance((await r.json())["items"], list)
        for bad, field in (("limit=0", "limit"), ("limit=x", "limit"), ("foo=1", "foo"), ("unit=nosuch", None)):
            r = await client.get(f"/api/knowledge?q=a&{bad}", headers=headers)
            err = await r.json()
            if field is None:
                assert (r.status, err["error_id"]) == (404, "no-such-unit")
            else:
                assert (r.status, err["details"]["field"]) == (400, field)


async def test_an_answer_used_on_a_call_is_shown_with_the_order(store: Store, tmp_path: Path) -> None:
    store.upsert_call(CallRecord(call_id="1700000000.1", dialled_number="12345", caller_number="13800138000",
                                 arrived_at=dt.datetime(2026, 6, 1, 1, tzinfo=dt.UTC), outcome=Outcome.answered))
    oid = store.create_work_order(call_ids=["1700000000.1"], title="咨询居住证", description="问居住证材料",
                                  category="consult", created_by="1001")["id"]
    async with serve(store, tmp_path, users_site()) as client:
        api = Api(client, PASSWORDS)
        ids = await _filled(api)
        document = await (await client.get("/openapi.json")).json()
        status, link = await api.call("s1001", "POST", f"/api/work-orders/{oid}/knowledge",
                                      {"entry_id": ids["居住证办理"]})
        assert status == 201, link
        validator(document, "KnowledgeLink").validate(link)
        status, again = await api.call("s1001", "POST", f"/api/work-orders/{oid}/knowledge",
                                       {"entry_id": ids["居住证办理"], "version": 1})
        assert status == 200 and again == link
        status, order = await api.call("s1001", "GET", f"/api/work-orders/{oid}")
        assert status == 200 and [(k["entry_id"], k["version"], k["title"]) for k in order["knowledge"]] == [
            (ids["居住证办理"], 1, "居住证办理")]
        validator(document, "WorkOrder").validate(order)
        status, err = await api.call("gongan1", "POST", f"/api/work-orders/{oid}/knowledge",
                                     {"entry_id": ids["居住证办理"]})
        assert status == 403, "a unit user does not answer calls"
        status, err = await api.call("s1001", "POST", f"/api/work-orders/{oid}/knowledge", {"entry_id": "x"})
        assert (status, err["details"]["field"]) == (400, "entry_id")
        status, err = await api.call("s1001", "POST", "/api/work-orders/WO-20260601-999999/knowledge",
                                     {"entry_id": ids["居住证办理"]})
        assert (status, err["error_id"]) == (404, "no-such-work-order")
