"""The knowledge base's text-to-terms rules (hotline.knowledge.grams), table-driven: what a query
becomes, what an entry is indexed under, and that any text, however hostile or long, becomes a
bounded list of terms holding letters and digits only."""

from __future__ import annotations

import random

import pytest

from hotline.knowledge.grams import MAX_QUERY_TERMS, TITLE_WEIGHT, body_weight, index_terms, normalise, query_terms

QUERIES = [
    # (query, terms)
    ("办理居住证需要哪些材料", ["办理", "理居", "居住", "住证", "证需", "需要", "要哪", "哪些", "些材", "材料"]),
    ("居住证", ["居住", "住证"]),
    ("证", ["证"]),                                   # a lone CJK character is its own term
    ("居 证", ["居", "证"]),
    ("居住证？怎么办！", ["居住", "住证", "怎么", "么办"]),   # punctuation splits runs
    ("ＩＣ卡 补办", ["ic", "卡", "补办"]),                # NFKC: full-width letters; case folded
    ("12345热线", ["12345", "热线"]),
    ("社保 社保 社保", ["社保"]),                        # distinct terms, first appearance order
    ("Straße", ["strasse"]),
    ("café", ["café"]),                              # NFKC composes the accent into the word
    ("", []),
    ("   \t\n", []),
    ("%_\\'\"; DROP TABLE knowledge_terms; --", ["drop", "table", "knowledge", "terms"]),
    ("' OR 1=1 --", ["or", "1"]),
    ("😀🎉👍🏽", []),                                  # emoji are symbols: no term
    ("\x00\x01\x7f", []),                            # control characters
    ("\ud800\udfff", []),                            # unpaired surrogates (from a lenient JSON decoder)
    ("a\x00b", ["a", "b"]),                          # NUL separates
    ("ｱｲｳ", ["アイ", "イウ"]),                          # half-width katakana → full-width, bigrams
    ("x" * 100, ["x" * 32]),                         # a long word is cut
]


@pytest.mark.parametrize(("query", "terms"), QUERIES, ids=[repr(q[:20]) for q, _ in QUERIES])
def test_query_terms(query: str, terms: list[str]) -> None:
    assert query_terms(query) == terms


INDEX = [
    # (title, body, expected subset of {term: weight})
    ("居住证办理", "", {"居住": TITLE_WEIGHT, "住证": TITLE_WEIGHT, "居": TITLE_WEIGHT, "证": TITLE_WEIGHT,
                     "证办": TITLE_WEIGHT}),
    ("社保", "社保卡 社保", {"社保": TITLE_WEIGHT + 17, "社": TITLE_WEIGHT + 17, "卡": 10, "保卡": 10}),
    ("证", "证" * 500, {"证": TITLE_WEIGHT + 72, "证证": 72}),   # saturated: 10 × (1 + ln 499)
    ("ＡＢＣ 123", "abc", {"abc": TITLE_WEIGHT + 10, "123": TITLE_WEIGHT}),
]


@pytest.mark.parametrize(("title", "body", "expected"), INDEX)
def test_index_terms(title: str, body: str, expected: dict[str, int]) -> None:
    terms = index_terms(title, body)
    assert {t: terms.get(t) for t in expected} == expected


@pytest.mark.parametrize(("count", "weight"), [(0, 0), (1, 10), (2, 17), (3, 21), (10, 33), (100, 56)])
def test_body_weight_saturates(count: int, weight: int) -> None:
    assert body_weight(count) == weight


def test_index_has_unigrams_a_one_character_query_finds() -> None:
    terms = index_terms("办理居住证", "需要身份证")
    for q in ("居", "证", "身"):
        assert set(query_terms(q)) <= set(terms)
    assert set(query_terms("办理居住证需要哪些材料")) & set(terms) >= {"办理", "居住", "住证", "需要"}


NORMALISE = [("ＡＢＣ１２３", "abc123"), ("㈱", "(株)"), ("Ⅻ", "xii"), ("ﬁ", "fi"), ("居住證", "居住證")]


@pytest.mark.parametrize(("text", "expected"), NORMALISE)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def _hostile(rng: random.Random, size: int) -> str:
    """``size`` characters of any code point, surrogates and NUL included."""
    return "".join(chr(rng.randrange(0x110000)) for _ in range(size))


@pytest.mark.parametrize("seed", range(20))
def test_any_text_becomes_a_bounded_list_of_letter_terms(seed: int) -> None:
    rng = random.Random(seed)
    text = _hostile(rng, 10_240) + "居住证" * rng.randrange(3)
    terms = query_terms(text)
    assert len(terms) <= MAX_QUERY_TERMS and len(set(terms)) == len(terms)
    for t in terms:
        assert 1 <= len(t) <= 32
        assert all(not ("\ud800" <= c <= "\udfff") and c.isprintable() for c in t), repr(t)
        t.encode("utf-8")   # storable and sendable: no surrogate


def test_a_long_query_is_read_only_so_far() -> None:
    assert query_terms("居住证" + "。" * 600 + "社保") == ["居住", "住证"]
