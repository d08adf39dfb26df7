"""Where the controller stopped reading the CEL log, with the identity of the file it read.

A bare byte offset is not enough: the log may be rotated (renamed, a new file started),
truncated or replaced while the controller is down, and reading the new file from the old
offset loses every record before it. A :class:`CelPosition` is the offset plus the file's
device and inode and a fingerprint (SHA-256 of the bytes just before the offset, at most
:data:`FINGERPRINT_BYTES`). :func:`open_segments` turns it into what to read next:

* the same file, unchanged up to the offset: from the offset;
* the file was rotated (renamed beside the log, e.g. ``hotline-cel.json.1``, found by its
  inode): that file from the offset to its end, then every newer plain rotated file, then
  the current log from 0;
* truncated, replaced, or the file read is gone: the current log from 0 (never the old
  offset);
* nothing read yet (no position): every plain rotated file, oldest first, then the log. Records
  read twice are harmless: every write is an upsert keyed by the Linkedid.

Compressed rotations (``.gz`` ...) are never read: the shipped logrotate rule keeps plain
renames (see :func:`hotline.asterisk_runtime.Runtime.logrotate_rule`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

FINGERPRINT_BYTES = 4096
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".z")


@dataclass(frozen=True)
class CelPosition:
    offset: int
    dev: int | None = None          # None: a position saved before identities (a bare offset)
    inode: int | None = None
    fingerprint: str | None = None

    @classmethod
    def coerce(cls, value: CelPosition | int | None) -> CelPosition:
        if isinstance(value, CelPosition):
            return value
        return cls(max(0, int(value or 0)))

    def to_json(self) -> str:
        return json.dumps({"offset": self.offset, "dev": self.dev, "inode": self.inode,
                           "fingerprint": self.fingerprint}, sort_keys=True)

    @classmethod
    def from_text(cls, text: str) -> CelPosition:
        """A saved position; a bare number (the format before identities) is an offset alone.
        Raises ValueError on anything else."""
        text = text.strip()
        if not text:
            return cls(0)
        if text.isdigit():
            return cls(int(text))
        d = json.loads(text)
        if not isinstance(d, dict) or not isinstance(d.get("offset"), int) or d["offset"] < 0:
            raise ValueError(f"not a CEL position: {text[:200]!r}")
        dev, inode, fp = d.get("dev"), d.get("inode"), d.get("fingerprint")
        return cls(d["offset"], dev if isinstance(dev, int) else None, inode if isinstance(inode, int) else None,
                   fp if isinstance(fp, str) else None)


def fingerprint(fh: BinaryIO, offset: int) -> str:
    start = max(0, offset - FINGERPRINT_BYTES)
    fh.seek(start)
    return hashlib.sha256(fh.read(offset - start)).hexdigest()


@dataclass
class Segment:
    """An open file of the CEL log and where to start reading it."""
    fh: BinaryIO
    path: Path
    start: int
    dev: int
    inode: int
    current: bool            # the live log (path) rather than a rotated file

    def position(self, offset: int) -> CelPosition:
        return CelPosition(offset, self.dev, self.inode, fingerprint(self.fh, offset))

    def size(self) -> int:
        return os.fstat(self.fh.fileno()).st_size

    def close(self) -> None:
        self.fh.close()


def open_file(path: Path, start: int, current: bool) -> Segment | None:
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        return None
    st = os.fstat(fh.fileno())
    return Segment(fh, path, start, st.st_dev, st.st_ino, current)


def _matches(seg: Segment, pos: CelPosition) -> bool:
    return (seg.dev, seg.inode) == (pos.dev, pos.inode) and seg.size() >= pos.offset and \
        (pos.fingerprint is None or fingerprint(seg.fh, pos.offset) == pos.fingerprint)


def rotated_files(path: Path) -> list[Path]:
    """Plain files beside ``path`` whose name extends it (``name.1``, ``name-20250101``), oldest first."""
    out = []
    for p in path.parent.glob(path.name + "?*"):
        if p.name.lower().endswith(_COMPRESSED) or not p.is_file():
            continue
        out.append(p)
    return sorted(out, key=lambda p: (p.stat().st_mtime, p.name))


def _rotated_or_none(path: Path) -> list[Path]:
    try:
        return rotated_files(path)
    except OSError:
        return []


def open_segments(path: Path, saved: CelPosition | int | None) -> list[Segment]:
    """What to read from ``saved`` on, in order (the caller closes them). Empty: no log yet."""
    pos = CelPosition.coerce(saved)
    current = open_file(path, 0, current=True)
    if pos.inode is None and pos.offset == 0:   # nothing read yet: every plain rotated file, then the log
        rotated = [seg for seg in (open_file(p, 0, current=False) for p in _rotated_or_none(path)) if seg is not None]
        rotated = [seg for seg in rotated if current is None or (seg.dev, seg.inode) != (current.dev, current.inode)]
        return rotated + ([current] if current is not None else [])
    if pos.inode is None:   # a bare offset: the old rule (from the offset unless the file shrank)
        if current is not None and current.size() >= pos.offset:
            current.start = pos.offset
        return [current] if current is not None else []
    if current is not None and (current.dev, current.inode) == (pos.dev, pos.inode):
        if _matches(current, pos):
            current.start = pos.offset
        else:
            log.warning("CEL log %s was truncated or rewritten since offset %d: reading it from the start",
                        path, pos.offset)
        return [current]
    out: list[Segment] = []
    try:
        candidates = rotated_files(path)
    except OSError:
        candidates = []
    found_at = None
    for i, p in enumerate(candidates):
        seg = open_file(p, pos.offset, current=False)
        if seg is None:
            continue
        if (seg.dev, seg.inode) == (pos.dev, pos.inode) and _matches(seg, pos):
            out.append(seg)
            found_at = i
            break
        seg.close()
    if found_at is not None:
        log.info("CEL log %s was rotated: reading %s from offset %d first", path, out[0].path, pos.offset)
        for p in candidates[found_at + 1:]:
            seg = open_file(p, 0, current=False)
            if seg is not None and (current is None or (seg.dev, seg.inode) != (current.dev, current.inode)):
                out.append(seg)
    elif current is not None:
        log.warning("CEL log %s: the file read up to offset %d (inode %s) is gone or was replaced; "
                    "reading the current log from the start", path, pos.offset, pos.inode)
    if current is not None:
        out.append(current)
    return out
