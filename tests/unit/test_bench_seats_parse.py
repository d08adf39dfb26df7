"""The seats100 benchmark's pure parsing (bench/seats_parse.py): sipp message traces, the ring
delay correlation, ``pjsip show channelstats`` and ``queue show``. The benchmark itself never runs
in the test suite."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from seats_parse import (SeatCalls, SipMsg, audio_summary, highest_by_target, parse_channelstats, parse_proc_net_udp,  # noqa: E402
                         parse_queue_show, parse_sipp_messages, percentile, ring_delays, seat_calls, udp_drops,
                         waiting_at)


def ts(clock: str) -> float:
    return datetime.strptime(f"2026-11-23 {clock}", "%Y-%m-%d %H:%M:%S.%f").timestamp()


def block(clock: str, sent: bool, first: str, call_id: str, cseq: str) -> str:
    head = "UDP message sent (313 bytes):" if sent else "UDP message received [401] bytes :"
    return (f"----------------------------------------------- 2026-11-23 {clock}\n{head}\n\n{first}\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:25060;rport;branch=z9hG4bKPj1\nCall-ID: {call_id}\n"
            f"CSeq: {cseq}\nContent-Length: 0\n\n\n")


TRACE = "".join([
    block("16:51:44.036467", False, "OPTIONS sip:7001@127.0.0.1:25081 SIP/2.0", "opt-1", "28510 OPTIONS"),
    block("16:51:44.036537", True, "SIP/2.0 200 OK", "opt-1", "28510 OPTIONS"),
    block("16:51:45.000000", False, "INVITE sip:7001@127.0.0.1:25081 SIP/2.0", "c1", "1 INVITE"),
    block("16:51:45.000100", True, "SIP/2.0 180 Ringing", "c1", "1 INVITE"),
    block("16:51:45.500000", False, "INVITE sip:7001@127.0.0.1:25081 SIP/2.0", "c1", "1 INVITE"),  # retransmission
    block("16:52:10.000000", True, "BYE sip:asterisk@127.0.0.1:25060 SIP/2.0", "c1", "2 BYE"),
    block("16:52:10.010000", False, "SIP/2.0 200 OK", "c1", "2 BYE"),
    block("16:52:10.400000", False, "INVITE sip:7001@127.0.0.1:25081 SIP/2.0", "c2", "1 INVITE"),
    block("16:52:11.000000", False, "INVITE sip:7002@127.0.0.1:25081 SIP/2.0", "c3", "1 INVITE"),
    block("16:52:20.000000", False, "BYE sip:127.0.0.1:25081 SIP/2.0", "c3", "3 BYE"),   # the platform hangs up
    block("16:52:20.001000", True, "SIP/2.0 200 OK", "c3", "3 BYE"),
])


def test_parse_sipp_messages_reads_direction_time_and_headers() -> None:
    msgs = parse_sipp_messages(TRACE)
    assert len(msgs) == 11
    assert msgs[0] == SipMsg(t=ts("16:51:44.036467"), sent=False, first_line="OPTIONS sip:7001@127.0.0.1:25081 SIP/2.0",
                             call_id="opt-1", cseq_method="OPTIONS")
    assert msgs[1].sent and msgs[1].status == 200 and msgs[1].method is None
    assert msgs[2].method == "INVITE" and msgs[2].ruri_user == "7001"
    assert msgs[5].method == "BYE" and msgs[5].ruri_user == "asterisk"


@pytest.mark.parametrize("first, method, status, user", [
    ("INVITE sip:7001@127.0.0.1:25081 SIP/2.0", "INVITE", None, "7001"),
    ("INVITE sip:7001@127.0.0.1:25081;transport=udp SIP/2.0", "INVITE", None, "7001"),
    ("ACK sip:127.0.0.1:25081;transport=UDP SIP/2.0", "ACK", None, None),
    ("SIP/2.0 180 Ringing", None, 180, None),
    ("SIP/2.0 200 OK", None, 200, None),
])
def test_sip_first_line(first: str, method: str | None, status: int | None, user: str | None) -> None:
    m = SipMsg(t=0.0, sent=False, first_line=first, call_id="x", cseq_method="INVITE")
    assert (m.method, m.status, m.ruri_user) == (method, status, user)


def test_seat_calls_correlates_by_call_id() -> None:
    calls = seat_calls(parse_sipp_messages(TRACE))
    assert calls.invites == {"7001": [(ts("16:51:45.000000"), "c1"), (ts("16:52:10.400000"), "c2")],
                             "7002": [(ts("16:52:11.000000"), "c3")]}
    # the seat's own BYE ends when its 200 OK arrives; the platform's BYE when the seat answers it
    assert calls.ends == {"7001": [(ts("16:52:10.010000"), "c1")], "7002": [(ts("16:52:20.001000"), "c3")]}


W = [(0.0, 5), (1.0, 5), (2.0, 0), (3.0, 0), (4.0, 3), (5.0, 3)]


@pytest.mark.parametrize("t, expected", [
    (-1.0, None),   # before the first sample
    (0.5, 5),
    (1.5, 0),       # callers ran out between the samples: not counted as waiting
    (2.5, 0),
    (3.5, 0),
    (4.5, 3),
    (5.0, None),    # no sample after
])
def test_waiting_at(t: float, expected: int | None) -> None:
    assert waiting_at(W, t) == expected


@pytest.mark.parametrize("name, ends, invites, window, horizon, wrapup, expected", [
    ("next INVITE after the end", {"s1": [(10.0, "a")]}, {"s1": [(1.0, "a"), (10.4, "b")]},
     (0, 100), 100, 0, [("s1", 0.4, False)]),
    ("wrap-up moves the free time", {"s1": [(10.0, "a")]}, {"s1": [(1.0, "a"), (12.5, "b")]},
     (0, 100), 100, 2, [("s1", 0.5, False)]),
    ("never rang again: censored at the horizon", {"s1": [(10.0, "a")]}, {"s1": [(1.0, "a")]},
     (0, 100), 13.0, 0, [("s1", 3.0, True)]),
    ("end outside the window", {"s1": [(10.0, "a")]}, {"s1": [(10.4, "b")]}, (11, 100), 100, 0, []),
    ("no callers waiting: not counted", {"s1": [(30.0, "a")]}, {"s1": [(31.0, "b")]}, (0, 100), 100, 0, []),
    ("per seat: another seat's INVITE does not count", {"s1": [(10.0, "a")]},
     {"s1": [(1.0, "a"), (11.0, "c")], "s2": [(10.1, "b")]}, (0, 100), 100, 0, [("s1", 1.0, False)]),
    ("two calls in a row", {"s1": [(10.0, "a"), (12.0, "b")]},
     {"s1": [(1.0, "a"), (10.2, "b"), (12.9, "c")]}, (0, 100), 100, 0, [("s1", 0.2, False), ("s1", 0.9, False)]),
])
def test_ring_delays(name: str, ends: dict, invites: dict, window: tuple, horizon: float, wrapup: float,
                     expected: list) -> None:
    waiting = [(0.0, 4), (15.0, 4), (25.0, 0), (35.0, 0), (40.0, 2), (200.0, 2)]
    rows = ring_delays(SeatCalls(invites=invites, ends=ends), waiting, window, horizon, wrapup)
    assert [(r["seat"], round(r["delay_s"], 6), r["censored"]) for r in rows] == expected, name


@pytest.mark.parametrize("values, p, expected", [
    ([], 99, None), ([1.0], 99, 1.0), ([3.0, 1.0, 2.0], 50, 2.0), (list(range(1, 101)), 99, 99),
    (list(range(1, 101)), 100, 100), (list(range(1, 201)), 99, 198),
])
def test_percentile(values: list, p: float, expected: float | None) -> None:
    assert percentile(values, p) == expected


CHANNELSTATS = """

                                             ...........Receive......... .........Transmit..........
 BridgeId ChannelId ........ UpTime.. Codec.   Count    Lost Pct  Jitter   Count    Lost Pct  Jitter RTT....
 ===========================================================================================================

          trunk-carrier-0000 00:00:13 alaw      658       0    0   0.000    657       0    0   0.010   0.000
 317d312f 7003-00000013      00:00:04 alaw      196       0    0   0.000    196       0    0   0.001   0.000
 317d312f trunk-carrier-0000 00:00:31 alaw     1558      12    0   0.000   1557       0    0   0.031   0.000
 69e7f6cd 7000-0000000f      01:10:11 alaw      210K      3    0   0.000    210K      0    0   0.002   0.000

