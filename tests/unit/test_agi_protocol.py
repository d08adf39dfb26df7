"""Table-driven tests of the AGI wire protocol (agi_scripts.protocol), hostile input included."""

from __future__ import annotations

import logging

import pytest

from agi_scripts import protocol
from agi_scripts.protocol import AgiError, AgiHangup, AgiResponse


def asterisk_argv(line: str) -> list[str]:
    """res_agi.c parse_args() in Python: how Asterisk splits a command line into argv.

    Used to prove that what the builders send is read back by Asterisk as exactly
    the words we meant, whatever the value contained.
    """
    args: list[str] = []
    quoted = escaped = False
    between_words = True
    for ch in line:
        if ch == '"' and not escaped:
            quoted = not quoted
            if quoted and between_words:
                args.append("")
                between_words = False
            continue
        if ch in " \t" and not quoted and not escaped:
            between_words = True
            continue
        if ch == "\\" and not escaped:
            escaped = True
            continue
        if between_words:
            args.append("")
            between_words = False
        args[-1] += ch
        escaped = False
    return args


# --- environment ----------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    (b"agi_callerid: 13800138000\n", ("agi_callerid", "13800138000")),
    (b"agi_callerid: 13800138000\r\n", ("agi_callerid", "13800138000")),
    (b"agi_callerid: 13800138000", ("agi_callerid", "13800138000")),
    (b"agi_accountcode: \n", ("agi_accountcode", "")),
    (b"agi_calleridname:  padded \n", ("agi_calleridname", " padded ")),
    ("agi_calleridname: 张三\n".encode(), ("agi_calleridname", "张三")),
    (b"agi_request: agi://h/inbound?a=b: c\n", ("agi_request", "agi://h/inbound?a=b: c")),
    (b"agi_calleridname: a\x1b[31mb\x7f\tc\n", ("agi_calleridname", "a[31mbc")),
    ("agi_calleridname: x\u2028y\x85z\n".encode(), ("agi_calleridname", "xyz")),
    (b"agi_arg_1: " + b"a" * (4096 - 11) + b"\n", ("agi_arg_1", "a" * (4096 - 11))),
])
def test_parse_env_line_accepts(raw: bytes, expected: tuple[str, str]) -> None:
    assert protocol.parse_env_line(raw) == expected


@pytest.mark.parametrize("raw", [
    pytest.param(b"agi_callerid 13800138000\n", id="no-separator"),
    pytest.param(b"agi_callerid:13800138000\n", id="colon-without-space"),
    pytest.param(b"\n", id="empty"),
    pytest.param(b": 13800138000\n", id="empty-key"),
    pytest.param(b"AGI_CALLERID: 1\n", id="upper-case-key"),
    pytest.param(b"agi callerid: 1\n", id="space-in-key"),
    pytest.param(b"callerid: 1\n", id="no-agi-prefix"),
    pytest.param(b"agi_x\x1b: 1\n", id="control-in-key"),
    pytest.param(b"agi_calleridname: \xff\xfe\n", id="not-utf8"),
    pytest.param(b"agi_callerid: 123\x00456\n", id="nul"),
    pytest.param(b"agi_arg_1: " + b"a" * (4096 - 10) + b"\n", id="over-4KiB"),
])
def test_parse_env_line_skips_and_logs(raw: bytes, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="agi_scripts.protocol")
    assert protocol.parse_env_line(raw) is None
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_parse_env_keeps_good_lines_around_bad_ones() -> None:
    env = protocol.parse_env([
        b"agi_network: yes\n",
        b"garbage without separator\n",
        b"agi_callerid: \xff\n",
        b"agi_callerid: 13800138000\n",
        b"agi_extension: 12333\n",
        b"agi_extension: 12345\n",
    ])
    assert env == {"agi_network": "yes", "agi_callerid": "13800138000", "agi_extension": "12345"}


@pytest.mark.parametrize("raw, end", [
    (b"\n", True), (b"\r\n", True), (b" \n", False), (b"agi_network: yes\n", False), (b"", False),
])
def test_is_env_end(raw: bytes, end: bool) -> None:
    assert protocol.is_env_end(raw) is end


