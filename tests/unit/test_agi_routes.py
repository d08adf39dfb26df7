"""The routing policy (decide_route), caller sanitising and the route table.

The FastAGI conversations of these routes are tested over TCP in test_agi_server.py.
"""

from __future__ import annotations

import pytest

from agi_scripts.decide import RouteDecision, decide_route
from agi_scripts.routes import build_router, sanitise_caller
from hotline.config import parse_site

SITE = parse_site({
    "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
    "departments": [{"id": "renshe", "name": "人社局", "queue": "renshe"},
                    {"id": "shuiwu", "name": "税务局"}],
    "queues": [{"name": "hotline"}, {"name": "renshe"}, {"name": "tax"}],
    "legacy_numbers": [{"number": "12333", "mode": "parallel", "department": "renshe"},
                       {"number": "12366", "mode": "merged", "department": "shuiwu", "queue": "tax"},
                       {"number": "12369", "mode": "merged", "department": "shuiwu"}],
})


@pytest.mark.parametrize("raw, expected", [
    ("13800138000", "13800138000"),
    ("+8613800138000", "+8613800138000"),
    ("010-1234 5678", "01012345678"),
    ("(010) 1234.5678", "01012345678"),
    (" 13800138000 ", "13800138000"),
    ("1" * 32, "1" * 32),
    ("+" + "1" * 31, "+" + "1" * 31),
    ("", "anonymous"),
    ("unknown", "anonymous"),
    ("anonymous", "anonymous"),
    ("alice", "anonymous"),
    ('123"', "anonymous"),
    ('123"\nEXEC System rm', "anonymous"),
    ("123;EXEC", "anonymous"),
    ("1" * 33, "anonymous"),
    ("+", "anonymous"),
    ("12+34", "anonymous"),
    ("１３８００１３８０００", "anonymous"),
    ("138\x00001", "anonymous"),
])
def test_sanitise_caller(raw: str, expected: str) -> None:
    assert sanitise_caller(raw) == expected


@pytest.mark.parametrize("dialled, expected", [
    ("12333", RouteDecision("renshe", 0, "parallel-number")),
    ("12366", RouteDecision("tax", 0, "merged-number")),
    ("12369", RouteDecision("hotline", 0, "merged-number")),
    ("12345", RouteDecision("hotline", 0, "hotline")),
    ("99999", RouteDecision("hotline", 0, "unknown-number")),
    ("", RouteDecision("hotline", 0, "unknown-number")),
])
def test_decide_route(dialled: str, expected: RouteDecision) -> None:
    assert decide_route(SITE, dialled, "13800138000") == expected
    assert decide_route(SITE, dialled, "anonymous") == expected


def test_router_registers_inbound_and_health_only() -> None:
    router = build_router(SITE)
    assert router.resolve("inbound") is not None
    assert router.resolve("health") is not None
    assert router.resolve("") is None
    assert router.resolve("inbound/extra") is None


def test_router_refuses_a_duplicate_route() -> None:
    router = build_router(SITE)
    with pytest.raises(ValueError):
        router.add("/health/", router.resolve("health"))  # type: ignore[arg-type]
