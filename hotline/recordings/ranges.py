"""HTTP byte ranges (RFC 9110, section 14) for one file: what part of it a request asks for.

One range is served (``bytes=0-``, ``bytes=100-199``, ``bytes=-500``): what a browser's
``<audio>`` sends to start and to seek. What this server ignores, and answers with the whole
file (200), as RFC 9110 allows: another unit than ``bytes``, several ranges, a syntax error, a
last byte before the first, and an ``If-Range`` that is not the file's current validator. A
range that starts at or past the end of the file (or an empty suffix) is
``range-not-satisfiable`` (416, ``Content-Range: bytes */<size>``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import formatdate

from hotline.exceptions import RangeNotSatisfiable

_ONE = re.compile(r"bytes=([0-9]{0,19})-([0-9]{0,19})", re.IGNORECASE)


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int      # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


@dataclass(frozen=True)
class Validators:
    """The file's ``ETag`` and ``Last-Modified``, both from its size and modification time."""

    etag: str
    last_modified: str

    @classmethod
    def of(cls, size: int, mtime_ns: int) -> "Validators":
        return cls(etag=f'"{size:x}-{mtime_ns:x}"', last_modified=formatdate(mtime_ns / 1e9, usegmt=True))


def requested(value: str | None, size: int, *, if_range: str | None = None,
              validators: Validators | None = None) -> ByteRange | None:
    """The one range ``value`` (a ``Range`` header) asks for in a file of ``size`` bytes, or None
    for the whole file (no header, or one this server ignores: see the module docstring)."""
    if value is None:
        return None
    if if_range is not None and (validators is None or if_range.strip() not in
                                 (validators.etag, validators.last_modified)):
        return None   # the file changed since the client's first part: send it whole
    m = _ONE.fullmatch(value.strip())
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if not first and not last:
        return None
    if not first:   # a suffix: the last n bytes
        n = int(last)
        if n == 0 or size == 0:
            raise RangeNotSatisfiable(value, size)
        return ByteRange(max(0, size - n), size - 1)
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable(value, size)
    return ByteRange(start, min(int(last), size - 1) if last else size - 1)
