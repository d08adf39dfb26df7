"""Pure parsing for the seats100 benchmark scenario (no I/O, no Asterisk): unit-tested in
tests/unit/test_bench_seats_parse.py.

* sipp's ``-trace_msg`` message log of the seat UAS -> per-seat INVITEs and call ends;
* ring delay: a seat's call ended (wrap-up 0) -> the next INVITE to that seat, while callers wait;
* ``pjsip show channelstats`` -> per-channel RTP counters;
* ``queue show <queue>`` -> callers waiting, members by state, completed/abandoned counters.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

# -- sipp message trace ----------------------------------------------------------------------

_SEP = re.compile(r"^-{10,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)\s*$", re.M)


@dataclass(frozen=True)
class SipMsg:
    t: float            # epoch seconds (sipp writes local time)
    sent: bool          # True: the UAS sent it; False: it received it
    first_line: str     # "INVITE sip:7001@127.0.0.1:25081 SIP/2.0" or "SIP/2.0 200 OK"
    call_id: str
    cseq_method: str    # the CSeq header's method (what a response answers)

    @property
    def method(self) -> str | None:
        """The request's method, None for a response."""
        return None if self.first_line.startswith("SIP/2.0") else self.first_line.split(" ", 1)[0]

    @property
    def status(self) -> int | None:
        if not self.first_line.startswith("SIP/2.0"):
            return None
        try:
            return int(self.first_line.split()[1])
        except (IndexError, ValueError):
            return None

    @property
    def ruri_user(self) -> str | None:
        m = re.match(r"\S+ sips?:([^@;>\s]+)@", self.first_line)
        return m.group(1) if m else None


def parse_sipp_messages(text: str) -> list[SipMsg]:
    """The messages of a sipp ``-trace_msg`` log, in file order."""
    out: list[SipMsg] = []
    marks = list(_SEP.finditer(text))
    for i, m in enumerate(marks):
        body = text[m.end():marks[i + 1].start() if i + 1 < len(marks) else len(text)]
        lines = body.strip("\r\n").splitlines()
        if not lines:
            continue
        head = lines[0]
        if "message sent" in head:
            sent = True
        elif "message received" in head:
            sent = False
        else:
            continue
        rest = [ln.strip() for ln in lines[1:] if ln.strip()]
        if not rest:
            continue
        call_id = cseq = ""
        for ln in rest[1:]:
            low = ln.lower()
            if low.startswith(("call-id:", "i:")) and not call_id:
                call_id = ln.split(":", 1)[1].strip()
            elif low.startswith("cseq:") and not cseq:
                parts = ln.split(":", 1)[1].split()
                cseq = parts[1].upper() if len(parts) > 1 else ""
        t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f" if "." in m.group(1)
                              else "%Y-%m-%d %H:%M:%S").timestamp()
        out.append(SipMsg(t=t, sent=sent, first_line=rest[0], call_id=call_id, cseq_method=cseq))
    return out


@dataclass(frozen=True)
class SeatCalls:
    invites: dict[str, list[tuple[float, str]]]   # seat -> [(time, call-id)] first INVITE of each call
    ends: dict[str, list[tuple[float, str]]]      # seat -> [(time, call-id)] the call's end at the seat


def seat_calls(msgs: Iterable[SipMsg]) -> SeatCalls:
    """Per seat user: when each call's INVITE reached the seat, and when the call ended there.

    The seat is the INVITE's Request-URI user (every seat registers its own user with a contact
    at the one UAS). A call ends when the 200 OK to the seat's own BYE arrives, or when the seat
    answers the platform's BYE with 200 OK. INVITE retransmissions (same Call-ID) count once."""
    seat_of: dict[str, str] = {}
    invites: dict[str, list[tuple[float, str]]] = {}
    ends: dict[str, list[tuple[float, str]]] = {}
    ended: set[str] = set()
    for msg in sorted(msgs, key=lambda m: m.t):
        if not msg.sent and msg.method == "INVITE":
            user = msg.ruri_user
            if user is None or msg.call_id in seat_of:
                continue
            seat_of[msg.call_id] = user
            invites.setdefault(user, []).append((msg.t, msg.call_id))
        elif msg.cseq_method == "BYE" and msg.status == 200 and msg.call_id in seat_of \
                and msg.call_id not in ended:
            # received: the answer to the seat's BYE; sent: the seat's answer to the platform's BYE
            ended.add(msg.call_id)
            ends.setdefault(seat_of[msg.call_id], []).append((msg.t, msg.call_id))
    return SeatCalls(invites=invites, ends=ends)