Objects found: 4
"""


def test_parse_channelstats() -> None:
    rows = parse_channelstats(CHANNELSTATS)
    assert [(r["bridge"], r["channel"], r["uptime_s"], r["rx_count"], r["rx_lost"], r["rx_jitter_ms"])
            for r in rows] == [
        ("", "trunk-carrier-0000", 13, 658, 0, 10.0),
        ("317d312f", "7003-00000013", 4, 196, 0, 1.0),
        ("317d312f", "trunk-carrier-0000", 31, 1558, 12, 31.0),
        ("69e7f6cd", "7000-0000000f", 4211, 210000, 3, 2.0),
    ]
    assert rows[0]["codec"] == "alaw" and rows[2]["tx_count"] == 1557 and rows[2]["peer_reported_jitter_ms"] == 0.0


@pytest.mark.parametrize("text", ["", "No objects found.\n", "Objects found: 0\n"])
def test_parse_channelstats_empty(text: str) -> None:
    assert parse_channelstats(text) == []


def test_audio_summary_uses_last_sample_for_loss_and_every_sample_for_jitter() -> None:
    def row(bridge: str, chan: str, count: int, lost: int, jit: float) -> dict:
        return {"bridge": bridge, "channel": chan, "rx_count": count, "rx_lost": lost, "rx_jitter_ms": jit}
    samples = [
        (1.0, [row("b1", "trunk-carrier-0000", 100, 5, 2.0), row("b1", "7001-00000001", 100, 0, 1.0),
               row("", "trunk-carrier-0000", 50, 0, 40.0)]),
        (3.0, [row("b1", "trunk-carrier-0000", 200, 5, 4.0), row("b1", "7001-00000001", 195, 0, 3.0)]),
        (9.0, [row("b2", "trunk-carrier-0000", 900, 900, 99.0)]),   # outside the window
    ]
    s = audio_summary(samples, (0.0, 5.0), jitter_limit_ms=3.5)
    assert s["samples"] == 2 and s["bridges"] == 1
    assert s["connected"]["loss"] == {"legs": 2, "packets_received": 395, "packets_lost": 5,
                                      "loss_pct": 1.25, "worst_leg_loss_pct": round(5 / 205 * 100, 4),
                                      "legs_with_loss": 1}
    assert s["connected"]["jitter"] == {"samples": 4, "p50_ms": 2.0, "p99_ms": 4.0, "max_ms": 4.0, "over_limit": 1}
    assert s["caller_legs"]["jitter"]["samples"] == 2 and s["seat_legs"]["loss"]["packets_lost"] == 0
    assert s["waiting_caller_legs"] == {"jitter": {"samples": 1, "p50_ms": 40.0, "p99_ms": 40.0, "max_ms": 40.0,
                                                   "over_limit": 1}}


QUEUE_SHOW = """hotline has 4 calls (max unlimited) in 'rrmemory' strategy (15s holdtime, 22s talktime), W:0, C:5, A:1, SL:80.0%, SL2:80.0% within 15s
   Members: 
      7003 (PJSIP/7003) (ringinuse disabled) (dynamic) (in call) (In use) has taken 1 calls (last was 5 secs ago) (login was 35 secs ago)
      7000 (PJSIP/7000) (ringinuse disabled) (dynamic) (Ringing) has taken 1 calls (last was 12 secs ago) (login was 35 secs ago)
      7001 (PJSIP/7001) (ringinuse disabled) (dynamic) (Not in use) has taken 1 calls (last was 14 secs ago) (login was 35 secs ago)
      7002 (PJSIP/7002) (ringinuse disabled) (dynamic) (Unavailable) has taken no calls yet (login was 35 secs ago)
   Callers: 
      1. PJSIP/trunk-carrier-0000000c (wait: 0:13, prio: 0)
      2. PJSIP/trunk-carrier-0000000e (wait: 0:11, prio: 0)