@pytest.mark.parametrize("script, path, params", [
    ("inbound?dialled=12333", "inbound", {"dialled": "12333"}),
    ("inbound", "inbound", {}),
    ("/inbound/?dialled=12333&note=", "inbound", {"dialled": "12333", "note": ""}),
    ("", "", {}),
    ("health%0A", "health", {}),
    ("inbound?dialled=%E4%B8%AD%E6%96%87", "inbound", {"dialled": "中文"}),
    ("inbound?dialled=123%22%0AEXEC%20System%20rm", "inbound", {"dialled": '123"EXEC System rm'}),
    ("inbound?dialled=1&dialled=2", "inbound", {"dialled": "2"}),
    ("inbound?d%0Aialled=1", "inbound", {"dialled": "1"}),
])
def test_parse_script(script: str, path: str, params: dict[str, str]) -> None:
    assert protocol.parse_script(script) == (path, params)


def test_parse_script_refuses_a_parameter_flood() -> None:
    with pytest.raises(ValueError):
        protocol.parse_script("inbound?" + "&".join(f"p{i}=1" for i in range(100)))


# --- responses -----------------------------------------------------------------

USAGE_520 = [
    "520-Invalid command syntax.  Proper usage follows:",
    " Usage: SET VARIABLE <variablename> <value>",
    "520 End of proper usage.",
]


@pytest.mark.parametrize("lines, complete", [
    ([], False),
    (["200 result=1"], True),
    (["HANGUP"], True),
    (["510 Invalid or unknown command"], True),
    (["520 Invalid command syntax.  Proper usage not available."], True),
    (USAGE_520[:1], False),
    (USAGE_520[:2], False),
    (USAGE_520, True),
    (USAGE_520[:1] + ["usage"] * 62, False),
    (USAGE_520[:1] + ["usage"] * 63, True),
])
def test_response_complete(lines: list[str], complete: bool) -> None:
    assert protocol.response_complete(lines) is complete


@pytest.mark.parametrize("line, expected", [
    ("200 result=1", AgiResponse(200, "1", None)),
    ("200 result=0", AgiResponse(200, "0", None)),
    ("200 result=-1", AgiResponse(200, "-1", None)),
    ("200 result=0012", AgiResponse(200, "0012", None)),
    ("200 result=*1", AgiResponse(200, "*1", None)),
    ("200 result=1 (renshe)", AgiResponse(200, "1", "renshe")),
    ("200 result=1 ()", AgiResponse(200, "1", "")),
    ("200 result=1 (人社局 12333)", AgiResponse(200, "1", "人社局 12333")),
    ("200 result=1 (a (b) c)", AgiResponse(200, "1", "a (b) c")),
    ("200 result=0 endpos=12345", AgiResponse(200, "0", None)),
    ("200 result=1 (timeout) endpos=8000", AgiResponse(200, "1", "timeout")),
    ("200 result=1 (digit) digit=5 endpos=160", AgiResponse(200, "1", "digit")),
    ("200 result=1\r", AgiResponse(200, "1", None)),
])
def test_parse_response_200(line: str, expected: AgiResponse) -> None:
    assert protocol.parse_response([line]) == expected


@pytest.mark.parametrize("lines", [
    ["HANGUP"],
    ["511 Command Not Permitted on a dead channel or intercept routine"],
])
def test_parse_response_hangup(lines: list[str]) -> None:
    with pytest.raises(AgiHangup):
        protocol.parse_response(lines)


@pytest.mark.parametrize("lines, code", [
    (["510 Invalid or unknown command"], 510),
    (USAGE_520, 520),
    (["520 Invalid command syntax.  Proper usage not available."], 520),
    (["503 result=-2 Memory allocation failure"], 503),
    (["200 result=1 (unterminated"], 200),
    (["200 nonsense"], 200),
    (["garbage"], 0),
    ([""], 0),
    ([], 0),
])
def test_parse_response_errors(lines: list[str], code: int) -> None:
    with pytest.raises(AgiError) as info:
        protocol.parse_response(lines)
    assert info.value.code == code
    if lines:
        assert info.value.lines == tuple(line.strip() for line in lines)


# --- command builders ------------------------------------------------------------

