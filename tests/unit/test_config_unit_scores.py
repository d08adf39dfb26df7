"""The ``unit_scores:`` section of the site config: the Puyang annex as defaults, and every bad
value a ConfigError naming the field path."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.config import parse_site
from hotline.exceptions import ConfigError

BASE: dict[str, Any] = {"trunks": [{"name": "carrier", "host": "192.0.2.10"}]}


def test_defaults_are_the_annex() -> None:
    u = parse_site(BASE, "site.yaml").unit_scores
    assert u.max_points() == {"knowledge_base": 20, "phone": 10, "on_time": 10, "completion": 20,
                              "revisit_check": 20, "satisfaction": 20}
    assert (u.phone.per, u.phone.zero_above, u.on_time.zero_above, u.revisit_check.zero_above) == (1, 10, 10, None)
    assert (u.satisfaction.per, u.satisfaction.max_per_order, u.completion.base.value) == (1, 3, "kept")
    assert [(b.over_average, b.points) for b in u.bonuses] == [(1.0, 3), (2.0, 5)]
    assert (u.rotation_absence, u.ranking.bottom, u.ranking.months, u.report_font) == (10, 3, 3, None)


def test_a_site_reweights() -> None:
    u = parse_site({**BASE, "unit_scores": {"knowledge_base": {"points": 10}, "phone": {"points": 20},
                                            "bonuses": [{"over_average": 1.5, "points": 2}]}}, "s.yaml").unit_scores
    assert (u.knowledge_base.points, u.phone.points, u.phone.per, u.bonuses[0].points) == (10, 20, 1, 2)


@pytest.mark.parametrize(("section", "field", "words"), [
    ({"phone": {"points": 15}}, "unit_scores", "add up to 100"),
    ({"satisfaction": {"max_per_order": 0}}, "unit_scores.satisfaction.max_per_order", "greater than or equal"),
    ({"completion": {"base": "all"}}, "unit_scores.completion.base", "kept"),
    ({"on_time": {"points": 10, "per": -1}}, "unit_scores.on_time.per", "greater than or equal"),
    ({"bonuses": [{"over_average": 2, "points": 5}, {"over_average": 1, "points": 3}]}, "unit_scores",
     "must increase"),
    ({"ranking": {"bottom": 0}}, "unit_scores.ranking.bottom", ""),
    ({"rotation": 10}, "unit_scores.rotation", "Extra inputs"),
])
def test_bad_values_name_the_field(section: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_site({**BASE, "unit_scores": section}, "site.yaml")
    problems = err.value.problems
    assert any(p == field and words in m for p, m, _ in problems), problems
