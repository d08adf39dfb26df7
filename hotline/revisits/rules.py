"""The outbound number rule: which numbers a 回访 call may dial, and in what form. Pure.

A number is first normalised (:func:`hotline.spine.numbers.compact`: formatting dropped; a
``+86``/``0086``/``86`` country prefix of an 11-digit mobile or a national fixed line dropped by
:func:`hotline.spine.numbers.national`, the one reading of it), then it must be one of:

* **mobile**: ``1[3-9]`` and 9 more digits (11 digits), optionally with the ``0`` a carrier puts
  before another province's mobile; dialled as the 11 digits;
* **local fixed line**: a subscriber number of the site's own area (``revisits.area_code``): 7 or 8
  digits whose first digit is 2-8, alone or after the area code (``0393 2345678``); dialled as the
  subscriber number (a local call).

Everything else is refused, with a reason (a stable tag):

* ``international``: ``00`` or ``+`` with another country code;
* ``long_distance``: another area's fixed line (``0`` and another area code);
* ``premium``: service and information numbers: a subscriber number starting 1 (1xx special
  services, 168 information lines) or 9 (95xxx/96xxx service numbers), 400/800 numbers (10 digits), 1900 and
  the like (every number starting 1 that is not a mobile); and a number starting with one of
  ``revisits.deny_prefixes`` (checked on the number as given and as dialled);
* ``no_area_code``: a fixed line while the site names no ``area_code``;
* ``not_a_number``: anonymous, empty, or not a telephone number at all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from hotline.spine.numbers import MOBILE, compact, national

SUBSCRIBER = re.compile(r"[2-8][0-9]{6,7}")
REASONS = ("international", "long_distance", "premium", "no_area_code", "not_a_number")


@dataclass(frozen=True)
class Verdict:
    """The rule's answer: ``dial`` the digits to dial (None when refused) and its ``kind``
    (``mobile``, ``fixed``) or the refusal's ``reason`` (one of :data:`REASONS`)."""

    number: str
    dial: str | None
    kind: str | None = None
    reason: str | None = None

    @property
    def allowed(self) -> bool:
        return self.dial is not None


def check(raw: str | None, *, area_code: str | None, deny_prefixes: Sequence[str] = ()) -> Verdict:
    """Whether the platform may dial ``raw`` for a 回访, and the digits it dials."""
    given = (raw or "").strip()
    text = compact(given) if given else None
    if text is None or text == "+":
        return Verdict(given, None, reason="not_a_number")
    if text.startswith("+"):
        if not text.startswith("+86"):
            return Verdict(given, None, reason="international")
        text = text[1:]
    home = national(text)
    if home is None:
        return Verdict(given, None, reason="international")
    verdict = _domestic(given, home, area_code)
    if verdict.dial is not None and any(home.startswith(p) or verdict.dial.startswith(p)
                                        for p in deny_prefixes):
        return Verdict(given, None, reason="premium")
    return verdict


def _domestic(given: str, national: str, area_code: str | None) -> Verdict:
    mobile = national[1:] if national.startswith("0") and MOBILE.fullmatch(national[1:]) else national
    if MOBILE.fullmatch(mobile):
        return Verdict(given, mobile, kind="mobile")
    if national.startswith(("1", "9")) or (national.startswith(("400", "800")) and len(national) == 10):
        return Verdict(given, None, reason="premium")
    if national.startswith("0"):
        if area_code is None:
            return Verdict(given, None, reason="no_area_code")
        if not national.startswith(area_code):
            return Verdict(given, None, reason="long_distance")
        subscriber = national[len(area_code):]
        if subscriber.startswith(("1", "9")):
            return Verdict(given, None, reason="premium")
        if SUBSCRIBER.fullmatch(subscriber):
            return Verdict(given, subscriber, kind="fixed")
        return Verdict(given, None, reason="not_a_number")
    if SUBSCRIBER.fullmatch(national):
        if area_code is None:
            return Verdict(given, None, reason="no_area_code")
        return Verdict(given, national, kind="fixed")
    return Verdict(given, None, reason="not_a_number")
