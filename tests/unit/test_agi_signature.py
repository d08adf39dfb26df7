"""Signed routes (agi_scripts/signature.py): the server's signature equals what the dialplan's
``${SHA1(key|nonce|v1|v2|v3|v4)}`` computes; anything else is not a route."""

from __future__ import annotations

import hashlib

import pytest

from agi_scripts.signature import ROUTE_VARS, dialplan_signature, route_signature, signed_text


@pytest.mark.parametrize(("key", "nonce", "values", "text"), [
    ("k", "1796.5-42", {"HOTLINE_ROUTE_QUEUE": "hotline", "HOTLINE_ROUTE_PRIORITY": "5"},
     "k|1796.5-42|hotline|5||"),
    ("k", "n", {"HOTLINE_DEPT_OPEN": "0"}, "k|n||||0"),
    ("", "", {}, "|||||"),
    ("k", "n", {"HOTLINE_ROUTE_QUEUE": "q", "HOTLINE_ROUTE_PRIORITY": "20",
                "HOTLINE_ROUTE_PRIORITY_REASON": "repeat_caller", "HOTLINE_DEPT_OPEN": "1"},
     "k|n|q|20|repeat_caller|1"),
])
def test_the_signed_text_and_its_sha1(key: str, nonce: str, values: dict[str, str], text: str) -> None:
    assert signed_text(key, nonce, values) == text
    assert route_signature(key, nonce, values) == hashlib.sha1(text.encode()).hexdigest()


def test_a_changed_value_key_or_nonce_changes_the_signature() -> None:
    base = route_signature("k", "n", {"HOTLINE_ROUTE_QUEUE": "hotline"})
    assert route_signature("k", "n", {"HOTLINE_ROUTE_QUEUE": "wrapq"}) != base
    assert route_signature("other", "n", {"HOTLINE_ROUTE_QUEUE": "hotline"}) != base
    assert route_signature("k", "m", {"HOTLINE_ROUTE_QUEUE": "hotline"}) != base


def test_the_dialplan_expression_reads_the_same_fields_in_the_same_order() -> None:
    expr = dialplan_signature()
    assert expr == "${SHA1(${HOTLINE_AGI_KEY}|${HOTLINE_AGI_NONCE}|" + "|".join(f"${{{v}}}" for v in ROUTE_VARS) + ")}"
