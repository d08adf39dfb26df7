"""Disclosure (hotline/audit/disclosure.py) left unattended: a polling screen does not write an audit
row a second, and a dead database masks numbers instead of failing the live view."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from hotline.audit.disclosure import REPEAT_WINDOW_S, Disclosure, mask_field
from hotline.principal import PRINCIPAL
from hotline.principal import Principal
from hotline.config.site import Role
from hotline.exceptions import StoreError

ITEMS = [{"call_id": "1796.1", "caller_number": "13800001111", "seat": "1001"}]


@pytest.fixture(autouse=True)
def _route(monkeypatch: pytest.MonkeyPatch) -> None:
    """A mocked request has no matched route: name the one a real request would match."""
    monkeypatch.setattr("hotline.audit.disclosure.route_path", lambda request: "/api/calls/live")


class Audit:
    def __init__(self) -> None:
        self.rows: list[Any] = []

    async def record(self, entry: Any) -> None:
        self.rows.append(entry)


def _request(user: str = "boss", role: str = "supervisor", query: str = "") -> web.Request:
    req = make_mocked_request("GET", f"/api/calls/live{query}")
    req[PRINCIPAL] = Principal(name=user, role=Role(role), seat="1002" if role == "seat" else None,
                               token_id="t", expires=0)
    return req


async def apply(d: Disclosure, req: web.Request) -> list[dict[str, Any]]:
    return await d.apply(req, [dict(i) for i in ITEMS], handled_by=lambda i: [i["seat"]],
                         mask=mask_field("caller_number"))


async def test_the_same_read_within_the_window_is_one_audit_row() -> None:
    now = [1000.0]
    audit = Audit()
    d = Disclosure(audit, lambda ids: set(), clock=lambda: now[0])   # type: ignore[arg-type]
    for _ in range(50):   # a screen polling every second
        assert (await apply(d, _request()))[0]["caller_number"] == "13800001111"
        now[0] += 1.0
    assert len(audit.rows) == 1
    now[0] += REPEAT_WINDOW_S
    await apply(d, _request())
    await apply(d, _request(user="boss2"))
    await apply(d, _request(query="?reason=complaint-follow-up"))
    assert len(audit.rows) == 4   # a new window, another reader, another reason: each audited


async def test_a_dead_database_masks_numbers_and_keeps_the_view() -> None:
    def dead(ids: Any) -> set[str]:
        raise StoreError("database unavailable: connection refused")
    audit = Audit()
    d = Disclosure(audit, dead)   # type: ignore[arg-type]
    seat_view = await apply(d, _request(user="seat1001", role="seat"))
    assert seat_view[0]["caller_number"] != "13800001111" and "****" in seat_view[0]["caller_number"]
    assert audit.rows == []