# -- ring delay ------------------------------------------------------------------------------

def waiting_at(samples: list[tuple[float, int]], t: float) -> int | None:
    """Callers waiting around ``t``: the smaller of the last sample at or before ``t`` and the first
    one after it (both must exist), so a seat counts as wanted only when callers waited on both sides."""
    times = [s[0] for s in samples]
    i = bisect_right(times, t)
    if i == 0 or i >= len(samples):
        return None
    return min(samples[i - 1][1], samples[i][1])


def ring_delays(calls: SeatCalls, waiting: list[tuple[float, int]], window: tuple[float, float],
                horizon: float, wrapup: float = 0.0) -> list[dict[str, Any]]:
    """For every seat whose call ended in ``window`` while callers were waiting: the time from the
    seat becoming free (call end + ``wrapup``) to the next INVITE reaching that seat.

    No INVITE by ``horizon`` (the end of observation) is a *censored* delay: reported as
    ``horizon - free`` (a lower bound) with ``censored: True`` so it counts against the target."""
    out: list[dict[str, Any]] = []
    for seat, ends in calls.ends.items():
        inv = sorted(calls.invites.get(seat, []))
        inv_t = [t for t, _ in inv]
        for t_end, call_id in ends:
            free = t_end + wrapup
            if not (window[0] <= free <= window[1]):
                continue
            w = waiting_at(waiting, free)
            if not w:
                continue
            j = bisect_left(inv_t, free)
            row: dict[str, Any] = {"seat": seat, "free_at": round(free, 6), "ended_call": call_id, "waiting": w}
            if j < len(inv):
                row.update({"invite_at": round(inv[j][0], 6), "delay_s": round(inv[j][0] - free, 6),
                            "next_call": inv[j][1], "censored": False})
            else:
                row.update({"invite_at": None, "delay_s": round(max(0.0, horizon - free), 6), "censored": True})
            out.append(row)
    out.sort(key=lambda r: r["free_at"])
    return out


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(len(ordered) * p / 100))
    return ordered[min(rank, len(ordered)) - 1]


# -- pjsip show channelstats ------------------------------------------------------------------

_STAT_ROW = re.compile(
    r"^\s*(?P<bridge>[0-9a-f]{8})?\s+(?P<chan>\S+)\s+(?P<up>\d+:\d\d:\d\d)\s+(?P<codec>\S+)\s+"
    r"(?P<rxc>\d+)(?P<rxck>K?)\s+(?P<rxl>\d+)(?P<rxlk>K?)\s+(?P<rxpct>\d+)\s+(?P<rxj>[\d.]+)\s+"
    r"(?P<txc>\d+)(?P<txck>K?)\s+(?P<txl>\d+)(?P<txlk>K?)\s+(?P<txpct>\d+)\s+(?P<txj>[\d.]+)\s+(?P<rtt>[\d.]+)\s*$")


def _k(num: str, k: str) -> int:
    return int(num) * (1000 if k else 1)


