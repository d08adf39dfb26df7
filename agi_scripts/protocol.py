"""The AGI wire protocol as pure functions: no sockets, no asyncio.

Kept free of I/O so every rule that protects the call path (what we accept from
Asterisk, what we are willing to send back) is table-tested in isolation, and the
FastAGI server and the classic diagnostic script share one implementation.

Inbound (Asterisk -> us):

* the environment block: ``agi_key: value`` lines ending with an empty line;
* one response per command: ``200 result=1 (data) endpos=0``, ``510 ...``,
  a multi-line ``520-`` usage block ending with ``520 End of proper usage.``,
  ``511`` on a dead channel, and the bare ``HANGUP`` line Asterisk sends when
  the caller hangs up.

Outbound (us -> Asterisk): one command line built by a named builder. Asterisk
reads commands into a 2048-byte buffer (``AGI_BUF_LEN`` in res_agi.c) and treats
whatever follows a newline, *or* the 2048th byte, as the next command; so the
builders strip line breaks and refuse over-long lines: either would let a hostile
caller-ID smuggle in a second command.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NewType

log = logging.getLogger(__name__)

MAX_ENV_LINE_BYTES = 4096
"""Longer environment lines are skipped: Asterisk never sends one this long."""

MAX_ENV_BYTES = 32 * 1024
"""An environment block larger than this is not from Asterisk (it sends about 1 KiB)."""

MAX_COMMAND_BYTES = 2047
"""res_agi reads a command into ``char buf[AGI_BUF_LEN=2048]``; one byte is the NUL."""

MAX_RESPONSE_LINES = 64
"""A ``520-`` usage block longer than this is treated as complete (and an error)."""

MAX_VERBOSE_CHARS = 500
"""VERBOSE messages are cut here: 500 chars x 4 UTF-8 bytes still fits one command."""

MAX_SCRIPT_PARAMS = 32

AgiCommand = NewType("AgiCommand", str)
"""One command line (without the newline), only ever produced by the builders below."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ENV_KEY = re.compile(r"agi_[a-z0-9_]+")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_APPLICATION = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_RESPONSE_200 = re.compile(r"200 result=(?P<result>\S*)(?: \((?P<data>.*)\))?(?: \w+=\S*)*")


class AgiError(Exception):
    """Asterisk refused a command (510, 520, other non-200 codes), or the peer broke
    the protocol (a garbled response, an oversized environment block).

    The session cannot trust its state after this, so the server closes the
    connection and the fail-open dialplan carries on to the default queue.
    """

    def __init__(self, code: int, lines: Sequence[str]) -> None:
        super().__init__(f"AGI {code}: " + " / ".join(lines))
        self.code = code
        self.lines = tuple(lines)


class AgiHangup(Exception):
    """The channel is gone: Asterisk sent ``HANGUP`` or answered ``511`` (dead channel).

    Not an :class:`AgiError`: a caller hanging up is ordinary call flow, logged
    quietly, while an AgiError means a bug on one side of the protocol.
    """


@dataclass(frozen=True, slots=True)
class AgiResponse:
    """A ``200`` response. ``result`` stays a str: GET DATA returns digits such as
    ``0012`` or ``*1`` whose leading zeros and symbols an int would lose.
    ``data`` is the parenthesised part (a variable's value), None when absent.
    Trailing ``key=value`` pairs such as ``endpos`` are not kept: nothing reads them.
    """

    code: int
    result: str
    data: str | None


# --- inbound ------------------------------------------------------------------


def strip_control(value: str) -> str:
    """Remove C0/C1 control characters and Unicode line/paragraph separators.

    Any of them could end a command line, forge a log line or confuse a terminal.
    """
    return _CONTROL.sub("", value)


def parse_env_line(raw: bytes) -> tuple[str, str] | None:
    """One ``agi_key: value`` line (with or without its line ending) -> (key, value).

    Returns None, after logging why, for a line we will not use: over 4 KiB,
    not UTF-8, containing NUL (binary garbage, never sent by Asterisk), no
    ``": "`` separator, or a key that is not ``agi_[a-z0-9_]+``. Other control
    characters in the value are removed rather than rejecting the line, so a
    caller-ID name with a stray escape still reaches us. Only the line ending is
    stripped: ``agi_accountcode: `` (empty value) is a valid line.
    """
    line = raw.removesuffix(b"\n").removesuffix(b"\r")
    if len(line) > MAX_ENV_LINE_BYTES:
        log.warning("AGI env: skipped a line of %d bytes (limit %d)", len(line), MAX_ENV_LINE_BYTES)
        return None
    if b"\x00" in line:
        log.warning("AGI env: skipped a line containing NUL: %r", line[:80])
        return None
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        log.warning("AGI env: skipped a line that is not UTF-8: %r", line[:80])
        return None
    key, sep, value = text.partition(": ")
    if not sep or not _ENV_KEY.fullmatch(key):
        log.warning("AGI env: skipped a malformed line: %r", text[:80])
        return None
    return key, strip_control(value)


def parse_env(lines: Iterable[bytes]) -> dict[str, str]:
    """The environment block (without its terminating empty line) -> dict.

    Malformed lines are skipped (see :func:`parse_env_line`); a repeated key keeps
    its last value.
    """
    env: dict[str, str] = {}
    for raw in lines:
        item = parse_env_line(raw)
        if item is not None:
            env[item[0]] = item[1]
    return env