"""


@pytest.mark.parametrize("text, expected", [
    (QUEUE_SHOW, {"callers": 4, "completed": 5, "abandoned": 1, "members": 4, "in_use": 1, "ringing": 1,
                  "not_in_use": 1, "unavailable": 1}),
    ("hotline has 0 calls (max unlimited) in 'rrmemory' strategy (0s holdtime, 0s talktime), W:0, C:0, A:0, "
     "SL:0.0%, SL2:0.0% within 15s\n   No Members\n   No Callers\n",
     {"callers": 0, "completed": 0, "abandoned": 0, "members": 0, "in_use": 0, "ringing": 0, "not_in_use": 0,
      "unavailable": 0}),
])
def test_parse_queue_show(text: str, expected: dict) -> None:
    assert parse_queue_show(text) == expected


def test_parse_queue_show_refuses_other_output() -> None:
    with pytest.raises(ValueError):
        parse_queue_show("No such queue: 'hotline'\n")


PROC_NET_UDP = """   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  101: 0100007F:6232 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5001 2 0000000000000000 7
  102: 0100007F:7530 0100007F:6232 01 00000000:00000000 00:00000000 00000000     0        0 5002 2 0000000000000000 0
  103: 0100007F:7532 0100007F:6590 01 00000000:00000000 00:00000000 00000000     0        0 5003 2 0000000000000000 3
