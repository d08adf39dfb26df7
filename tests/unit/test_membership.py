"""Queue memberships per seat (own queues, overflow tiers), member/state interfaces and the
overflow rules written to queuerules.conf (queue_manager.membership, trunk_config.queues).

Sites are built with :func:`hotline.config.parse_site` from small dicts; every expected
penalty is worked out by hand from TIER = 1000 (step * 1000 + the seat's own penalty).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hotline.config import parse_site
from hotline.config.site import SiteConfig
from queue_manager.membership import (OWN_MAX, TIER, Membership, member_interface, memberships, overflow_rules,
                                      rule_name, state_interface)
from trunk_config.conf import HEADER
from trunk_config.queues import render, render_rules

BASE: dict[str, Any] = {
    "site": {"name": "测试热线", "hotline_number": "12345", "default_queue": "hotline"},
    "trunks": [{"name": "carrier", "host": "192.0.2.10", "match": ["192.0.2.0/28"]}],
    # city <-> county: the city overflows to the county after 60 s, the county to the city
    # after 20 s and then to the backup queue after 90 s.
    "queues": [
        {"name": "hotline", "overflow": [{"to": "county", "after": 60}]},
        {"name": "county", "county": "东县", "overflow": [{"to": "hotline", "after": 20},
                                                          {"to": "backup", "after": 90}]},
        {"name": "backup"},
        {"name": "renshe"},
    ],
    "seats": [
        {"id": "1001", "name": "市 1001", "secret": "s3cret-1001", "queues": ["hotline", "renshe"], "penalty": 5},
        {"id": "2001", "name": "县 2001", "secret": "s3cret-2001", "queues": ["county"],
         "external_number": "13900000005"},
        {"id": "3001", "name": "备 3001", "secret": "s3cret-3001", "queues": ["backup"], "penalty": 10},
        {"id": "4001", "name": "双 4001", "secret": "s3cret-4001", "queues": ["hotline", "county"], "penalty": 2},
        {"id": "5001", "name": "人社 5001", "secret": "s3cret-5001", "queues": ["renshe"], "penalty": 100},
    ],
}


def site_of(data: dict[str, Any]) -> SiteConfig:
    return parse_site(copy.deepcopy(data))


@pytest.fixture(scope="module")
def site() -> SiteConfig:
    return site_of(BASE)


def test_tiers_sit_above_every_own_penalty() -> None:
    assert (TIER, OWN_MAX) == (1000, 999)


@pytest.mark.parametrize(("seat_id", "expected"), [
    # own queues at the own penalty; county overflows (step 1) to hotline -> 1000 + 5
    ("1001", [Membership("hotline", 5, 0), Membership("renshe", 5, 0), Membership("county", 1005, 1)]),
    # hotline overflows (step 1) to county -> 1000 + 0
    ("2001", [Membership("county", 0, 0), Membership("hotline", 1000, 1)]),
    # county's second step goes to backup -> 2 * 1000 + 10
    ("3001", [Membership("backup", 10, 0), Membership("county", 2010, 2)]),
    # a seat in both queues keeps its own penalty in both: one membership per queue, lowest wins
    ("4001", [Membership("hotline", 2, 0), Membership("county", 2, 0)]),
    # nobody overflows to renshe
    ("5001", [Membership("renshe", 100, 0)]),
], ids=["city-seat", "county-seat", "backup-seat", "both", "no-overflow"])
def test_memberships(site: SiteConfig, seat_id: str, expected: list[Membership]) -> None:
    seat = site.seat(seat_id)
    assert seat is not None
    assert memberships(site, seat) == expected


@pytest.mark.parametrize(("seat_id", "member", "state"), [
    ("1001", "PJSIP/1001", "PJSIP/1001"),
    # an outside number: app_queue dials the confirm-first Local channel, reads a custom state
    ("2001", "Local/2001@hotline-remote-seat/n", "Custom:seat2001"),
])
def test_interfaces(site: SiteConfig, seat_id: str, member: str, state: str) -> None:
    seat = site.seat(seat_id)
    assert seat is not None
    assert (member_interface(seat), state_interface(seat)) == (member, state)


def test_overflow_rules(site: SiteConfig) -> None:
    assert overflow_rules(site) == {
        "overflow-hotline": [(0, 999), (60, 1999)],
        "overflow-county": [(0, 999), (20, 1999), (90, 2999)],
    }
    assert rule_name("county") == "overflow-county"


def test_render_rules(site: SiteConfig) -> None:
    assert render_rules(site) == HEADER + (
        "\n[overflow-hotline]\n"
        "penaltychange = 0,999\n"
        "penaltychange = 60,1999\n"
        "\n[overflow-county]\n"
        "penaltychange = 0,999\n"
        "penaltychange = 20,1999\n"
        "penaltychange = 90,2999\n")


def test_queues_with_overflow_name_their_rule(site: SiteConfig) -> None:
    sections: dict[str, list[str]] = {}
    current = ""
    for line in render(site).splitlines():
        if line.startswith("["):
            current = line.strip("[]")
            sections[current] = []
        elif current and line:
            sections[current].append(line)
    assert {name: [o for o in opts if o.startswith("defaultrule")] for name, opts in sections.items()
            if name != "general"} == {
        "hotline": ["defaultrule = overflow-hotline"], "county": ["defaultrule = overflow-county"],
        "backup": [], "renshe": []}


def test_no_overflow_no_rules() -> None:
    data = copy.deepcopy(BASE)
    for q in data["queues"]:
        q.pop("overflow", None)
    site = site_of(data)
    assert overflow_rules(site) == {}
    assert render_rules(site) == HEADER
    seat = site.seat("3001")
    assert seat is not None
    assert memberships(site, seat) == [Membership("backup", 10, 0)]


def test_overflow_steps_listed_out_of_time_order() -> None:
    """The county lists its steps latest first (backup after 90 s, then the city after 20 s).

    The callers' maximum penalty must only ever rise, and the city seats must ring from 20 s
    on, the backup seats from 90 s on: the tiers follow the time of the step, not its place
    in the list."""
    data = copy.deepcopy(BASE)
    data["queues"][1]["overflow"] = [{"to": "backup", "after": 90}, {"to": "hotline", "after": 20}]
    site = site_of(data)
    rules = overflow_rules(site)["overflow-county"]
    assert rules == [(0, 999), (20, 1999), (90, 2999)]
    assert [p for _, p in rules] == sorted(p for _, p in rules)
    city, backup = site.seat("1001"), site.seat("3001")
    assert city is not None and backup is not None
    assert Membership("county", 1005, 1) in memberships(site, city)     # rings from 20 s: <= 1999
    assert Membership("county", 2010, 2) in memberships(site, backup)   # rings from 90 s: <= 2999