def parse_channelstats(text: str) -> list[dict[str, Any]]:
    """Rows of ``pjsip show channelstats`` (Asterisk 22, channels/pjsip/cli_commands.c).

    The CLI's column names are Asterisk's RTP statistic names, which read backwards for jitter:
    the *Receive* Jitter is ``rxjitter`` = the jitter the peer reported in RTCP (always 0 with a
    peer that sends no RTCP, like sipp), and the *Transmit* Jitter is ``txjitter`` = Asterisk's
    own interarrival jitter of the packets it receives on this channel (RFC 3550, seconds). Receive
    Lost is Asterisk's own count (expected - received, updated at each RTCP interval); Transmit
    Lost is what the peer reported. So: ``rx_lost``/``rx_count`` and ``rx_jitter_ms`` below are
    what Asterisk measured on the packets it received; ``peer_*`` what the peer reported.
    ChannelId is cut to 18 characters by the CLI; BridgeId to 8 (empty when not bridged)."""
    rows = []
    for line in text.splitlines():
        m = _STAT_ROW.match(line)
        if not m:
            continue
        h, mi, s = (int(x) for x in m.group("up").split(":"))
        rows.append({
            "bridge": m.group("bridge") or "",
            "channel": m.group("chan"),
            "uptime_s": h * 3600 + mi * 60 + s,
            "codec": m.group("codec"),
            "rx_count": _k(m.group("rxc"), m.group("rxck")),
            "rx_lost": _k(m.group("rxl"), m.group("rxlk")),
            "rx_jitter_ms": round(float(m.group("txj")) * 1000, 3),
            "tx_count": _k(m.group("txc"), m.group("txck")),
            "peer_reported_lost": _k(m.group("txl"), m.group("txlk")),
            "peer_reported_jitter_ms": round(float(m.group("rxj")) * 1000, 3),
        })
    return rows


def leg_kind(channel: str, seat_prefixes: tuple[str, ...] = ("7",)) -> str:
    """'seat' for a seat's leg (named after the seat id), 'caller' for a trunk leg."""
    return "caller" if channel.startswith("trunk-") else ("seat" if channel.startswith(seat_prefixes) else "other")


def audio_summary(samples: list[tuple[float, list[dict[str, Any]]]], window: tuple[float, float],
                  jitter_limit_ms: float = 30.0) -> dict[str, Any]:
    """Loss and jitter of the connected (bridged) legs over the samples taken in ``window``.

    A bridged leg is keyed by (BridgeId, ChannelId as cut by the CLI): one caller leg and one seat
    leg per bridge. Loss uses each leg's last sample (the counters are cumulative over the
    channel's life: a caller leg's include its time waiting in the queue); jitter uses every
    sample (Asterisk's running RFC 3550 estimate at that moment). Legs not in a bridge (callers
    waiting, hearing ringback) are summarised apart."""
    last: dict[tuple[str, str], dict[str, Any]] = {}
    jit: dict[str, list[float]] = {"caller": [], "seat": [], "other": []}
    waiting_jit: list[float] = []
    n_samples = 0
    for t, rows in samples:
        if not (window[0] <= t <= window[1]):
            continue
        n_samples += 1
        for r in rows:
            if r["bridge"]:
                last[(r["bridge"], r["channel"])] = r
                jit[leg_kind(r["channel"])].append(r["rx_jitter_ms"])
            else:
                waiting_jit.append(r["rx_jitter_ms"])

    def loss(rows: list[dict[str, Any]]) -> dict[str, Any]:
        recv = sum(r["rx_count"] for r in rows)
        lost = sum(r["rx_lost"] for r in rows)
        per_leg = [r["rx_lost"] / (r["rx_count"] + r["rx_lost"]) * 100 for r in rows if r["rx_count"] + r["rx_lost"]]
        return {"legs": len(rows), "packets_received": recv, "packets_lost": lost,
                "loss_pct": round(lost / (recv + lost) * 100, 4) if recv + lost else None,
                "worst_leg_loss_pct": round(max(per_leg), 4) if per_leg else None,
                "legs_with_loss": sum(1 for r in rows if r["rx_lost"])}

    def jstats(vals: list[float]) -> dict[str, Any]:
        return {"samples": len(vals), "p50_ms": percentile(vals, 50), "p99_ms": percentile(vals, 99),
                "max_ms": max(vals) if vals else None,
                "over_limit": sum(1 for v in vals if v > jitter_limit_ms)}

    legs = list(last.values())
    by_kind = {k: [r for r in legs if leg_kind(r["channel"]) == k] for k in ("caller", "seat")}
    all_j = jit["caller"] + jit["seat"] + jit["other"]
    return {
        "samples": n_samples,
        "bridges": len({b for b, _ in last}),
        "connected": {"loss": loss(legs), "jitter": jstats(all_j)},
        "caller_legs": {"loss": loss(by_kind["caller"]), "jitter": jstats(jit["caller"])},
        "seat_legs": {"loss": loss(by_kind["seat"]), "jitter": jstats(jit["seat"])},
        # not bridged: ChannelIds cut to 18 characters collide, so no per-leg loss; jitter only
        "waiting_caller_legs": {"jitter": jstats(waiting_jit)},
    }


