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


DIALABLE = re.compile(r"^[0-9]{5,20}$")
"""A caller number the platform calls back: digits only, 5 to 20 (no anonymous, no short codes)."""


def dialable(number: str | None) -> bool:
    return bool(number) and DIALABLE.fullmatch(number or "") is not None
