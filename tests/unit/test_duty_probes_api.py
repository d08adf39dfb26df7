"""``GET /api/duty-probes`` on the app as the controller builds it (SQLite, fake AMI, users): a
supervisor reads every unit's month, a unit user its own only; another unit's or a seat's read is
``not-your-unit``, a bad month ``invalid-month``, an unknown unit ``no-such-unit``; numbers masked;
documented in /openapi.json."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hotline.api.app import SERVICES
from hotline.auth.passwords import hash_password
from hotline.config import parse_site
from hotline.duty_probes import model
from hotline.duty_probes.model import TryResult
from hotline.duty_probes.schedule import Phone, Planned
from hotline.store import Store

from authkit import FAST, serve

PASSWORDS = {"boss": "boss-pass-1", "s1001": "seat-pass-1001", "renshe1": "unit-pass-renshe",
             "zhujian1": "unit-pass-zhujian"}
USERS = [{"name": "boss", "role": "supervisor"}, {"name": "s1001", "role": "seat", "seat": "1001"},
         {"name": "renshe1", "role": "unit", "unit": "renshe"}, {"name": "zhujian1", "role": "unit", "unit": "zhujian"}]


def _site() -> Any:
    leader = {"name": "王", "phone": "13800000001"}
    return parse_site({
        "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
        "seats": [{"id": "1001", "name": "坐席1001", "secret": "seat-secret-1001"}],
        "users": [{**u, "password_hash": hash_password(PASSWORDS[u["name"]], iterations=FAST)} for u in USERS],
        "orders": {"units": [{"id": "renshe", "name": "市人社局", "leader": leader, "duty_phones": ["13900000001"]},
                             {"id": "zhujian", "name": "市住建局", "leader": leader, "duty_phones": ["13900000002"]}]},
        "duty_probes": {"enabled": True, "windows": [{"name": "office", "start": "09:00", "end": "17:00"}]},
    }, "t.yaml")


async def _token(client: Any, name: str) -> dict[str, str]:
    r = await client.post("/api/login", json={"name": name, "password": PASSWORDS[name]})
    assert r.status == 200
    return {"Authorization": f"Bearer {(await r.json())['token']}"}


async def test_the_month_per_unit_and_who_may_read_it(sqlite_store: Store, tmp_path: Path) -> None:
    async with serve(sqlite_store, tmp_path, _site()) as client:
        service = client.app[SERVICES].duty_probes
        day, at0 = dt.date(2026, 11, 3), dt.datetime(2026, 11, 3, 9, 0, tzinfo=dt.UTC)
        made = [service.probes.create(Planned(u, "office", day, 0, Phone(n, "f"), at0), number=n, skip_reason=None,
                                      max_attempts=3, now=at0) for u, n in (("renshe", "13900000001"),
                                                                            ("zhujian", "13900000002"))]
        renshe = made[0]
        assert renshe is not None
        for n in (1, 2, 3):   # three failed tries: one 不通 event
            at = dt.datetime(2026, 11, 3, 9, n, tzinfo=dt.UTC)
            service.probes.apply(renshe.id, lambda p, at=at: model.dial(p, at))
            service.probes.apply(renshe.id, lambda p, at=at, n=n: model.finish(
                p, TryResult(f"1796000000.{n}", n, "no_answer"), at, dt.timedelta(minutes=5)))
        boss, unit, seat = [await _token(client, n) for n in ("boss", "renshe1", "s1001")]

        r = await client.get("/api/duty-probes?month=2026-11", headers=boss)
        body: dict[str, Any] = await r.json()
        assert r.status == 200, body
        units = {u["unit"]: u for u in body["units"]}
        assert set(units) == {"renshe", "zhujian"} and body["month"] == "2026-11"
        assert (units["renshe"]["tries"], units["renshe"]["unreachable"], units["zhujian"]["unreachable"]) == (3, 1, 0)
        assert units["renshe"]["events"][0]["number"] == "139****0001", "masked"
        assert units["renshe"]["events"][0]["tries"] == ["1796000000.1", "1796000000.2", "1796000000.3"]
        assert await service.unreachable_counts(2026, 11) == {"renshe": 1}

        r = await client.get("/api/duty-probes?month=2026-11", headers=unit)
        mine = await r.json()
        assert r.status == 200 and [u["unit"] for u in mine["units"]] == ["renshe"], "a unit sees its own only"
        r = await client.get("/api/duty-probes?month=2026-11&unit=zhujian", headers=unit)
        assert r.status == 403 and (await r.json())["error_id"] == "not-your-unit"
        r = await client.get("/api/duty-probes?month=2026-11", headers=seat)
        assert r.status == 403 and (await r.json())["error_id"] == "not-your-unit"

        for month in ("2026-13", "2026-00", "2026-1", "11/2026", "1999-12"):
            r = await client.get(f"/api/duty-probes?month={month}", headers=boss)
            err = await r.json()
            assert (r.status, err["error_id"], err["details"]["field"]) == (400, "invalid-month", "month"), month
        r = await client.get("/api/duty-probes?month=2026-11&unit=nobody", headers=boss)
        assert r.status == 404 and (await r.json())["error_id"] == "no-such-unit"
        r = await client.get("/api/duty-probes?month=2026-11&unit=Bad!", headers=boss)
        assert r.status == 400 and (await r.json())["details"]["field"] == "unit"
        r = await client.get("/api/duty-probes?when=2026-11", headers=boss)
        assert r.status == 400 and (await r.json())["details"]["field"] == "when"
        r = await client.get("/api/duty-probes", headers=boss)
        now = service.now().astimezone(service.timezone)
        assert r.status == 200 and (await r.json())["month"] == f"{now:%Y-%m}", "default: this month (site time)"

        spec = await (await client.get("/openapi.json", headers=boss)).json()
        assert "/api/duty-probes" in spec["paths"] and "DutyProbeMonth" in spec["components"]["schemas"]
