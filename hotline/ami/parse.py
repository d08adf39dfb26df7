"""Pure AMI message parsing, tolerant of what a socket can deliver.

AMI messages are ``Key: Value`` lines ended by an empty line. A line without
``": "`` is kept as a key with an empty value only when it ends with ``:``
(Asterisk sends ``Userfield`` that way); anything else is counted as malformed
and skipped. Control characters are removed from values so no header value can
smuggle a line break into a log or a later action.
"""

from __future__ import annotations

import codecs
from typing import Iterator

EOM = "\r\n\r\n"
MAX_MESSAGE = 256 * 1024  # a larger block is garbage or an attack: dropped


def clean(value: str) -> str:
    return "".join(c for c in value if c >= " " and c != "\x7f" or c == "\t")


def parse_block(block: str) -> tuple[dict[str, str], int]:
    """One message block -> (headers, number of malformed lines). Repeated keys keep the first value
    and add ``Key#2`` …, so nothing is silently overwritten."""
    headers: dict[str, str] = {}
    bad = 0
    for line in block.replace("\r\n", "\n").split("\n"):
        if not line:
            continue
        key, sep, value = line.partition(": ")
        if not sep:
            if line.endswith(":") and " " not in line:
                key, value = line[:-1], ""
            else:
                bad += 1
                continue
        key = clean(key).strip()
        if not key or len(key) > 128:
            bad += 1
            continue
        n, k = 2, key
        while k in headers:
            k = f"{key}#{n}"
            n += 1
        headers[k] = clean(value)
    return headers, bad


class StreamSplitter:
    """Feeds raw bytes, yields complete message blocks. UTF-8 split across reads is kept intact."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self.dropped = 0

    def feed(self, data: bytes) -> Iterator[str]:
        self._buf += self._decoder.decode(data)
        while True:
            i = self._buf.find(EOM)
            if i < 0:
                # tolerate bare LF framing
                j = self._buf.find("\n\n")
                if j < 0:
                    break
                i, n = j, 2
            else:
                j = self._buf.find("\n\n")
                n = 4
                if 0 <= j < i:
                    i, n = j, 2
            block, self._buf = self._buf[:i], self._buf[i + n:]
            if block.strip():
                yield block
        if len(self._buf) > MAX_MESSAGE:
            self.dropped += 1
            self._buf = ""