# -- queue show ------------------------------------------------------------------------------

def parse_queue_show(text: str) -> dict[str, int]:
    """``queue show <queue>``: callers in the queue (waiting, or ringing a seat), members by
    device state, and the queue's completed/abandoned counters."""
    m = re.search(r"has (\d+) calls?\b.*?W:\d+, C:(\d+), A:(\d+)", text)
    if not m:
        raise ValueError(f"not a 'queue show' output: {text[:200]!r}")
    members = re.findall(r"^\s+\S+ \((?:PJSIP|SIP|Local)/[^)]*\).*$", text, re.M)
    return {
        "callers": int(m.group(1)),
        "completed": int(m.group(2)),
        "abandoned": int(m.group(3)),
        "members": len(members),
        "in_use": sum(1 for ln in members if "(In use)" in ln or "(Busy)" in ln or "(On Hold)" in ln),
        "ringing": sum(1 for ln in members if "(Ringing)" in ln or "(Ring+Inuse)" in ln),
        "not_in_use": sum(1 for ln in members if "(Not in use)" in ln),
        "unavailable": sum(1 for ln in members if "(Unavailable)" in ln or "(Invalid)" in ln),
    }


def highest_by_target(levels: list[dict[str, Any]]) -> dict[str, str | None]:
    """Per target, the most seats of a level that met it ("seats:callers"), None when none did."""
    best: dict[str, tuple[int, str] | None] = {}
    for lv in levels:
        for t in lv.get("targets", []):
            best.setdefault(t["name"], None)
            cur = best[t["name"]]
            if t["result"] == "PASS" and (cur is None or lv["seats"] > cur[0]):
                best[t["name"]] = (lv["seats"], f"{lv['seats']}:{lv['callers']}")
    return {k: (v[1] if v else None) for k, v in best.items()}


# -- /proc/net/udp -----------------------------------------------------------------------------

def parse_proc_net_udp(text: str) -> dict[int, tuple[int, int]]:
    """``/proc/net/udp``: socket inode -> (local port, drops). ``drops`` counts datagrams the
    kernel dropped for that socket (on loopback: its receive buffer was full)."""
    out: dict[int, tuple[int, int]] = {}
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 13 or ":" not in f[1]:
            continue
        try:
            port = int(f[1].rsplit(":", 1)[1], 16)
            inode, drops = int(f[9]), int(f[-1])
        except ValueError:
            continue
        out[inode] = (port, drops)
    return out


def udp_drops(samples: list[tuple[float, dict[int, tuple[int, int]]]], window: tuple[float, float],
              groups: dict[str, tuple[int, int]]) -> dict[str, int]:
    """Datagrams dropped in ``window`` per group of local ports (name -> (first, last) port): for each
    socket, its last drops value in the window less its value in the last sample before the window
    (0 for a socket opened during the window). Sockets closed between two samples lose what they
    dropped after the last sample that saw them."""
    before: dict[int, int] = {}
    last: dict[int, tuple[int, int]] = {}
    for t, socks in sorted(samples, key=lambda s: s[0]):
        if t < window[0]:
            before = {inode: d for inode, (_, d) in socks.items()}
        elif t <= window[1]:
            last.update(socks)
    out = {name: 0 for name in groups}
    for inode, (port, drops) in last.items():
        for name, (lo, hi) in groups.items():
            if lo <= port <= hi:
                out[name] += max(0, drops - before.get(inode, 0))
    return out
