"""``/api/unit-scores`` on the app as the controller builds it (users, SQLite): a supervisor reads
every unit ranked with each rule's inputs and enters knowledge-base points, exemptions and
attendance (audited); a unit user reads its own unit only; seats are forbidden; bad months,
unknown units and bad bodies are refused with stable ids; the reports download."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from hotline.audit.services import AuditService
from hotline.auth.passwords import hash_password
from hotline.config.site import SiteConfig
from hotline.store import Store
from authkit import FAST, bearer, serve
from test_api_openapi import validator
from unitscorekit import EXPECTED, build, site

USERS = {"boss": ("supervisor", None), "renshe-ban": ("unit", "renshe"), "s1001": ("seat", None)}


def users_site() -> SiteConfig:
    base = site().model_dump(mode="json", exclude_defaults=True)
    users = [{"name": n, "role": r, **({"unit": u} if u else {}), **({"seat": "1001"} if r == "seat" else {}),
              "password_hash": hash_password(f"{n}-password", iterations=FAST)} for n, (r, u) in USERS.items()]
    return SiteConfig.model_validate({**base, "users": users,
                                      "seats": [{"id": "1001", "name": "坐席1001", "secret": "seat-secret-1001"}]})


async def login(client: TestClient[Any, Any], name: str) -> dict[str, str]:
    r = await client.post("/api/login", json={"name": name, "password": f"{name}-password"})
    assert r.status == 200, await r.text()
    return {**bearer(str((await r.json())["token"])), "Origin": str(client.make_url(""))}


async def test_supervisors_units_and_seats(sqlite_store: Store, tmp_path: Path) -> None:
    m = await build(sqlite_store)
    async with serve(sqlite_store, tmp_path, users_site(), unit_scores=m.scores) as client:
        boss, unit, seat = [await login(client, n) for n in USERS]
        r = await client.get("/api/unit-scores?month=2026-11", headers=boss)
        body: dict[str, Any] = await r.json()
        assert r.status == 200, body
        assert [(i["unit"], i["total"], i["rank"], i["interview"]) for i in body["items"]] == [
            ("jiaotong", 99, 1, False), ("renshe", 96, 2, False), ("zhujian", 39, 3, True)]
        document = await (await client.get("/openapi.json")).json()
        validator(document, "UnitScoreList").validate(body)   # the documented shape is the served one
        rules = {r["id"]: r for r in body["items"][1]["rules"]}
        assert [r["points"] for r in rules.values()] == list(EXPECTED["renshe"][0])
        assert rules["knowledge_base"]["status"] == "manual" and rules["phone"]["inputs"]["unreachable"] == 2

        r = await client.get("/api/unit-scores?month=2026-11", headers=unit)
        assert [i["unit"] for i in (await r.json())["items"]] == ["renshe"]
        r = await client.get("/api/unit-scores/renshe?month=2026-11", headers=unit)
        detail = await r.json()
        assert r.status == 200 and detail["total"] == 96 and detail["attendance"][0]["status"] == "present"
        validator(document, "UnitScoreDetail").validate(detail)
        for r_ in detail["rules"]:
            validator(document, "UnitScoreRule").validate(r_)
        r = await client.get("/api/unit-scores/zhujian?month=2026-11", headers=unit)
        assert r.status == 403 and (await r.json())["error_id"] == "not-your-unit"
        r = await client.get("/api/unit-scores?month=2026-11", headers=seat)
        assert r.status == 403 and (await r.json())["error_id"] == "not-your-unit", "a seat has no unit"
        r = await client.post("/api/unit-scores/renshe/knowledge-base", json={"month": "2026-11", "points": 20},
                              headers=unit)
        assert r.status == 403, "a unit does not score itself"

        r = await client.post("/api/unit-scores/renshe/knowledge-base",
                              json={"month": "2026-11", "points": 20, "note": "已补推送"}, headers=boss)
        assert r.status == 201 and (await r.json())["status"] == "manual"
        r = await client.post("/api/unit-scores/renshe/exemptions", headers=boss, json={
            "month": "2026-11", "rule": "satisfaction", "work_order_id": m.ids["O2"], "reason": "客观因素：政策所限"})
        assert r.status == 201, await r.text()
        r = await client.post("/api/unit-scores/renshe/attendance", headers=boss,
                              json={"date": "2026-11-26", "status": "absent", "note": "无故未到"})
        assert r.status == 201
        r = await client.get("/api/unit-scores/renshe?month=2026-11", headers=boss)
        after = await r.json()
        assert after["total"] == 96 + 2 + 3 - 10 and after["exemptions"][0]["reason"] == "客观因素：政策所限"
        audited = await AuditService(sqlite_store).list(user="boss")
        assert {a["action"] for a in audited} >= {"unit-scores.knowledge-base", "unit-scores.exemptions",
                                                  "unit-scores.attendance"}


async def test_bad_requests_have_stable_ids(sqlite_store: Store, tmp_path: Path) -> None:
    m = await build(sqlite_store)
    async with serve(sqlite_store, tmp_path, users_site(), unit_scores=m.scores) as client:
        boss = await login(client, "boss")
        cases = [
            ("get", "/api/unit-scores?month=2026-13", None, 400, "invalid-month", "month"),
            ("get", "/api/unit-scores?month=202611", None, 400, "invalid-month", "month"),
            ("get", "/api/unit-scores?month=2027-02", None, 400, "invalid-month", "month"),
            ("get", "/api/unit-scores?month=2026-11&unit=x", None, 400, "invalid-request", "unit"),
            ("get", "/api/unit-scores/nobody?month=2026-11", None, 404, "no-such-unit", None),
            ("get", "/api/unit-scores/nobody/report.pdf?month=2026-11", None, 404, "no-such-unit", None),
            ("post", "/api/unit-scores/renshe/knowledge-base", {"month": "2026-13", "points": 3}, 400,
             "invalid-month", "month"),
            ("post", "/api/unit-scores/renshe/knowledge-base", {"month": "2026-11", "points": 25}, 400,
             "invalid-request", "points"),
            ("post", "/api/unit-scores/renshe/knowledge-base", {"month": "2026-11", "points": "20"}, 400,
             "invalid-request", "points"),
            ("post", "/api/unit-scores/renshe/exemptions", {"month": "2026-11", "rule": "on_time",
                                                           "work_order_id": m.ids["O2"]}, 400, "invalid-request",
             "reason"),
            ("post", "/api/unit-scores/zhujian/exemptions", {"month": "2026-11", "rule": "on_time", "reason": "x",
                                                            "work_order_id": m.ids["O5"]}, 409, "exemption-exists",
             None),
            ("post", "/api/unit-scores/renshe/exemptions", {"month": "2026-11", "rule": "on_time", "reason": "x",
                                                           "work_order_id": "WO-1"}, 404, "no-such-work-order", None),
            ("post", "/api/unit-scores/renshe/attendance", {"date": "2026-11-31", "status": "absent"}, 400,
             "invalid-request", "date"),
            ("post", "/api/unit-scores/renshe/attendance", {"date": "2026-11-30", "status": "away"}, 400,
             "invalid-request", "status"),
        ]
        for method, url, body, status, error_id, field in cases:
            r = await client.request(method.upper(), url, json=body, headers=boss)
            got = await r.json()
            assert (r.status, got["error_id"]) == (status, error_id), (url, body, got)
            assert field is None or got["details"]["field"] == field, (url, got)
        r = await client.get("/api/unit-scores/renshe?month=2026-11", headers=boss)
        assert (await r.json())["total"] == 96, "nothing refused was written"


async def test_reports_download(sqlite_store: Store, tmp_path: Path) -> None:
    m = await build(sqlite_store)
    async with serve(sqlite_store, tmp_path, users_site(), unit_scores=m.scores) as client:
        unit = await login(client, "renshe-ban")
        r = await client.get("/api/unit-scores/renshe/report.xlsx?month=2026-11", headers=unit)
        assert r.status == 200 and "filename*=UTF-8''" in r.headers["Content-Disposition"]
        sheet = load_workbook(io.BytesIO(await r.read())).active
        assert sheet is not None
        cells = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row and row[0]}
        assert cells["总分"] == "96" and cells["单位"] == "市人社局（renshe）" and cells["满意度"] == 17
        r = await client.get("/api/unit-scores/renshe/report.pdf?month=2026-11", headers=unit)
        assert r.status == 200 and r.headers["Content-Type"] == "application/pdf"
        assert (await r.read()).startswith(b"%PDF-")
        r = await client.get("/api/unit-scores/zhujian/report.pdf?month=2026-11", headers=unit)
        assert r.status == 403
