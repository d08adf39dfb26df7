"""``/api/hotspots`` on the app as the controller builds it (users, SQLite): supervisors and admins
read the alerts with the numbers that raised them and acknowledge them (audited, the wallboard is
told); seats and unit users are forbidden; bad ids, unknown alerts and bodies are refused with
stable ids; the answers match the OpenAPI document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from hotline.auth.passwords import hash_password
from hotline.hotspots.services import HotspotService
from hotline.live.hub import LiveHub
from hotline.store import Store
from authkit import FAST, bearer, serve
from hotspotkit import Clock, Stream, local, site
from test_api_openapi import validator

USERS = {"boss": ("supervisor", None), "admin": ("admin", None), "s1001": ("seat", None),
         "shuiwu-ban": ("unit", "shuiwu")}


def users() -> list[dict[str, Any]]:
    return [{"name": n, "role": r, **({"unit": u} if u else {}), **({"seat": "1001"} if r == "seat" else {}),
             "password_hash": hash_password(f"{n}-password", iterations=FAST)} for n, (r, u) in USERS.items()]


async def login(client: TestClient[Any, Any], name: str) -> dict[str, str]:
    r = await client.post("/api/login", json={"name": name, "password": f"{name}-password"})
    assert r.status == 200, await r.text()
    return {**bearer(str((await r.json())["token"])), "Origin": str(client.make_url(""))}


async def test_supervisors_read_and_acknowledge_others_are_forbidden(sqlite_store: Store, tmp_path: Path) -> None:
    s = site(users())
    clock = Clock(local(20, 9, 0))
    stream = Stream(sqlite_store, s, clock)
    await stream.baseline()
    for m in range(1, 7):
        await stream.order(local(20, 10, m), "water", "hualong")
    hub = LiveHub("")
    service = HotspotService(s, sqlite_store, now=clock, publish=hub.update_hotspots)
    clock.at = local(20, 10, 15)
    await service.check()
    async with serve(sqlite_store, tmp_path, s, hotspots=service, live=hub) as client:
        boss, admin, seat, unit = [await login(client, n) for n in USERS]
        document = await (await client.get("/openapi.json")).json()
        r = await client.get("/api/hotspots", headers=boss)
        body = await r.json()
        assert r.status == 200, body
        validator(document, "HotspotList").validate(body)
        [alert] = body["active"]
        assert (alert["label"], alert["count"], alert["baseline_mean"], alert["ratio"], alert["text"]) == (
            "供水", 6, 1.0, 6.0, "热点预警: 供水 6 件 / 近7日同期均值 1")
        assert body["rule"]["factor"] == 3.0 and body["recent"] == []

        for who in (seat, unit):
            r = await client.get("/api/hotspots", headers=who)
            assert r.status == 403 and (await r.json())["error_id"] == "forbidden"
            r = await client.post(f"/api/hotspots/{alert['id']}/ack", json={}, headers=who)
            assert r.status == 403 and (await r.json())["error_id"] == "forbidden"

        r = await client.post(f"/api/hotspots/{alert['id']}/ack", headers=boss)
        acked = await r.json()
        assert r.status == 200, acked
        validator(document, "HotspotAlert").validate(acked)
        assert acked["acked_by"] == "boss" and hub.snapshot()["hotspots"][0]["acked_by"] == "boss"
        r = await client.post(f"/api/hotspots/{alert['id']}/ack", json={}, headers=admin)
        assert (await r.json())["acked_by"] == "boss"   # again: unchanged
        rows = sqlite_store.list_audit(action="hotspots.ack")
        assert sorted((row["user"], row["target"], row["status"]) for row in rows) == [
            ("admin", f"alert:{alert['id']}", 200), ("boss", f"alert:{alert['id']}", 200)]

        for path, status, error_id in (("/api/hotspots/0/ack", 400, "invalid-hotspot-id"),
                                       ("/api/hotspots/x1/ack", 400, "invalid-hotspot-id"),
                                       ("/api/hotspots/999/ack", 404, "no-such-hotspot")):
            r = await client.post(path, json={}, headers=boss)
            assert (r.status, (await r.json())["error_id"]) == (status, error_id), path
        r = await client.post(f"/api/hotspots/{alert['id']}/ack", json={"note": "x"}, headers=boss)
        assert r.status == 400 and (await r.json())["details"]["field"] == "note"
        for query in ("limit=0", "limit=501", "limit=abc", "since=1"):
            r = await client.get(f"/api/hotspots?{query}", headers=boss)
            assert r.status == 400 and (await r.json())["error_id"] == "invalid-request", query
