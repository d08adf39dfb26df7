"""The API as the controller serves it, built from fakes: every service wired by
``hotline.compose.build_services`` (as ``hotline.app`` does), Asterisk replaced by a recording
AMI ``send``, the live hub in memory. Tests override single services with ``replace=``.

:class:`Api` is a JSON client of such an app acting as named users (the order tests' users)."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from hotline.api.app import ApiServices, StatusProvider, build_app
from hotline.auth.services import AuthService
from hotline.calls.services import CallTracker, directory_for
from hotline.compose import build_services
from hotline.config.site import SiteConfig
from hotline.live.hub import LiveHub
from hotline.store import Store

EMPTY_SITE = SiteConfig(trunks=[{"name": "none", "host": "127.0.0.1"}])  # type: ignore[list-item]


class RecordingAmi:
    """Answers every action with success and keeps them; ``down`` makes it a lost connection."""

    def __init__(self) -> None:
        self.actions: list[dict[str, str]] = []
        self.down = False

    async def send(self, action: dict[str, str], timeout: float | None = None, as_list: bool | None = None) -> Any:
        if self.down:
            raise ConnectionError("AMI is not connected")
        self.actions.append(dict(action))
        return {"Response": "Success", "Message": "OK"}


def api_services(store: Store, *, site: SiteConfig | None = None, status: StatusProvider | None = None,
                 ami_send: Callable[..., Any] | None = None, hub: LiveHub | None = None,
                 auth: AuthService | None = None, tracker: CallTracker | None = None,
                 database_status: Callable[[], dict[str, Any]] | None = None, **replace: Any) -> ApiServices:
    site = site or EMPTY_SITE
    directory = directory_for(site)
    services = build_services(
        site, store, ami_send=ami_send or RecordingAmi().send, hub=hub or LiveHub(""),
        tracker=tracker or CallTracker(directory, lambda record: None, on_partial=lambda call_id: None),
        directory=directory, auth=auth or AuthService([], secrets.token_bytes(32)),
        status=status or (lambda: {"ami": {"ok": True}}),
        database_status=database_status or (lambda: {"ok": store.ping()}))
    return dataclasses.replace(services, **replace)


def api_app(store: Store, **kwargs: Any) -> web.Application:
    return build_app(api_services(store, **kwargs))


class Api:
    """Requests as named users: each logs in on first use with its password from the test's
    table; every request carries its bearer token and the app's own ``Origin`` (as a browser's)."""

    def __init__(self, client: TestClient[Any, Any], passwords: Mapping[str, str]) -> None:
        self.client = client
        self.passwords = passwords
        self.tokens: dict[str, str] = {}

    async def call(self, user: str, method: str, url: str, body: Any = None) -> tuple[int, Any]:
        """(status, JSON answer) of one request as ``user``."""
        if user not in self.tokens:
            r = await self.client.post("/api/login", json={"name": user, "password": self.passwords[user]})
            self.tokens[user] = (await r.json())["token"]
        headers = {"Authorization": f"Bearer {self.tokens[user]}", "Origin": str(self.client.make_url(""))}
        r = await self.client.request(method, url, json=body, headers=headers)
        return r.status, await r.json()

    async def trail(self, oid: str, user: str = "boss") -> list[dict[str, Any]]:
        """The order's event trail, read by ``user`` (a supervisor by default)."""
        status, body = await self.call(user, "GET", f"/api/work-orders/{oid}/lifecycle")
        assert status == 200, body
        return list(body["events"])
