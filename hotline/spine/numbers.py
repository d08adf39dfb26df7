"""The caller-number rule: what a telephone number may look like, and what becomes ``anonymous``.

A number is digits with an optional leading ``+``, at most 32 characters (:data:`NUMBER`). Anything
else becomes ``anonymous`` rather than a guess: a wrong number would mislead repeat-caller
matching and the seat's screen, while ``anonymous`` is a state the hotline handles. Three readers
apply the rule to three kinds of input, each in one function here:

* :func:`caller_number`: what FastAGI reads from Asterisk (``agi_callerid``, the dialled number).
  Formatting (spaces, ``-``, ``.``, parentheses) is dropped; anything else, including a number
  over 32 characters, is ``anonymous``.
* :func:`recorded_number`: a number on a call record, read from the CEL log (the dialplan already
  FILTERed it to digits and ``+``): anything but digits and ``+`` is dropped and it is cut to 32
  characters before the rule applies, so a record written before keeps its number.
* :func:`dialled_digits`: the number a callback try dialled (digits only: the callback dialler
  dials no ``+``), cut to 32.

:func:`dialable`: a caller number the platform calls back (digits only, 5 to 20: no anonymous, no
short codes); the dialplan checks the same before it offers a callback.

**One person, one key** (:func:`person_key`): the same caller reaches us as ``013812345678`` (a
carrier's trunk ``0`` before another province's mobile), ``+8613812345678``, ``008613812345678``,
``8613812345678`` or ``13812345678``; a fixed line as ``037161234567`` or ``+8637161234567``. Every
comparison of caller numbers (repeat-caller priority, callbacks, the caller's history and the
work-order search by number) compares keys, never the numbers as received (records keep those).
The key is E.164: ``+86`` and the national number without its trunk ``0`` for a mainland mobile or
a fixed line given with its area code; ``+<digits>`` for another country's number (``00`` or
``+``); anything else (short service numbers, a local subscriber number without area code,
``anonymous``, a string that is not a number at all) is its own key: never an exception.
:func:`national` is the one reading of a country prefix (the 回访 outbound rule uses it too).
"""

from __future__ import annotations

import re

ANONYMOUS = "anonymous"
MAX_CHARS = 32
NUMBER = re.compile(r"\+?[0-9]{1,32}")          # fullmatch
_FORMATTING = str.maketrans("", "", " -().")


def valid(number: str) -> bool:
    """Whether ``number`` is a number by the rule (as it is, nothing dropped)."""
    return NUMBER.fullmatch(number) is not None


def compact(raw: str) -> str | None:
    """``raw`` without formatting when it is then a number by the rule, else None."""
    text = raw.strip().translate(_FORMATTING)
    return text if len(text) <= MAX_CHARS and valid(text) else None


def caller_number(raw: str) -> str:
    """A number as FastAGI reads it: formatting dropped, else ``anonymous``."""
    return compact(raw) or ANONYMOUS


def recorded_number(raw: str) -> str:
    """A number on a call record: digits and ``+`` kept, at most 32, else ``anonymous``."""
    kept = "".join(c for c in raw if c.isdigit() or c == "+")[:MAX_CHARS]
    return kept if valid(kept) else ANONYMOUS


def dialled_digits(raw: str) -> str:
    """The digits a callback try dialled, at most 32, else ``anonymous``."""
    return "".join(c for c in raw if c.isdigit())[:MAX_CHARS] or ANONYMOUS


MOBILE = re.compile(r"1[3-9][0-9]{9}")                 # a mainland mobile, national form (fullmatch)
FIXED = re.compile(r"0[1-9][0-9]{8,10}")               # 0 + area code (2-3 digits) + subscriber (7-8)
COUNTRY = "86"


def national(digits: str) -> str | None:
    """The mainland national form of ``digits`` (no ``+``): a ``0086``/``86`` country prefix of a
    mobile dropped (its 11 digits), of anything else replaced by the trunk ``0``; None when it is
    another country's number (``00`` and another country code); other numbers as they are."""
    for prefix in ("00" + COUNTRY, COUNTRY):
        if digits.startswith(prefix) and len(digits) > len(prefix) + 8:
            rest = digits[len(prefix):]
            return rest if MOBILE.fullmatch(rest) else "0" + rest.lstrip("0")
    if digits.startswith("00"):
        return None
    return digits


def person_key(raw: str) -> str:
    """The key of the person behind a caller number (see the module docstring): E.164 for a
    mainland mobile or fixed line and for another country's number, else ``raw`` itself."""
    text = compact(raw) if raw else None
    if text is None or text == "+":
        return raw
    digits = text.lstrip("+")
    if text.startswith("+"):
        if not digits.startswith(COUNTRY):
            return text                                  # another country: E.164 already
        rest = digits[len(COUNTRY):]
        nat = rest if MOBILE.fullmatch(rest) else "0" + rest.lstrip("0")
    else:
        home = national(digits)
        if home is None:
            return "+" + digits[2:] if len(digits) > 4 else text   # 00 + another country
        nat = home
    mobile = nat[1:] if nat.startswith("0") and MOBILE.fullmatch(nat[1:]) else nat
    if MOBILE.fullmatch(mobile):
        return "+" + COUNTRY + mobile
    if FIXED.fullmatch(nat):
        return "+" + COUNTRY + nat[1:]
    return text


DIALABLE = re.compile(r"^[0-9]{5,20}$")
"""A caller number the platform calls back: digits only, 5 to 20 (no anonymous, no short codes)."""


def dialable(number: str | None) -> bool:
    return bool(number) and DIALABLE.fullmatch(number or "") is not None
