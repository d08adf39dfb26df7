"""Issue #13, bad input, on the controller's own HTTP server: a knowledge-base search of 10 KB of
any Unicode sent in the query string (``GET /api/knowledge?q=``, what a seat's browser sends) is
answered by the route with 200 and a list, never the HTTP server's 400 page for a long request
line (aiohttp's default limit is 8 KiB; percent-encoded CJK text is 9 bytes a character)."""

from __future__ import annotations

import random
import urllib.parse

import pytest

from .rig import Stack, http_json, wait_for


@pytest.fixture(autouse=True)
def migrated(stack: Stack) -> None:
    """The store is brought up to date in the background: the API answers store-unavailable until then."""
    wait_for("the store migrated", lambda: stack.status()["database"].get("migrated"), timeout=120)


def _random_text(rng: random.Random, size: int) -> str:
    """``size`` characters from every plane a caller's paste can hold: CJK, Latin, emoji, symbols,
    controls (NUL included), quotes and SQL/LIKE metacharacters."""
    pools = [(0x4E00, 0x9FFF), (0x20, 0x7E), (0x1F300, 0x1FAFF), (0x2000, 0x2BFF), (0x0, 0x1F), (0xAC00, 0xD7A3)]
    out = []
    for _ in range(size):
        lo, hi = rng.choice(pools)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_10_kb_search_in_the_query_string_answers_a_list(stack: Stack, seed: int) -> None:
    rng = random.Random(seed)
    text = _random_text(rng, 10 * 1024) + "%_\\' OR 1=1 --"
    url = f"{stack.api}/api/knowledge?{urllib.parse.urlencode({'q': text})}"
    assert len(url) > 8192 * 4   # far past aiohttp's default request-line limit
    code, body = http_json("GET", url, timeout=30)
    assert code == 200, body
    assert isinstance(body["items"], list)


def test_a_residence_permit_question_in_the_query_string(stack: Stack) -> None:
    q = "办理居住证需要哪些材料" * 400   # a long paste of one question: about 13 KB of request line
    code, body = http_json("GET", f"{stack.api}/api/knowledge?{urllib.parse.urlencode({'q': q})}", timeout=30)
    assert code == 200 and isinstance(body["items"], list) and isinstance(body["terms"], list), body
