"""The ``duty_probes:`` section and a unit's ``duty_phones``: defaults, and every bad value a
ConfigError naming the field path."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hotline.config import parse_site
from hotline.exceptions import ConfigError

LEADER = {"name": "王", "phone": "13800000001"}
BASE: dict[str, Any] = {"trunks": [{"name": "carrier", "host": "192.0.2.10"}]}


def site(units: list[dict[str, Any]] | None = None, **probes: Any) -> dict[str, Any]:
    default = [{"id": "renshe", "name": "市人社局", "leader": LEADER}]
    return {**BASE, "duty_probes": probes, "orders": {"units": units if units is not None else default}}


def test_defaults() -> None:
    d = parse_site(BASE, "site.yaml").duty_probes
    assert (d.enabled, d.ring_seconds, d.tries, d.spacing_minutes, d.postpone_minutes, d.max_concurrent) == (
        False, 30, 3, 5, 5, 2)
    assert [(w.name, w.start, w.end, w.probes) for w in d.windows] == [
        ("office", dt.time(9), dt.time(17), 1), ("night", dt.time(20), dt.time(7), 1)]


def test_the_example() -> None:
    cfg = parse_site(site([{"id": "renshe", "name": "市人社局", "leader": LEADER, "duty_phones": ["03934567890"]}],
                          enabled=True, windows=[{"name": "office", "start": "09:00", "end": "17:00", "probes": 2}],
                          tries=3, spacing_minutes=10), "site.yaml")
    assert cfg.orders.units[0].duty_phones == ["03934567890"] and cfg.duty_probes.windows[0].probes == 2


@pytest.mark.parametrize(("units", "probes", "field", "words"), [
    (None, {"windows": [{"name": "x", "start": "09:00", "end": "09:00"}]}, "duty_probes.windows.0",
     "must differ from start"),
    (None, {"windows": [{"name": "x", "start": "25:00", "end": "09:00"}]}, "duty_probes.windows.0.start", ""),
    (None, {"windows": [{"name": "Office", "start": "09:00", "end": "17:00"}]}, "duty_probes.windows.0.name",
     "pattern"),
    (None, {"windows": [{"name": "x", "start": "09:00", "end": "17:00", "probes": 25}]},
     "duty_probes.windows.0.probes", "less than or equal to 24"),
    (None, {"windows": [{"name": "x", "start": "09:00", "end": "10:00"}, {"name": "x", "start": "11:00",
                                                                         "end": "12:00"}]},
     "duty_probes.windows", "listed twice: x"),
    (None, {"tries": 0}, "duty_probes.tries", "greater than or equal to 1"),
    (None, {"ring_seconds": 200}, "duty_probes.ring_seconds", "less than or equal to 120"),
    (None, {"spacing_minutes": 0}, "duty_probes.spacing_minutes", ""),
    (None, {"postpone_minutes": 0}, "duty_probes.postpone_minutes", ""),
    (None, {"max_concurrent": 0}, "duty_probes.max_concurrent", ""),
    (None, {"seed": 1}, "duty_probes.seed", "Extra inputs are not permitted"),
    ([{"id": "renshe", "name": "市人社局", "leader": LEADER, "duty_phones": ["12-34"]}], {},
     "orders.units.0.duty_phones.0", "pattern"),
    ([{"id": "renshe", "name": "市人社局", "leader": LEADER, "duty_phones": ["4567890", "4567890"]}], {},
     "orders.units.0.duty_phones.1", "duplicate duty phone"),
    ([{"id": "renshe", "name": "市人社局", "leader": LEADER, "duty_phones": ["12345"]}], {},
     "orders.units.0.duty_phones.0", "the hotline's own number"),
])
def test_bad_values_name_their_field(units: list[dict[str, Any]] | None, probes: dict[str, Any], field: str,
                                     words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_site(site(units, **probes), "site.yaml")
    found = {p: m for p, m, _ in info.value.problems}
    assert field in found, found
    assert words in found[field], found[field]
