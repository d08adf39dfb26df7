"""The outbound number rule of 回访 calls (hotline.revisits.rules), table-driven."""

from __future__ import annotations

import pytest

from hotline.revisits.rules import check

AREA = "0393"   # 濮阳

# (number as given, dial or None, kind or refusal reason)
CASES = [
    ("13800138000", "13800138000", "mobile"),
    ("138 0013 8000", "13800138000", "mobile"),
    ("+8613800138000", "13800138000", "mobile"),
    ("008613800138000", "13800138000", "mobile"),
    ("8613800138000", "13800138000", "mobile"),
    ("013800138000", "13800138000", "mobile"),          # another province's mobile, with the 0
    ("19912345678", "19912345678", "mobile"),
    ("6123456", "6123456", "fixed"),                    # a local 7-digit subscriber
    ("86123456", "86123456", "fixed"),                  # a local 8-digit subscriber
    ("0393-8123456", "8123456", "fixed"),               # with the site's area code: dialled locally
    ("03938123456", "8123456", "fixed"),
    ("+863938123456", "8123456", "fixed"),
    ("01012345678", None, "long_distance"),             # Beijing
    ("037112345678", None, "long_distance"),            # Zhengzhou
    ("+14155550100", None, "international"),
    ("0014155550100", None, "international"),
    ("+442071234567", None, "international"),
    ("95588", None, "premium"),                         # a bank's service number
    ("96123", None, "premium"),
    ("16812345", None, "premium"),                      # 168 information line
    ("1900123456", None, "premium"),
    ("12345", None, "premium"),                         # special services, our own number too
    ("10086", None, "premium"),
    ("4008123456", None, "premium"),
    ("8008123456", None, "premium"),
    ("80012345", "80012345", "fixed"),                  # an 8-digit local number that starts 800
    ("039316812345", None, "premium"),                  # 168 line behind the area code
    ("03939512345", None, "premium"),
    ("12012345678", None, "premium"),                   # 11 digits starting 12: not a mobile
    ("anonymous", None, "not_a_number"),
    ("", None, "not_a_number"),
    (None, None, "not_a_number"),
    ("+", None, "not_a_number"),
    ("123", None, "premium"),
    ("0393123", None, "premium"),
    ("03932", None, "not_a_number"),
    ("6123", None, "not_a_number"),
]


@pytest.mark.parametrize(("raw", "dial", "kind"), CASES)
def test_the_rule(raw: str | None, dial: str | None, kind: str) -> None:
    verdict = check(raw, area_code=AREA)
    assert verdict.dial == dial, verdict
    assert (verdict.kind if dial else verdict.reason) == kind
    assert verdict.allowed is (dial is not None)


def test_a_nine_digit_number_is_not_a_number() -> None:
    assert check("800123456", area_code=AREA).reason == "not_a_number"


def test_without_an_area_code_only_mobiles() -> None:
    assert check("6123456", area_code=None).reason == "no_area_code"
    assert check("03938123456", area_code=None).reason == "no_area_code"
    assert check("13800138000", area_code=None).dial == "13800138000"


@pytest.mark.parametrize(("raw", "deny"), [("13800138000", ["138"]), ("6123456", ["61"]),
                                           ("03936123456", ["0393612"]), ("+8613912345678", ["139"])])
def test_deny_prefixes_refuse_as_given_and_as_dialled(raw: str, deny: list[str]) -> None:
    verdict = check(raw, area_code=AREA, deny_prefixes=deny)
    assert verdict.dial is None and verdict.reason == "premium"
    assert check(raw, area_code=AREA).allowed