@pytest.mark.parametrize("command, expected", [
    (protocol.answer(), "ANSWER"),
    (protocol.hangup(), "HANGUP"),
    (protocol.noop(), "NOOP"),
    (protocol.set_variable("HOTLINE_ROUTE_QUEUE", "renshe"), 'SET VARIABLE HOTLINE_ROUTE_QUEUE "renshe"'),
    (protocol.set_variable("HOTLINE_ROUTE_PRIORITY", 0), 'SET VARIABLE HOTLINE_ROUTE_PRIORITY "0"'),
    (protocol.set_variable("_inherit", ""), 'SET VARIABLE _inherit ""'),
    (protocol.get_variable("HOTLINE_DIALLED"), "GET VARIABLE HOTLINE_DIALLED"),
    (protocol.get_full_variable("${CALLERID(num)}"), 'GET FULL VARIABLE "${CALLERID(num)}"'),
    (protocol.verbose("hello", 3), 'VERBOSE "hello" 3'),
    (protocol.verbose("默认 1"), 'VERBOSE "默认 1" 1'),
    (protocol.exec_("Playback", ["hello-world"]), 'EXEC Playback "hello-world"'),
    (protocol.exec_("Dial", ["PJSIP/1001", "30", "tT"]), 'EXEC Dial "PJSIP/1001,30,tT"'),
    (protocol.exec_("Answer"), 'EXEC Answer ""'),
])
def test_builders(command: str, expected: str) -> None:
    assert command == expected


HOSTILE = [
    '123"\nEXEC System rm -rf /',
    "123\r\nHANGUP",
    '" ; EXEC System "x',
    "back\\slash",
    "trailing\\",
    '\\"',
    "nul\x00byte",
    "esc\x1b[2Jape",
    "line\u2028sep",
    "tab\there",
    "${SHELL(id)}",
    "张三 (12345)",
    "",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_set_variable_value_reaches_asterisk_as_one_argument(value: str) -> None:
    command = protocol.set_variable("HOTLINE_CALLER", value)
    assert "\n" not in command and "\r" not in command and "\x00" not in command
    assert asterisk_argv(command) == ["SET", "VARIABLE", "HOTLINE_CALLER", protocol.strip_control(value)]


@pytest.mark.parametrize("value", HOSTILE)
def test_verbose_message_reaches_asterisk_as_one_argument(value: str) -> None:
    assert asterisk_argv(protocol.verbose(value, 2)) == ["VERBOSE", protocol.strip_control(value), "2"]


@pytest.mark.parametrize("value", HOSTILE)
def test_exec_arguments_cannot_escape_their_quotes(value: str) -> None:
    assert asterisk_argv(protocol.exec_("NoOp", [value])) == ["EXEC", "NoOp", protocol.strip_control(value)]


@pytest.mark.parametrize("name", [
    "", "1ABC", "A-B", "A B", "A\nB", "CDR(userfield)", "Ä", "X;Y", 'X"', "${X}",
])
def test_variable_names_are_validated(name: str) -> None:
    with pytest.raises(ValueError):
        protocol.set_variable(name, "1")
    with pytest.raises(ValueError):
        protocol.get_variable(name)


def test_over_long_command_is_refused_not_split() -> None:
    # Asterisk would run everything past byte 2047 as a second command.
    with pytest.raises(ValueError):
        protocol.set_variable("X", "a" * 2040)
    assert len(protocol.set_variable("X", "a" * 2000).encode()) <= protocol.MAX_COMMAND_BYTES


@pytest.mark.parametrize("message", ["a" * 3000, '"' * 3000, "中" * 3000, "😀" * 3000])
def test_verbose_truncates_long_messages_to_fit_one_command(message: str) -> None:
    command = protocol.verbose(message, 4)
    assert len(command.encode()) <= protocol.MAX_COMMAND_BYTES
    assert asterisk_argv(command) == ["VERBOSE", message[:protocol.MAX_VERBOSE_CHARS], "4"]


@pytest.mark.parametrize("level", [0, 5, -1])
def test_verbose_level_is_validated(level: int) -> None:
    with pytest.raises(ValueError):
        protocol.verbose("x", level)


@pytest.mark.parametrize("app, args, error", [
    ("Dial", ["PJSIP/1001", "30,tT"], ValueError),
    ("System rm", [], ValueError),
    ("", [], ValueError),
    ("Dial\n", [], ValueError),
    ("Playback", "hello", TypeError),
])
def test_exec_refuses_unsafe_input(app: str, args: list[str], error: type[Exception]) -> None:
    with pytest.raises(error):
        protocol.exec_(app, args)
