"""The ``hotspots:`` section: defaults when absent, and every bad value a ConfigError naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.config import parse_site
from hotline.exceptions import ConfigError

BASE: dict[str, Any] = {"trunks": [{"name": "carrier", "host": "192.0.2.10"}]}


def test_defaults_when_absent() -> None:
    h = parse_site(BASE, "site.yaml").hotspots
    assert (h.enabled, h.window_minutes, h.baseline_days, h.factor, h.min_count, h.every_seconds) == (
        True, 60, 7, 3.0, 5, 60)
    assert [d.value for d in h.dimensions] == ["subject", "area"]
    assert (h.retention_days, h.max_kept, h.max_active) == (30, 1000, 50)


def test_the_example() -> None:
    h = parse_site({**BASE, "hotspots": {"window_minutes": 30, "baseline_days": 14, "factor": 2.5, "min_count": 8,
                                         "dimensions": ["subject_area", "dialled_number"]}}, "site.yaml").hotspots
    assert (h.window_minutes, h.baseline_days, h.factor, h.min_count) == (30, 14, 2.5, 8)


@pytest.mark.parametrize(("hotspots", "field", "words"), [
    ({"factor": 0.5}, "hotspots.factor", "greater than or equal to 1"),
    ({"factor": "nan"}, "hotspots.factor", ""),
    ({"min_count": 0}, "hotspots.min_count", "greater than or equal to 1"),
    ({"window_minutes": 1}, "hotspots.window_minutes", "greater than or equal to 5"),
    ({"baseline_days": 0}, "hotspots.baseline_days", ""),
    ({"dimensions": []}, "hotspots.dimensions", "at least 1"),
    ({"dimensions": ["subject", "subject"]}, "hotspots.dimensions", "listed twice: subject"),
    ({"dimensions": ["county"]}, "hotspots.dimensions.0", "subject"),
    ({"threshold": 3}, "hotspots.threshold", "Extra inputs are not permitted"),
])
def test_bad_values_name_their_field(hotspots: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_site({**BASE, "hotspots": hotspots}, "site.yaml")
    found = {p: m for p, m, _ in info.value.problems}
    assert field in found, found
    assert words in found[field], found[field]
