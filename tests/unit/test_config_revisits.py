"""The ``revisits:`` section of the site config: defaults, and every bad value a ConfigError naming
the field path."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hotline.config import parse_site
from hotline.exceptions import ConfigError

BASE: dict[str, Any] = {"trunks": [{"name": "carrier", "host": "192.0.2.10"}]}


def site(**revisits: Any) -> dict[str, Any]:
    return {**BASE, "revisits": revisits}


def test_defaults() -> None:
    r = parse_site(BASE, "site.yaml").revisits
    assert (r.enabled, r.hours.start, r.hours.end, r.max_concurrent, r.tries, r.spacing_minutes) == (
        False, dt.time(8, 30), dt.time(20, 30), 2, 3, 30)
    assert (r.area_code, r.deny_prefixes, r.skip_confidential, r.queue) == (None, [], True, None)


def test_the_example() -> None:
    r = parse_site(site(enabled=True, hours={"start": "09:00", "end": "20:00"}, max_concurrent=5, tries=3,
                        spacing_minutes=30, area_code="0393", deny_prefixes=["400"], queue="hotline"),
                   "site.yaml").revisits
    assert (r.hours.start, r.max_concurrent, r.area_code, r.queue) == (dt.time(9), 5, "0393", "hotline")


@pytest.mark.parametrize(("revisits", "field", "words"), [
    ({"hours": {"start": "20:30", "end": "08:30"}}, "revisits.hours", "must be after start"),
    ({"hours": {"start": "25:00"}}, "revisits.hours.start", ""),
    ({"max_concurrent": 0}, "revisits.max_concurrent", "greater than or equal to 1"),
    ({"tries": 11}, "revisits.tries", "less than or equal to 10"),
    ({"spacing_minutes": 0}, "revisits.spacing_minutes", ""),
    ({"area_code": "393"}, "revisits.area_code", "pattern"),
    ({"area_code": "+86393"}, "revisits.area_code", "pattern"),
    ({"deny_prefixes": ["40a"]}, "revisits.deny_prefixes.0", "pattern"),
    ({"deny_prefixes": ["400", "400"]}, "revisits.deny_prefixes", "listed twice: 400"),
    ({"area_code": "0393", "deny_prefixes": ["03"]}, "revisits.deny_prefixes.0", "site's own area code"),
    ({"queue": "nosuch"}, "revisits.queue", "unknown queue"),
    ({"quiet": True}, "revisits.quiet", "Extra inputs are not permitted"),
])
def test_bad_values_name_their_field(revisits: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_site(site(**revisits), "site.yaml")
    found = {p: m for p, m, _ in info.value.problems}
    assert field in found, found
    assert words in found[field], found[field]
