"""Reading Asterisk's own accounts of the calls: app_queue's queue_log and the cdr_custom JSON log.

Both are written by Asterisk, but a queue_log line carries the caller-ID app_queue saw
(ENTERQUEUE's data), and any file may be cut short by a crash or a full disk: every line that is
not what Asterisk writes is *skipped* with its file and line number, never fatal, and never guessed.

queue_log (``asterisk/static/logger.conf``): ``<epoch>|<callid>|<queue>|<agent>|<event>|<data>...``,
``callid`` the Uniqueid of the queued channel (``NONE`` for the queue's own lines, e.g.
``QUEUESTART``, ``CONFIGRELOAD``). CDR log (``asterisk/static/cdr_custom.conf``): one JSON object a
line with ``uniqueid``, ``linkedid``, ``channel``, ``dcontext``, ``accountcode``, ``start`` ...
(epoch seconds). Rotated files (``queue_log.<unix time>``, ``hotline-cdr.json.1``) are read too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from hotline.spine.ids import CALL_ID_PLAIN

_CALL_ID = re.compile(rf"^{CALL_ID_PLAIN}$")
_EVENT = re.compile(r"^[A-Z_]{3,32}$")
_NON_CALL = re.compile(r"^[A-Z_]{1,16}$")   # NONE (the queue's own lines), MANAGER (member changes)
_TOKEN = re.compile(r"^[^\x00-\x1f|]{0,128}$")
_ROTATED = re.compile(r"^[.-][0-9][0-9_T:-]*$")   # name.1, name-20250101, name.1735689600 (never compressed)
MAX_LINE = 4096

QUEUE_EVENTS = frozenset({
    "ENTERQUEUE", "CONNECT", "ABANDON", "EXITWITHTIMEOUT", "EXITWITHKEY", "EXITEMPTY", "COMPLETECALLER",
    "COMPLETEAGENT", "TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER", "RINGNOANSWER", "RINGCANCELED",
    "SYSCOMPAT", "AGENTDUMP", "AGENTLOGIN", "AGENTLOGOFF", "ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE",
    "PAUSEALL", "UNPAUSEALL", "PENALTY", "QUEUESTART", "CONFIGRELOAD", "DID", "INFO",
})
"""Events app_queue writes. An unknown name in a well-formed line is kept (a newer Asterisk) but
never counted."""


@dataclass(frozen=True)
class Skipped:
    source: str          # the file's name
    line: int            # 1-based
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"source": self.source, "line": self.line, "reason": self.reason}


@dataclass(frozen=True)
class QueueEvent:
    at: float
    callid: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...]


@dataclass(frozen=True)
class CdrRow:
    uniqueid: str
    linkedid: str
    channel: str
    dcontext: str
    accountcode: str
    start: float
    answer: float | None
    end: float | None
    disposition: str


@dataclass
class Parsed:
    queue: list[QueueEvent] = field(default_factory=list)
    cdrs: list[CdrRow] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _number(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if 0 < value < 1e11 else None


def queue_line(line: str) -> QueueEvent | str:
    """One queue_log line, or why it is not one."""
    if len(line) > MAX_LINE:
        return "line too long"
    parts = line.split("|")
    if len(parts) < 5:
        return "fewer than 5 fields"
    at = _number(parts[0])
    if at is None:
        return "time is not epoch seconds"
    callid, queue, agent, event = parts[1:5]
    if event not in QUEUE_EVENTS and not _EVENT.match(event):
        return "not an event name"
    if not (_NON_CALL.match(callid) or _CALL_ID.match(callid)):
        return "callid is not a call id"
    if not (_TOKEN.match(queue) and _TOKEN.match(agent)):
        return "queue or agent has control characters"
    return QueueEvent(at, callid, queue, agent, event, tuple(parts[5:]))


def _text(obj: dict[str, object], key: str) -> str:
    value = obj.get(key, "")
    return value if isinstance(value, str) else str(value)


def _time(obj: dict[str, object], key: str) -> float | None:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    return _number(str(value)) if str(value) not in ("", "0", "0.0", "0.000000") else None


def cdr_line(line: str) -> CdrRow | str:
    """One CDR JSON line, or why it is not one."""
    if len(line) > MAX_LINE:
        return "line too long"
    try:
        obj = json.loads(line)
    except ValueError:
        return "not JSON"
    if not isinstance(obj, dict):
        return "not a JSON object"
    uniqueid, linkedid = _text(obj, "uniqueid"), _text(obj, "linkedid")
    if not (_CALL_ID.match(uniqueid) and _CALL_ID.match(linkedid)):
        return "uniqueid or linkedid is not a call id"
    start = _time(obj, "start")
    if start is None:
        return "start is not epoch seconds"
    return CdrRow(uniqueid=uniqueid, linkedid=linkedid, channel=_text(obj, "channel")[:128],
                  dcontext=_text(obj, "dcontext")[:80], accountcode=_text(obj, "accountcode")[:80], start=start,
                  answer=_time(obj, "answer"), end=_time(obj, "end"), disposition=_text(obj, "disposition")[:32])


def parse_queue_log(lines: Iterable[str], source: str = "queue_log", into: Parsed | None = None) -> Parsed:
    out = into or Parsed()
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line:
            continue
        got = queue_line(line)
        if isinstance(got, str):
            out.skipped.append(Skipped(source, n, got))
        else:
            out.queue.append(got)
    return out


def parse_cdr_log(lines: Iterable[str], source: str = "hotline-cdr.json", into: Parsed | None = None) -> Parsed:
    out = into or Parsed()
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        got = cdr_line(line)
        if isinstance(got, str):
            out.skipped.append(Skipped(source, n, got))
        else:
            out.cdrs.append(got)
    return out


def log_files(current: Path) -> list[Path]:
    """``current`` and its rotated siblings (plain renames only), oldest name last is fine: the
    report groups by call, not by file order."""
    try:
        siblings = [p for p in current.parent.iterdir()
                    if p.name.startswith(current.name) and _ROTATED.match(p.name[len(current.name):])]
    except OSError:
        siblings = []
    return sorted(siblings) + ([current] if current.exists() else [])


def _lines(path: Path) -> Iterator[str]:
    with path.open("r", encoding="utf-8", errors="replace", newline="\n") as fh:
        yield from fh


def read(queue_log: Path | None, cdr_log: Path | None) -> tuple[Parsed, list[str]]:
    """Everything in both logs and their rotations; the second value names the files read."""
    out, names = Parsed(), []
    for path in log_files(queue_log) if queue_log else []:
        parse_queue_log(_lines(path), path.name, out)
        names.append(path.name)
    for path in log_files(cdr_log) if cdr_log else []:
        parse_cdr_log(_lines(path), path.name, out)
        names.append(path.name)
    return out, names
