"""AMI framing and parsing (hotline.ami.parse): pure functions, no sockets.

Every case is a table row: the bytes a socket could deliver, split into the
reads it could deliver them in, and the blocks / headers that must come out.
"""

from __future__ import annotations

import pytest

from hotline.ami.parse import MAX_MESSAGE, StreamSplitter, clean, parse_block

NAME = "张三"  # three bytes a character in UTF-8: splits land inside characters


def split_at(data: bytes, *cuts: int) -> list[bytes]:
    """``data`` cut at the given byte offsets (the reads a socket could deliver)."""
    out, last = [], 0
    for c in cuts:
        out.append(data[last:c])
        last = c
    out.append(data[last:])
    return out


def feed_all(splitter: StreamSplitter, chunks: list[bytes]) -> list[str]:
    out: list[str] = []
    for chunk in chunks:
        out.extend(splitter.feed(chunk))
    return out


def one_byte_reads(data: bytes) -> list[bytes]:
    return [data[i:i + 1] for i in range(len(data))]


EVENT_CRLF = b"Event: Newchannel\r\nChannel: PJSIP/trunk-carrier-00000001\r\nUniqueid: 1795444596.1\r\n\r\n"
EVENT_LF = b"Event: Newchannel\nChannel: PJSIP/trunk-carrier-00000001\nUniqueid: 1795444596.1\n\n"
NEWCHANNEL = {"Event": "Newchannel", "Channel": "PJSIP/trunk-carrier-00000001", "Uniqueid": "1795444596.1"}
ZHANG = f"Event: Newchannel\r\nCallerIDName: {NAME}\r\n\r\n".encode()
ZHANG_AT = ZHANG.index(NAME.encode())


@pytest.mark.parametrize(("chunks", "expected"), [
    pytest.param([EVENT_CRLF], [NEWCHANNEL], id="crlf-one-read"),
    pytest.param([EVENT_LF], [NEWCHANNEL], id="bare-lf-one-read"),
    pytest.param([EVENT_CRLF * 3], [NEWCHANNEL] * 3, id="three-in-one-read"),
    pytest.param([EVENT_CRLF + EVENT_LF + EVENT_CRLF], [NEWCHANNEL] * 3, id="mixed-crlf-and-lf"),
    pytest.param(one_byte_reads(EVENT_CRLF * 2), [NEWCHANNEL] * 2, id="one-byte-reads"),
    pytest.param(split_at(EVENT_CRLF, len(EVENT_CRLF) - 2), [NEWCHANNEL], id="terminator-split-crlf|crlf"),
    pytest.param(split_at(EVENT_CRLF, len(EVENT_CRLF) - 1), [NEWCHANNEL], id="terminator-split-crlfcr|lf"),
    pytest.param(split_at(EVENT_CRLF, len(EVENT_CRLF) - 3), [NEWCHANNEL], id="terminator-split-cr|lfcrlf"),
    pytest.param(split_at(EVENT_LF, len(EVENT_LF) - 1), [NEWCHANNEL], id="lf-terminator-split"),
    pytest.param(split_at(ZHANG, ZHANG_AT + 1), [{"Event": "Newchannel", "CallerIDName": NAME}],
                 id="utf8-split-after-byte-1"),
    pytest.param(split_at(ZHANG, ZHANG_AT + 2), [{"Event": "Newchannel", "CallerIDName": NAME}],
                 id="utf8-split-after-byte-2"),
    pytest.param(split_at(ZHANG, ZHANG_AT + 4), [{"Event": "Newchannel", "CallerIDName": NAME}],
                 id="utf8-split-inside-second-char"),
    pytest.param(one_byte_reads(ZHANG), [{"Event": "Newchannel", "CallerIDName": NAME}], id="utf8-one-byte-reads"),
    pytest.param([b"Event: X\r\nCallerIDName: \xff\xfeA\xe5\xbc\r\n\r\n"],
                 [{"Event": "X", "CallerIDName": "\ufffd\ufffdA\ufffd"}], id="invalid-utf8-replaced"),
    pytest.param([b"\r\n\r\n\n\n\r\n\r\n" + EVENT_CRLF], [NEWCHANNEL], id="empty-blocks-skipped"),
    pytest.param([b"   \r\n\t\r\n\r\n" + EVENT_CRLF], [NEWCHANNEL], id="whitespace-block-skipped"),
    pytest.param([b"Event: X\r\nKey: a\r\n"], [], id="incomplete-not-yielded"),
])
def test_splitter_framing(chunks: list[bytes], expected: list[dict[str, str]]) -> None:
    splitter = StreamSplitter()
    blocks = feed_all(splitter, chunks)
    assert [parse_block(b)[0] for b in blocks] == expected
    assert splitter.dropped == 0


