"""Shared by the auth, audit, wallboard and spy unit tests: a site with users, a served app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from hotline.auth.passwords import hash_password
from hotline.auth.services import AuthService
from hotline.config import parse_site
from hotline.config.site import SiteConfig
from hotline.store import Store

from apikit import api_app

FAST = 1000   # PBKDF2 iterations for tests (the real default is 600 000)
PASSWORDS = {"admin": "admin-pass-1", "boss": "boss-pass-1", "s1001": "seat-pass-1001", "s1002": "seat-pass-1002",
             "nophone": "nophone-pass-1", "dept": "dept-pass-1"}


def site_with_users(**extra: Any) -> SiteConfig:
    users = [
        {"name": "admin", "role": "admin"},
        {"name": "boss", "role": "supervisor", "seat": "1003"},
        {"name": "nophone", "role": "supervisor"},
        {"name": "s1001", "role": "seat", "seat": "1001"},
        {"name": "s1002", "role": "seat", "seat": "1002"},
    ]
    return parse_site({
        "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
        "seats": [{"id": sid, "name": f"坐席{sid}", "secret": f"seat-secret-{sid}"} for sid in ("1001", "1002", "1003")],
        "users": [{**u, "password_hash": hash_password(PASSWORDS[u["name"]], iterations=FAST)} for u in users],
        **extra}, "test.yaml")


@asynccontextmanager
async def serve(store: Store, state_dir: Path, site: SiteConfig | None = None, **services: Any
                ) -> AsyncIterator[TestClient[Any, Any]]:
    site = site or site_with_users()
    auth = AuthService.for_state_dir(site.users, state_dir)
    app = api_app(store, site=site, auth=auth, **services)
    async with TestClient(TestServer(app)) as client:
        yield client


async def login(client: TestClient[Any, Any], name: str) -> str:
    response = await client.post("/api/login", json={"name": name, "password": PASSWORDS[name]})
    assert response.status == 200, await response.text()
    return str((await response.json())["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