"""


def test_parse_proc_net_udp() -> None:
    assert parse_proc_net_udp(PROC_NET_UDP) == {5001: (25138, 7), 5002: (30000, 0), 5003: (30002, 3)}
    assert parse_proc_net_udp("") == {}


@pytest.mark.parametrize("name, samples, expected", [
    ("delta against the last sample before the window",
     [(0.0, {1: (25090, 5)}), (1.0, {1: (25090, 8)}), (5.0, {1: (25090, 20)}), (20.0, {1: (25090, 99)})],
     {"echo": 12, "rtp": 0}),
    ("a socket opened in the window counts from 0; one closed keeps its last value",
     [(1.0, {}), (3.0, {2: (30000, 4), 3: (30002, 1)}), (6.0, {2: (30000, 6)})],
     {"echo": 0, "rtp": 7}),
    ("ports outside every group are ignored", [(3.0, {4: (5060, 50)})], {"echo": 0, "rtp": 0}),
])
def test_udp_drops(name: str, samples: list, expected: dict) -> None:
    groups = {"echo": (25090, 25093), "rtp": (30000, 39999)}
    assert udp_drops(samples, (2.0, 10.0), groups) == expected, name


def test_highest_by_target() -> None:
    def lv(seats: int, **results: str) -> dict:
        return {"seats": seats, "callers": 2 * seats,
                "targets": [{"name": k, "result": v} for k, v in results.items()]}
    levels = [lv(100, ring="FAIL", loss="FAIL"), lv(80, ring="FAIL", loss="PASS"), lv(60, ring="FAIL", loss="PASS")]
    assert highest_by_target(levels) == {"ring": None, "loss": "80:160"}
    assert highest_by_target([{"seats": 10, "callers": 20, "error": "x"}]) == {}
