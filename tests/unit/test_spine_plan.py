"""The call plan (hotline.spine.plan): number routes, transfer targets, endpoint naming, the
directory, derived from the site config; the modes' routing decided in one table."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from hotline.config import parse_site
from hotline.config.loader import load_site
from hotline.config.site import NumberMode
from hotline.directory.services import DirectoryService
from hotline.spine import plan
from hotline.spine.plan import (
    Flow,
    ModeRule,
    call_plan,
    endpoint_of,
    number_routes,
    route_reason,
)
from trunk_config import GenerateOptions, generate

ROOT = Path(__file__).resolve().parents[2]
ROUTING = load_site(ROOT / "tests" / "golden" / "routing" / "site.yaml", environ={})
OPTIONS = GenerateOptions(ami_secret="s" * 24, recordings_dir="/r", agi_key="k" * 24)

SITE = parse_site({
    "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
    "departments": [{"id": "renshe", "name": "人社局", "phone_secret": "deptsecret-renshe"},
                    {"id": "zhujian", "name": "住建局", "duty_phone": "051485550000"}],
    "legacy_numbers": [{"number": "12333", "mode": "parallel", "department": "renshe", "ring_seconds": 9},
                       {"number": "96890", "mode": "convenience", "department": "zhujian"},
                       {"number": "12366", "mode": "merged", "department": "zhujian"},
                       {"number": "119", "mode": "emergency", "department": "zhujian"}],
    "emergency": [{"number": "110", "trunk": "carrier"}],
    "diversion_110": {"numbers": ["9110"], "priority": 7},
}, "test")


@pytest.mark.parametrize(("channel", "remote_seats", "endpoint"), [
    ("PJSIP/trunk-carrier-00000001", True, "trunk-carrier"),
    ("PJSIP/trunk-carrier-00000001", False, "trunk-carrier"),
    ("PJSIP/1001-0000000a", False, "1001"),
    ("PJSIP/trunk-a-b-00000001", True, "trunk-a-b"),
    ("PJSIP/dept-renshe-0000000b", False, "dept-renshe"),
    ("PJSIP/1001", True, None),
    ("PJSIP/1001-0000000G", True, None),
    ("SIP/1001-00000001", True, None),
    ("Local/1001@hotline-seats-00000001;1", True, None),
    ("Local/1005@hotline-remote-seat-0000001a;1", True, "1005"),    # a seat on an outside number
    ("Local/1005@hotline-remote-seat-0000001a;2", True, "1005"),
    ("Local/1005@hotline-remote-seat-0000001a;1", False, None),     # legs and callback tries: PJSIP only
    ("Local/1005@hotline-remote-seat-0000001a;3", True, None),
    ("Local/x1005@hotline-remote-seat-0000001a;1", True, None),
    ("", True, None),
    ("", False, None),
])
def test_endpoint_of(channel: str, remote_seats: bool, endpoint: str | None) -> None:
    assert endpoint_of(channel, remote_seats=remote_seats) == endpoint


def test_every_mode_has_a_rule() -> None:
    assert set(plan.MODES) == set(NumberMode)


def test_number_routes_in_the_dialplans_order() -> None:
    routes = number_routes(SITE)
    assert [(r.number, r.mode, r.flow) for r in routes] == [
        ("12345", "hotline", Flow.inbound), ("12333", "parallel", Flow.parallel),
        ("12366", "merged", Flow.inbound), ("9110", "diverted_110", Flow.inbound)]
    parallel, diverted = routes[1], routes[3]
    assert parallel.department_dial == "PJSIP/dept-renshe" and parallel.ring_seconds == 9
    assert parallel.comment == "parallel number of renshe"
    assert (diverted.origin, diverted.priority, diverted.department) == ("110", 7, "")


def test_every_route_has_its_context_in_the_generated_dialplan() -> None:
    conf = generate(ROUTING, OPTIONS)["extensions.conf"]
    contexts = set(re.findall(r"^\[hotline-in-([^\]]+)\]$", conf, re.MULTILINE))
    assert contexts == {r.number.lstrip("+") for r in number_routes(ROUTING)}


@pytest.mark.parametrize(("dialled", "reason"), [
    ("12333", ("parallel-number", 0)), ("96890", ("convenience-number", 0)), ("12366", ("merged-number", 0)),
    ("12345", ("hotline", 0)), ("9110", ("diverted-110", 7)), ("", ("unknown-number", 0)),
    ("99999", ("unknown-number", 0)),
])
def test_route_reason(dialled: str, reason: tuple[str, int]) -> None:
    assert route_reason(SITE, dialled) == reason


def test_transfer_targets() -> None:
    targets = plan.site_targets(SITE)
    assert list(targets) == ["12333", "96890", "dept-renshe", "051485550000", "110"]   # the config's order
    assert plan.transfer_targets(SITE) == {
        "12333": "PJSIP/12333@trunk-carrier", "96890": "PJSIP/96890@trunk-carrier",
        "051485550000": "PJSIP/051485550000@trunk-carrier", "dept-renshe": "PJSIP/dept-renshe",
        "110": "PJSIP/110@trunk-carrier"}
    assert [(t.type, t.ring_seconds) for t in targets.values()] == [
        ("parallel", 9), ("convenience", 20), ("department_phone", 9), ("duty_phone", 20), ("emergency", 30)]
    assert set(plan.target_types()) >= {t.type for t in targets.values()}


def test_the_plan_is_derived_once() -> None:
    p = call_plan(SITE)
    assert p.trunks == frozenset({"trunk-carrier"}) and p.hotline_number == "12345"
    assert p.route("12366") is not None and p.route("96890") is None
    assert p.dial() == plan.transfer_targets(SITE)


def test_the_mode_table_alone_decides_how_a_number_is_routed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A mode's routing is its rule: give convenience numbers the inbound flow and no transfer, and
    the dialplan answers them, the directory names their queue, seats no longer dial them."""
    assert "hotline-in-96890" not in generate(SITE, OPTIONS)["extensions.conf"]
    monkeypatch.setitem(plan.MODES, NumberMode.convenience, ModeRule(flow=Flow.inbound, target=False))
    conf = generate(SITE, OPTIONS)["extensions.conf"]
    assert "[hotline-in-96890]" in conf and "exten => 96890,1,Goto(hotline-in-96890,s,1)" in conf
    assert "Set(__HOTLINE_MODE=convenience)" in conf
    assert "96890" not in plan.transfer_targets(SITE)
    assert DirectoryService(SITE).get("96890")["queue"] == "hotline"


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


@pytest.mark.parametrize(("folder", "forbidden"), [
    ("hotline/spine", ("hotline.calls", "hotline.callbacks", "hotline.seats", "trunk_config", "agi_scripts")),
    ("hotline/calls", ("trunk_config", "hotline.callbacks")),
    ("hotline/directory", ("trunk_config",)),
    ("trunk_config", ("hotline.seats", "hotline.calls", "hotline.callbacks", "hotline.ami", "hotline.store")),
])
def test_the_spine_breaks_the_cycles(folder: str, forbidden: tuple[str, ...]) -> None:
    for path in (ROOT / folder).glob("*.py"):
        bad = {m for m in _imports(path) if m.startswith(forbidden)}
        assert not bad, (str(path.relative_to(ROOT)), bad)
