"""Our seat state against Asterisk's own, judged without side effects.

Asterisk knows a seat through app_queue: the queues it is a member of, ``Paused``, ``InCall``,
the device state of its state interface and ``LastCall`` (wrap-up lasts the queue's
``wrapuptime`` from there). :func:`asterisk_states` reads a ``QueueStatus`` reply into one
state per seat in our vocabulary (``queue_manager.seats.SeatState``); :func:`disagreements`
compares it with our seat views (``GET /api/seats``, the wallboard); :func:`stuck_seats` is the
check after every call ended: no seat ringing, talking or in wrap-up with no call, and every
seat as Asterisk has it. :func:`state_lags` measures how long after Asterisk's own event (its
``Timestamp``) our view showed the state the event implies.

Used by the benches (``bench/seat_truth.py``, ``bench/soak.py``) and the integration tests; no
I/O here, the callers bring the AMI messages and the views.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from queue_manager.rest import LastCall, standing, standings
from queue_manager.seats import SeatState

from .snapshot import SeatResolver, read_queue_status

IN_CALL = frozenset({"ringing", "talking"})
ANY_LOGGED_IN = frozenset({"idle", "ringing", "talking", "wrapup", "paused"})


@dataclass(frozen=True)
class AsteriskSeat:
    seat_id: str
    state: str                     # logged_out, paused, talking, ringing, wrapup, idle
    device: str = "unknown"
    queues: frozenset[str] = frozenset()
    wrapup_until: float | None = None
    paused_in: frozenset[str] = frozenset()                     # the queues it is paused in
    rests: dict[str, float] = field(default_factory=dict)       # queue -> resting there until


def asterisk_states(messages: Iterable[Mapping[str, str]], resolver: SeatResolver, seats: Iterable[str],
                    queues: Iterable[str], wrapup_s: dict[str, int], now: float,
                    last_queue: Mapping[str, str] | None = None) -> dict[str, AsteriskSeat]:
    """One state per seat from a ``QueueStatus`` reply's ``QueueMember`` messages (taken at ``now``),
    by the rules of :mod:`queue_manager.rest`. ``last_queue``: the queue of each seat's last call
    when the caller knows it (its ``AgentComplete``); else the seat's longest wrap-up is taken."""
    seat_ids = list(seats)
    snap = read_queue_status([dict(m) for m in messages], resolver, seat_ids, queues, wrapup_s, now)
    out: dict[str, AsteriskSeat] = {}
    for seat_id in seat_ids:
        qs = frozenset(snap.in_queues.get(seat_id, set()))
        device = snap.device.get(seat_id, "unknown")
        paused = {q: r for q, r in snap.paused_in.get(seat_id, {}).items() if q in qs}
        last = snap.last_call.get(seat_id, 0.0)
        each = standings(qs, paused, LastCall(last, (last_queue or {}).get(seat_id)) if last else None,
                         wrapup_s, now)
        st = standing(each)
        if st.state in (SeatState.logged_out, SeatState.paused):
            state = st.state.value
        elif seat_id in snap.busy:
            state = "talking"
        elif device == "ringing":
            state = "ringing"
        else:
            state = st.state.value
        out[seat_id] = AsteriskSeat(seat_id, state, device, qs, st.wrapup_until, frozenset(paused),
                                    {s.queue: s.wrapup_until for s in each if s.wrapup_until is not None})
    return out


@dataclass(frozen=True)
class Disagreement:
    seat_id: str
    ours: str
    asterisk: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"seat_id": self.seat_id, "ours": self.ours, "asterisk": self.asterisk, "detail": self.detail}


def disagreements(ours: Iterable[Mapping[str, object]], theirs: Mapping[str, AsteriskSeat]) -> list[Disagreement]:
    """Seats whose state (or queues) differ between our views and Asterisk's picture."""
    out: list[Disagreement] = []
    for view in ours:
        seat_id = str(view["seat_id"])
        them = theirs.get(seat_id)
        if them is None:
            continue
        state = str(view["state"])
        if state != them.state:
            out.append(Disagreement(seat_id, state, them.state, f"device {them.device}"))
            continue
        queues = frozenset(str(q) for q in view.get("queues", []) or [])  # type: ignore[attr-defined]
        if state != "logged_out" and queues != them.queues:
            out.append(Disagreement(seat_id, state, them.state,
                                    f"queues ours {sorted(queues)} asterisk {sorted(them.queues)}"))
            continue
        detail = _queue_difference(view.get("queue_states"), them)
        if detail:
            out.append(Disagreement(seat_id, state, them.state, detail))
    return out


def _queue_difference(states: object, them: AsteriskSeat, slack_s: float = 1.0) -> str:
    """How a view's per-queue standing (``queue_states``, when it has one) differs from Asterisk's:
    paused or not, resting or not, and the rest's end (to ``slack_s``)."""
    if not isinstance(states, list):
        return ""
    for q in states:
        name, until = str(q["queue"]), q.get("wrapup_until")
        if bool(q.get("paused")) != (name in them.paused_in):
            return f"queue {name}: paused ours {bool(q.get('paused'))} asterisk {name in them.paused_in}"
        theirs = them.rests.get(name)
        if (until is None) != (theirs is None) or (until is not None and theirs is not None
                                                   and abs(float(until) - theirs) > slack_s):
            return f"queue {name}: resting until ours {until} asterisk {theirs}"
    return ""