def is_env_end(raw: bytes) -> bool:
    """True for the empty line that ends the environment block (``\\n`` or ``\\r\\n``)."""
    return raw in (b"\n", b"\r\n")


def parse_script(script: str) -> tuple[str, dict[str, str]]:
    """``agi_network_script`` (``inbound?dialled=12333``) -> (``"inbound"``, params).

    The path loses its surrounding slashes; parameters are percent-decoded and
    stripped of control characters, since ``%0A`` would otherwise decode into a
    newline. More than :data:`MAX_SCRIPT_PARAMS` parameters raise ValueError
    (the dialplan sends one or two).
    """
    path, _, query = script.partition("?")
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_SCRIPT_PARAMS)
    params = {strip_control(k): strip_control(v) for k, v in pairs}
    return strip_control(urllib.parse.unquote(path)).strip("/"), params


def response_complete(lines: Sequence[str]) -> bool:
    """Whether ``lines`` (read so far, line endings stripped) form a whole response.

    Only a ``520-`` usage block spans lines; it ends with a ``520 `` line. The
    block is capped at :data:`MAX_RESPONSE_LINES` so a runaway peer cannot make
    us buffer forever.
    """
    if not lines:
        return False
    if not lines[0].startswith("520-") or len(lines) >= MAX_RESPONSE_LINES:
        return True
    return len(lines) > 1 and lines[-1].startswith("520 ")


def parse_response(lines: Sequence[str]) -> AgiResponse:
    """A complete response (see :func:`response_complete`) -> :class:`AgiResponse`.

    Raises :class:`AgiHangup` for ``HANGUP`` and ``511`` and :class:`AgiError`
    for anything else that is not a well-formed ``200``. A ``200 result=-1`` is
    returned, not raised: for several commands it is a normal answer.
    """
    first = lines[0].strip() if lines else ""
    if first == "HANGUP":
        raise AgiHangup("Asterisk reported that the channel hung up")
    code_text = first[:3]
    code = int(code_text) if code_text.isdigit() else 0
    if code == 511:
        raise AgiHangup(first)
    if code == 200:
        match = _RESPONSE_200.fullmatch(first)
        if match:
            return AgiResponse(200, match["result"], match["data"])
    raise AgiError(code, [line.strip() for line in lines] or [""])


# --- outbound -----------------------------------------------------------------


def quote(value: str | int) -> str:
    """Quote one argument for res_agi's parser: ``"..."`` with ``\\`` and ``"``
    backslash-escaped, control characters (CR, LF, NUL...) removed.
    """
    text = strip_control(str(value))
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _variable_name(name: str) -> str:
    if not _VARIABLE.fullmatch(name):
        raise ValueError(f"not a channel variable name: {name!r}")
    return name


def _command(*words: str) -> AgiCommand:
    line = " ".join(words)
    size = len(line.encode("utf-8"))
    if size > MAX_COMMAND_BYTES:
        # Asterisk would run the bytes past 2047 as a second command.
        raise ValueError(f"AGI command of {size} bytes exceeds {MAX_COMMAND_BYTES}: {line[:40]!r}...")
    return AgiCommand(line)


def answer() -> AgiCommand:
    return _command("ANSWER")


def hangup() -> AgiCommand:
    return _command("HANGUP")


def noop() -> AgiCommand:
    return _command("NOOP")


def set_variable(name: str, value: str | int) -> AgiCommand:
    """``SET VARIABLE name "value"``. ``name`` must be a plain identifier: that
    also rules out dialplan-function writes such as ``CDR(userfield)``.
    """
    return _command("SET", "VARIABLE", _variable_name(name), quote(value))


def get_variable(name: str) -> AgiCommand:
    return _command("GET", "VARIABLE", _variable_name(name))


def get_full_variable(expr: str) -> AgiCommand:
    """``GET FULL VARIABLE "expr"``. Asterisk *evaluates* ``expr`` (``${CALLERID(num)}``),
    so it must be a template written by us, never text from a caller.
    """
    return _command("GET", "FULL", "VARIABLE", quote(expr))


def verbose(message: str, level: int = 1) -> AgiCommand:
    """``VERBOSE "message" level``. Long messages are cut to :data:`MAX_VERBOSE_CHARS`
    rather than refused: losing the tail of a log line beats losing the line.
    """
    if not 1 <= level <= 4:
        raise ValueError(f"VERBOSE level must be 1..4, got {level!r}")
    return _command("VERBOSE", quote(message[:MAX_VERBOSE_CHARS]), str(level))


def exec_(app: str, args: Sequence[str] = ()) -> AgiCommand:
    """``EXEC app "arg1,arg2"``. An argument containing ``,`` is refused: the
    application would split it into two arguments (a caller-ID adding Dial options).
    """
    if not _APPLICATION.fullmatch(app):
        raise ValueError(f"not a dialplan application name: {app!r}")
    if isinstance(args, str):
        raise TypeError("exec_ args must be a sequence of str, not one str")
    for arg in args:
        if "," in arg:
            raise ValueError(f"application argument contains ',': {arg!r}")
    return _command("EXEC", app, quote(",".join(args)))
