"""The HTTP kit's query rules: unknown and repeated parameters refused by name, empty ones absent."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from hotline.exceptions import InvalidRequest
from hotline.http.query import date_time, integer, single_values


def test_single_values_keeps_the_known_given_once() -> None:
    query = MultiDict([("limit", "5"), ("q", ""), ("mode", " merged ")])
    assert single_values(query, {"limit", "q", "mode"}) == {"limit": "5", "mode": " merged "}
    assert single_values(query, {"limit", "q", "mode"}, strip=True) == {"limit": "5", "mode": "merged"}


@pytest.mark.parametrize(("pairs", "field", "message"), [
    ([("nope", "1")], "nope", "unknown query parameter (known: limit, q)"),
    ([("limit", "1"), ("limit", "2")], "limit", "given more than once"),
])
def test_single_values_refuses_by_name(pairs: list[tuple[str, str]], field: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        single_values(MultiDict(pairs), {"limit", "q"})
    assert exc.value.details["field"] == field and message in exc.value.message


@pytest.mark.parametrize("value", [" 5", "+5", "5_0", "1234567890", ""])
def test_integer_is_strict(value: str) -> None:
    with pytest.raises(InvalidRequest):
        integer("limit", value)


def test_date_time_names_the_unencoded_plus() -> None:
    assert date_time("start", "2026-11-23T08:00:00+08:00").utcoffset() is not None
    with pytest.raises(InvalidRequest, match="encode"):
        date_time("start", "2026-11-23T08:00:00 08:00")
    with pytest.raises(InvalidRequest, match="UTC offset"):
        date_time("start", "2026-11-23T08:00:00")
    assert date_time("start", "2026-11-23T08:00:00", need_offset=False).tzinfo is None
