"""Text to search terms (grams), the same on both stores: pure functions, no database.

A text is normalised (NFKC, case folded) and cut into runs:

* a **CJK run** (characters of category ``Lo``: Han, kana, Hangul, ... scripts written without
  spaces) gives its character bigrams (居住证 → 居住, 住证) and, in the index, its unigrams;
* a **word run** (other letters, digits and combining marks: ``ic``, ``12345``, ``café``) gives the
  word itself, cut to :data:`MAX_WORD` characters;
* everything else separates runs: spaces, punctuation, symbols and emoji, control characters (NUL),
  unpaired surrogates, ``%``, ``_``, ``\\``, ``'``. None of them can reach the store.

A query is normalised the same way but bounded (:func:`query_terms`): only its first
:data:`MAX_QUERY_CHARS` characters are read, at most :data:`MAX_QUERY_TERMS` distinct terms kept,
and a CJK run gives unigrams only when it is one character long (居 alone), so 10 KB of any
Unicode is a few microseconds of work and at most a fixed number of terms.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Iterator

MAX_WORD = 32            # a longer word is cut (the gram column holds 64 characters)
MAX_QUERY_CHARS = 512    # of the raw query, and again after NFKC (which may lengthen a text)
MAX_QUERY_TERMS = 32
TITLE_WEIGHT = 30        # a term of the title: as much as seven occurrences in the fields


def _kind(ch: str) -> str:
    """``c`` CJK-like letter, ``w`` word character, ``s`` separator."""
    cat = unicodedata.category(ch)
    if cat == "Lo":
        return "c"
    if cat[0] in "LN" or cat in ("Mn", "Mc"):
        return "w"
    return "s"


def normalise(text: str) -> str:
    """NFKC and case folding: full-width ＡＢＣ１２３ → abc123, ㈱ → (株), Straße → strasse."""
    return unicodedata.normalize("NFKC", text).casefold()


def runs(text: str) -> Iterator[tuple[str, str]]:
    """(kind, run) of the normalised ``text``: ``c`` CJK runs and ``w`` word runs, in order."""
    kind, start = "s", 0
    for i, ch in enumerate(text):
        k = _kind(ch)
        if k != kind:
            if kind != "s":
                yield kind, text[start:i]
            kind, start = k, i
    if kind != "s":
        yield kind, text[start:]


def _terms(text: str, *, unigrams: bool) -> Iterator[str]:
    for kind, run in runs(normalise(text)):
        if kind == "w":
            yield run[:MAX_WORD]
            continue
        if unigrams or len(run) == 1:
            yield from run
        for i in range(len(run) - 1):
            yield run[i:i + 2]


def body_weight(count: int) -> int:
    """The weight of ``count`` occurrences in the fields: 10 × (1 + ln count), so the tenth adds
    little (a field repeating a common word does not outrank a rare word of the question)."""
    return round(10 * (1 + math.log(count))) if count else 0


def index_terms(title: str, body: str) -> dict[str, int]:
    """Each term of an entry with its weight: :data:`TITLE_WEIGHT` when in the title, plus
    :func:`body_weight` of its occurrences in the fields; CJK unigrams included (a one-character
    query finds them)."""
    in_title = set(_terms(title, unigrams=True))
    counts = Counter(_terms(body, unigrams=True))
    return {term: (TITLE_WEIGHT if term in in_title else 0) + body_weight(counts[term])
            for term in in_title | set(counts)}


def query_terms(query: str) -> list[str]:
    """The distinct terms of a query in order of appearance, bounded (module docstring);
    ``[]`` when it has no letter or digit at all."""
    text = normalise(query[:MAX_QUERY_CHARS])[:MAX_QUERY_CHARS]
    out: dict[str, None] = {}
    for term in _terms(text, unigrams=False):
        out.setdefault(term, None)
        if len(out) >= MAX_QUERY_TERMS:
            break
    return list(out)