def stuck_seats(ours: Iterable[Mapping[str, object]], theirs: Mapping[str, AsteriskSeat], now: float,
                wrapup_max_s: float, slack_s: float = 2.0) -> list[Disagreement]:
    """After every call ended (Asterisk has no channel): seats left in a call state, in wrap-up
    longer than any queue's wrap-up, holding a call, or not in the state Asterisk has them in.
    Asterisk's own leftovers (a member still InCall) count too. 0 is the bar."""
    views = list(ours)
    out: list[Disagreement] = []
    flagged: set[str] = set()
    for view in views:
        seat_id, state = str(view["seat_id"]), str(view["state"])
        them = theirs.get(seat_id)
        theirs_state = them.state if them else "?"
        since = float(view.get("since") or 0.0)  # type: ignore[arg-type]
        reason = ""
        if state in IN_CALL:
            reason = f"{state} with no call"
        elif state == "wrapup" and now - since > wrapup_max_s + slack_s:
            reason = f"wrap-up for {now - since:.0f} s (longest wrap-up {wrapup_max_s:.0f} s)"
        elif state not in ("paused", "wrapup") and view.get("call_id"):   # wrap-up shows its last call
            reason = f"{state} holding call {view.get('call_id')}"
        elif them is not None and them.state in IN_CALL:
            reason = f"Asterisk has the member {them.state} with no call"
        if reason:
            out.append(Disagreement(seat_id, state, theirs_state, reason))
            flagged.add(seat_id)
    # what is left: plain disagreements (a wrap-up that just ended on one side is not one)
    for d in disagreements(views, theirs):
        if d.seat_id in flagged or {d.ours, d.asterisk} == {"wrapup", "idle"}:
            continue
        out.append(Disagreement(d.seat_id, d.ours, d.asterisk, f"disagree: {d.detail}"))
    return out


# -- lag: Asterisk's event time -> our view showing it ----------------------------------------

def expected_states(headers: Mapping[str, str], wrapup_s: Mapping[str, int]) -> frozenset[str] | None:
    """The states our view may show after this agent-class event, or None when it implies none."""
    name = headers.get("Event", "")
    if name == "AgentCalled":
        return frozenset({"ringing"})
    if name == "AgentConnect":
        return frozenset({"talking", "paused"})   # paused while ringing: the call goes on
    if name == "AgentComplete":
        # after a call of a queue without wrap-up the seat may still rest in its other queues
        return frozenset({"wrapup", "paused"} if wrapup_s.get(headers.get("Queue", ""), 0) > 0
                         else {"idle", "wrapup", "paused"})
    if name == "AgentRingNoAnswer":
        return frozenset({"idle", "paused"})      # paused: the auto-pause after N unanswered rings
    if name == "QueueMemberPause":
        return frozenset({"paused"}) if headers.get("Paused") == "1" else ANY_LOGGED_IN - {"paused"}
    return None


@dataclass(frozen=True)
class Expectation:
    at: float                 # Asterisk's event Timestamp (epoch seconds)
    seat_id: str
    states: frozenset[str]
    event: str


@dataclass
class LagReport:
    lags: list[float] = field(default_factory=list)           # seconds, one per matched expectation
    missed: list[Expectation] = field(default_factory=list)   # never shown before the next one
    worst: list[tuple[float, Expectation]] = field(default_factory=list)


def state_lags(expectations: Iterable[Expectation], shown: Mapping[str, list[tuple[float, str]]],
               horizon_s: float = 10.0, keep_worst: int = 10) -> LagReport:
    """For each expectation: how long after its time our view showed one of its states.

    ``shown``: per seat, (time our view changed, state) in time order (the wallboard stream as a
    client received it). Already showing it at the event's time is a lag of 0. A state shown
    only after the seat's next expectation, or more than ``horizon_s`` later, is missed."""
    report = LagReport()
    by_seat: dict[str, list[Expectation]] = {}
    for e in sorted(expectations, key=lambda e: e.at):
        by_seat.setdefault(e.seat_id, []).append(e)
    for seat_id, events in by_seat.items():
        timeline = shown.get(seat_id, [])
        times = [t for t, _ in timeline]
        for k, e in enumerate(events):
            nxt = events[k + 1].at if k + 1 < len(events) else float("inf")
            i = bisect.bisect_right(times, e.at) - 1
            if i >= 0 and timeline[i][1] in e.states:
                report.lags.append(0.0)
                continue
            lag = None
            for t, state in timeline[i + 1:]:
                if t - e.at > horizon_s:
                    break
                if state in e.states:
                    lag = t - e.at
                    break
                if t > nxt and state in (events[k + 1].states - e.states):
                    break   # already showing the next event's state: this one was skipped
            if lag is None:
                report.missed.append(e)
            else:
                report.lags.append(lag)
                report.worst.append((lag, e))
    report.worst = sorted(report.worst, key=lambda w: -w[0])[:keep_worst]
    return report