def test_incomplete_message_completes_on_a_later_read() -> None:
    splitter = StreamSplitter()
    assert feed_all(splitter, [b"Event: X\r\nKey: a"]) == []
    assert [parse_block(b)[0] for b in splitter.feed(b"b\r\n\r\n")] == [{"Event": "X", "Key": "ab"}]


@pytest.mark.parametrize(("garbage", "then"), [
    pytest.param([b"x" * (MAX_MESSAGE + 1)], [EVENT_CRLF], id="one-huge-read-then-event-read"),
    pytest.param([b"y" * 65536] * 5, [EVENT_CRLF], id="several-reads-without-terminator"),
    pytest.param([b"z" * (MAX_MESSAGE + 10)], [b"more garbage, no line break" * 10 + b"\r\n\r\n" + EVENT_CRLF],
                 id="garbage-tail-after-drop-yields-no-headers"),
    pytest.param([b"Key: " + b"v" * (MAX_MESSAGE + 10) + b"\r\n\r\n"], [EVENT_CRLF],
                 id="over-long-block-with-terminator-in-same-read"),
    pytest.param([b"w" * (MAX_MESSAGE + 1) + b"\r\n\r"], [b"\n" + EVENT_CRLF], id="terminator-split-at-drop"),
])
def test_over_long_garbage_is_dropped_and_parsing_goes_on(garbage: list[bytes], then: list[bytes]) -> None:
    splitter = StreamSplitter()
    assert feed_all(splitter, garbage) == []
    blocks = feed_all(splitter, then)
    assert splitter.dropped == 1
    # the tail of the garbage after the cut (if any) parses to nothing: no header survives it
    assert [h for h in (parse_block(b)[0] for b in blocks) if h] == [NEWCHANNEL]
    # and nothing of the garbage is kept for later
    assert [parse_block(b)[0] for b in splitter.feed(EVENT_CRLF)] == [NEWCHANNEL]
    assert splitter.dropped == 1


def test_each_over_long_message_counts_once() -> None:
    splitter = StreamSplitter()
    for _ in range(3):  # 300 000 bytes then a terminator: one drop when the limit is passed
        tail = feed_all(splitter, [b"g" * 100_000] * 3 + [b"\r\n\r\n"])
        assert [parse_block(b)[0] for b in tail] == [{}] * len(tail)
    assert splitter.dropped == 3
    assert [parse_block(b)[0] for b in splitter.feed(EVENT_LF)] == [NEWCHANNEL]


def test_a_message_just_under_the_limit_is_kept() -> None:
    value = "v" * (MAX_MESSAGE - 100)
    splitter = StreamSplitter()
    blocks = feed_all(splitter, split_at(f"Event: Big\r\nData: {value}\r\n\r\n".encode(), 70_000, 140_000, 210_000))
    assert splitter.dropped == 0
    assert [parse_block(b)[0] for b in blocks] == [{"Event": "Big", "Data": value}]


