"""One normalisation of caller numbers (issue 13): :func:`hotline.spine.numbers.person_key` as a
table, the repeat-caller memory comparing keys, and the number library's location and carrier
(:mod:`hotline.pop.geo`: null fields, never an error, for what it does not know)."""

from __future__ import annotations

import pytest

from agi_scripts.repeat import RecentCallers
from hotline.pop.geo import UNKNOWN, locate, split_place
from hotline.revisits.rules import check
from hotline.spine.numbers import national, person_key

MOBILE = "+8613812345678"
FIXED = "+8637161234567"

KEYS = [
    # one mainland mobile, every form it arrives in
    ("13812345678", MOBILE), ("013812345678", MOBILE), ("+8613812345678", MOBILE),
    ("008613812345678", MOBILE), ("8613812345678", MOBILE), ("+86 138-1234-5678", MOBILE),
    ("(0138) 1234 5678", MOBILE), ("+86013812345678", MOBILE),
    # a fixed line with its area code (郑州 0371), and Beijing's two-digit one
    ("037161234567", FIXED), ("+8637161234567", FIXED), ("008637161234567", FIXED), ("8637161234567", FIXED),
    ("0371-6123-4567", FIXED), ("+86037161234567", FIXED),
    ("01012345678", "+861012345678"), ("+861012345678", "+861012345678"),
    # another country: E.164 whether dialled with 00 or +
    ("+14155550100", "+14155550100"), ("0014155550100", "+14155550100"), ("+85291234567", "+85291234567"),
    # short service numbers, a local number without area code, 400 numbers: themselves
    ("110", "110"), ("12345", "12345"), ("95588", "95588"), ("61234567", "61234567"), ("4001234567", "4001234567"),
    # unknown and hostile strings: themselves, never an exception
    ("anonymous", "anonymous"), ("", ""), ("+", "+"), ("00", "00"), ("0086", "0086"), ("+86", "+86"),
    *((s, s) for s in ("<script>alert(1)</script>", "1" * 40, "13812345678\x00", "'; DROP TABLE call_records; --",
                       "１３８１２３４５６７８")),
]


@pytest.mark.parametrize(("raw", "key"), KEYS, ids=[repr(r)[:30] for r, _ in KEYS])
def test_person_key(raw: str, key: str) -> None:
    assert person_key(raw) == key
    assert person_key(person_key(raw)) == key   # a key is its own key


def test_one_reading_of_the_country_prefix() -> None:
    """The 回访 rule and the person key read ``+86``/``0086``/``86`` through the same function."""
    assert national("008613812345678") == national("8613812345678") == "13812345678"
    assert national("8637161234567") == "037161234567"
    assert national("0014155550100") is None
    for raw in ("013812345678", "+8613812345678", "008613812345678", "8613812345678", "13812345678"):
        assert check(raw, area_code="0371").dial == "13812345678"


def test_repeat_callers_are_people_not_strings() -> None:
    recent = RecentCallers(window_s=3600)
    assert recent.arrive("013812345678", 1000.0) is False
    assert recent.arrive("+8613812345678", 1100.0) is True
    assert recent.arrive("13812345678", 1200.0) is True
    assert len(recent) == 1
    seeded = RecentCallers(window_s=3600)
    seeded.seed([("8613812345678", 900.0), ("13812345678", 950.0)], now=1000.0)
    assert len(seeded) == 1 and seeded.arrive("013812345678", 1000.0) is True
    assert recent.arrive("anonymous", 1300.0) is False and recent.arrive("anonymous", 1301.0) is False


LOCATIONS = [
    (MOBILE, ("CN", "江苏省", "连云港市", "中国移动")),
    ("+8618612345678", ("CN", "北京市", "北京市", "中国联通")),
    (FIXED, ("CN", "河南省", "郑州市", None)),
    ("+869911234567", ("CN", "新疆", "乌鲁木齐市", None)),
    ("+14155550100", ("US", None, None, None)),
    ("12345", (None, None, None, None)), ("anonymous", (None, None, None, None)), ("", (None, None, None, None)),
    ("+8677112345678", (None, None, None, None)), ("+86", (None, None, None, None)), ("+" + "9" * 40, (None,) * 4),
]


@pytest.mark.parametrize(("key", "want"), LOCATIONS, ids=[k[:20] or "empty" for k, _ in LOCATIONS])
def test_location_and_carrier(key: str, want: tuple[str | None, ...]) -> None:
    got = locate(key)
    assert (got.region, got.province, got.city, got.carrier) == want
    assert set(got.to_dict()) == {"region", "province", "city", "carrier", "description"}


def test_unknown_is_all_null() -> None:
    assert all(v is None for v in UNKNOWN.to_dict().values())


@pytest.mark.parametrize(("text", "want"), [
    ("江苏省连云港市", ("江苏省", "连云港市")), ("北京市", ("北京市", "北京市")), ("上海市", ("上海市", "上海市")),
    ("广西壮族自治区南宁市、崇左市", ("广西壮族自治区", "南宁市、崇左市")), ("广西南宁市", ("广西", "南宁市")),
    ("内蒙古呼和浩特市", ("内蒙古", "呼和浩特市")), ("中国", (None, None)), ("", (None, None)),
])
def test_split_place(text: str, want: tuple[str | None, str | None]) -> None:
    assert split_place(text) == want
