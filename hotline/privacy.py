"""Complainants' identity is confidential (GB/T 33358): one way to mask a caller number.

13812341234 becomes 138****1234 (the first 3 and the last 4 digits stay); 5-7 digits keep the
last 2; shorter numbers are all stars; anything that is not a number (``anonymous``, or a number
masked already) is returned as it is, so masking twice changes nothing.
"""

from __future__ import annotations


def mask_number(number: str | None) -> str | None:
    if number is None:
        return None
    plus = "+" if number.startswith("+") else ""
    digits = number[len(plus):]
    if not digits.isdigit():
        return number
    n = len(digits)
    if n >= 8:
        shown = digits[:3] + "*" * (n - 7) + digits[-4:]
    elif n >= 5:
        shown = "*" * (n - 2) + digits[-2:]
    else:
        shown = "*" * n
    return plus + shown