@pytest.mark.parametrize(("block", "headers", "bad"), [
    pytest.param("Event: CEL\r\nEventName: CHAN_START", {"Event": "CEL", "EventName": "CHAN_START"}, 0, id="normal"),
    pytest.param("Event: CEL\nEventName: CHAN_START\n", {"Event": "CEL", "EventName": "CHAN_START"}, 0, id="bare-lf"),
    pytest.param("Response: Success\r\nActionID: a/1\r\nMessage: Authentication accepted",
                 {"Response": "Success", "ActionID": "a/1", "Message": "Authentication accepted"}, 0, id="response"),
    pytest.param("Event: CEL\r\nUserfield: \r\nPeer: ", {"Event": "CEL", "Userfield": "", "Peer": ""}, 0,
                 id="empty-values-as-asterisk-sends-them"),
    pytest.param("Event: CEL\r\nUserfield:\r\nExtra:", {"Event": "CEL", "Userfield": "", "Extra": ""}, 0,
                 id="key-only-lines"),
    pytest.param("Event: CEL\r\nUserfield\r\nno separator here\r\nKey:value", {"Event": "CEL"}, 3,
                 id="lines-without-separator-are-malformed"),
    pytest.param("Event: X\r\nAppData: HOTLINE_ARRIVAL,83531111|merged|chengjian",
                 {"Event": "X", "AppData": "HOTLINE_ARRIVAL,83531111|merged|chengjian"}, 0,
                 id="value-with-commas-pipes"),
    pytest.param("Event: X\r\nMessage: a: b: c", {"Event": "X", "Message": "a: b: c"}, 0, id="separator-in-value"),
    pytest.param("Event: X\r\nOutput: one\r\nOutput: two\r\nOutput: three",
                 {"Event": "X", "Output": "one", "Output#2": "two", "Output#3": "three"}, 0, id="repeated-keys"),
    pytest.param("Event: X\r\nCallerIDName: 13800\rEvil: 1", {"Event": "X", "CallerIDName": "13800Evil: 1"}, 0,
                 id="embedded-cr-removed"),
    pytest.param("Event: X\r\nCallerIDName: a\x00b\x1b[2Jc\x7fd\x08e\tf",
                 {"Event": "X", "CallerIDName": "ab[2Jcde\tf"}, 0, id="control-chars-removed-tab-kept"),
    pytest.param("Event: X\r\nCaller\x00IDName: x", {"Event": "X", "CallerIDName": "x"}, 0, id="control-chars-in-key"),
    pytest.param(f"Event: X\r\nCallerIDName: {NAME}", {"Event": "X", "CallerIDName": NAME}, 0, id="utf8-value"),
    pytest.param("Event: X\r\n: no key\r\n \x01: blank key", {"Event": "X"}, 2, id="empty-keys-malformed"),
    pytest.param("Event: X\r\n" + "K" * 129 + ": v", {"Event": "X"}, 1, id="over-long-key-malformed"),
    pytest.param("", {}, 0, id="empty-block"),
    pytest.param("\r\n\r\n", {}, 0, id="only-line-breaks"),
])
def test_parse_block(block: str, headers: dict[str, str], bad: int) -> None:
    assert parse_block(block) == (headers, bad)


@pytest.mark.parametrize(("raw", "cleaned"), [
    ("plain", "plain"),
    ("a\r\nb", "ab"),
    ("tab\tkept", "tab\tkept"),
    ("\x00\x01\x1f\x7f", ""),
    (NAME, NAME),
])
def test_clean(raw: str, cleaned: str) -> None:
    assert clean(raw) == cleaned


def test_fixture_stream_parses_without_malformed_lines(ami_fixture: bytes) -> None:
    splitter = StreamSplitter()
    blocks = feed_all(splitter, one_byte_reads(ami_fixture.replace(b"\n", b"\r\n")))
    # first block: the greeting line, then the login response
    assert blocks[0].startswith("Asterisk Call Manager/11.0.0")
    parsed = [parse_block(b) for b in blocks[1:]]
    assert all(bad == 0 for _, bad in parsed)
    cel = [h for h, _ in parsed if h.get("Event") == "CEL"]
    assert [h["EventName"] for h in cel] == [
        "CHAN_START", "USER_DEFINED", "ANSWER", "USER_DEFINED", "CHAN_START", "ANSWER", "BRIDGE_ENTER",
        "BRIDGE_ENTER", "BRIDGE_EXIT", "BRIDGE_EXIT", "HANGUP", "CHAN_END", "HANGUP", "CHAN_END", "LINKEDID_END"]
    assert cel[0]["Userfield"] == "" and cel[0]["Extra"] == ""
    assert splitter.dropped == 0


@pytest.fixture
def ami_fixture() -> bytes:
    from pathlib import Path
    return (Path(__file__).resolve().parents[1] / "fixtures" / "ami" / "answered_merged_call.txt").read_bytes()
