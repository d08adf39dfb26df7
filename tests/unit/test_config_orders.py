"""The ``orders:`` section of the site config: units, subjects, areas, deadlines, calendar years.

Puyang's numbers are the defaults; every bad value is a ConfigError naming the field path.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from hotline.config import parse_site
from hotline.config.site import Role, UnitKind
from hotline.exceptions import ConfigError

HASH = "pbkdf2_sha256$1000$c2FsdHNhbHQ=$" + "A" * 43 + "="

BASE: dict[str, Any] = {
    "trunks": [{"name": "carrier", "host": "192.0.2.10", "match": ["192.0.2.0/28"]}],
    "departments": [{"id": "renshe", "name": "人社局"}],
    "orders": {
        "units": [
            {"id": "renshe", "name": "市人社局", "department": "renshe",
             "leader": {"name": "王局长", "phone": "13800000001"},
             "people": [{"name": "李专员", "phone": "13800000002"}]},
            {"id": "hualong", "name": "华龙区", "kind": "county", "leader": {"name": "张区长", "phone": "0393123"}},
        ],
        "subjects": [{"id": "wages", "name": "欠薪", "unit": "renshe"}],
        "areas": [{"id": "hualong", "name": "华龙区"}],
        "calendar": [{"year": 2027, "holidays": ["2027-01-01"], "workdays": ["2027-02-20"]}],
    },
    "users": [{"name": "renshe1", "role": "unit", "unit": "renshe", "password_hash": HASH}],
}


def with_change(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def test_puyang_values_are_the_defaults() -> None:
    d = parse_site({"trunks": BASE["trunks"]}).orders.deadlines
    assert (d.dispatch_days, d.return_days, d.normal_days, d.key_days, d.emergency_hours, d.redo_days) == \
        (1, 2, 5, 10, 8, 5)
    assert d.warn_hours == 24


def test_the_full_section_is_read() -> None:
    site = parse_site(BASE)
    o = site.orders
    assert o.unit("hualong") is not None and o.unit("hualong").kind == UnitKind.county  # type: ignore[union-attr]
    assert o.unit("renshe").leader.phone == "13800000001"  # type: ignore[union-attr]
    assert o.subject("wages").unit == "renshe"  # type: ignore[union-attr]
    assert o.calendar[0].workdays == [dt.date(2027, 2, 20)]
    assert site.users[0].role == Role.unit and site.users[0].unit == "renshe"
    assert o.units_see_numbers is False


@pytest.mark.parametrize(("path", "value", "field", "words"), [
    (("orders", "surprise"), 1, "orders.surprise", "Extra inputs"),
    (("orders", "units", 0, "colour"), "red", "orders.units.0.colour", "Extra inputs"),
    (("orders", "units", 0, "leader"), {"name": "x"}, "orders.units.0.leader.phone", "required"),
    (("orders", "units", 0, "kind"), "village", "orders.units.0.kind", "department"),
    (("orders", "units", 0, "department"), "nosuch", "orders.units.0.department", "unknown department"),
    (("orders", "units", 1, "id"), "renshe", "orders.units.1.id", "duplicate unit id"),
    (("orders", "subjects", 0, "unit"), "nosuch", "orders.subjects.0.unit", "unknown unit"),
    (("orders", "deadlines"), {"normal_days": 0}, "orders.deadlines.normal_days", "greater than"),
    (("orders", "deadlines"), {"key_days": 3}, "orders.deadlines", "key_days (3) must be at least"),
    (("orders", "deadlines"), {"weekend": True}, "orders.deadlines.weekend", "Extra inputs"),
    (("orders", "calendar", 0, "holidays"), ["2028-01-01"], "orders.calendar.0", "not in 2027"),
    (("orders", "calendar", 0, "workdays"), ["2027-01-01"], "orders.calendar.0", "both a holiday"),
    (("orders", "calendar", 0, "holidays"), ["2027-13-01"], "orders.calendar.0.holidays.0", "date"),
    (("users", 0, "unit"), "nosuch", "users.0.unit", "unknown unit"),
    (("users", 0, "unit"), None, "users.0.unit", "needs its unit"),
    (("users", 0, "role"), "seat", "users.0.unit", "only a unit user"),
    (("integration",), {"systems": [{"name": "xian", "token": "tok-xian-1", "units": ["hualong", "nosuch"]}]},
     "integration.systems.0.units.1", "unknown unit"),
])
def test_bad_values_name_the_field(path: tuple[Any, ...], value: Any, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_site(with_change(path, value))
    found = {p: m for p, m, _ in info.value.problems}
    assert field in found, found
    assert words in found[field], found[field]
