"""The caller-number rule (hotline.spine.numbers): one grammar, three readers, one table."""

from __future__ import annotations

import pytest

from hotline.spine.numbers import (
    caller_number,
    dialable,
    dialled_digits,
    recorded_number,
)

# raw, caller_number (FastAGI), recorded_number (records), dialled_digits (callback tries)
CASES = [
    ("13800138000", "13800138000", "13800138000", "13800138000"),
    ("+8613800138000", "+8613800138000", "+8613800138000", "8613800138000"),
    ("+86 138-0000-1111", "+8613800001111", "+8613800001111", "8613800001111"),
    ("(010) 1234.5678", "01012345678", "01012345678", "01012345678"),
    (" 13800138000 ", "13800138000", "13800138000", "13800138000"),
    ("1" * 32, "1" * 32, "1" * 32, "1" * 32),
    ("1" * 33, "anonymous", "1" * 32, "1" * 32),      # FastAGI refuses what records cut
    ("", "anonymous", "anonymous", "anonymous"),
    ("anonymous", "anonymous", "anonymous", "anonymous"),
    ("abc", "anonymous", "anonymous", "anonymous"),
    ("123;EXEC", "anonymous", "123", "123"),
    ("12+34", "anonymous", "anonymous", "1234"),
    ("+", "anonymous", "anonymous", "anonymous"),
    ("１３８００１３８０００", "anonymous", "anonymous", "１３８００１３８０００"),
]


@pytest.mark.parametrize(("raw", "agi", "record", "digits"), CASES)
def test_the_three_readers(raw: str, agi: str, record: str, digits: str) -> None:
    assert (caller_number(raw), recorded_number(raw), dialled_digits(raw)) == (agi, record, digits)


@pytest.mark.parametrize(("number", "ok"), [
    ("13800138000", True), ("12345", True), ("1234", False), ("1" * 20, True), ("1" * 21, False),
    ("+8613800138000", False), ("anonymous", False), ("", False), (None, False), ("12345\n", False),
])
def test_dialable(number: str | None, ok: bool) -> None:
    assert dialable(number) is ok
