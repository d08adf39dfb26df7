"""The API as the controller serves it, built from fakes: every service wired by
``hotline.compose.build_services`` (as ``hotline.app`` does), Asterisk replaced by a recording
AMI ``send``, the live hub in memory. Tests override single services with ``replace=``."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import web

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
