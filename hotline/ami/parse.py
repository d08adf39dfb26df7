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
    """Feeds raw bytes, yields complete message blocks. UTF-8 split across reads is kept intact.

    A block longer than :data:`MAX_MESSAGE` is never yielded (``dropped`` counts it), whether its
    terminator is still missing or arrived in the same read.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self._scan = 0  # the buffer before this index holds no terminator: each byte is searched once
        self.dropped = 0

    def _terminator(self) -> tuple[int, int]:
        i = self._buf.find(EOM, self._scan)
        j = self._buf.find("\n\n", self._scan)  # tolerate bare LF framing
        if j >= 0 and (i < 0 or j < i):
            return j, 2
        return i, 4

    def feed(self, data: bytes) -> Iterator[str]:
        self._buf += self._decoder.decode(data)
        while True:
            i, n = self._terminator()
            if i < 0:
                break
            block, self._buf = self._buf[:i], self._buf[i + n:]
            self._scan = 0
            if len(block) > MAX_MESSAGE:
                self.dropped += 1
                continue
            if block.strip():
                yield block
        if len(self._buf) > MAX_MESSAGE:
            self.dropped += 1
            self._buf = ""
        # a terminator (at most 4 characters) may start in the last 3 characters
        self._scan = max(0, len(self._buf) - 3)
