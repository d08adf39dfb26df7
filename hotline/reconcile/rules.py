"""The named rules: why our count of a call may differ from Asterisk's, in plain words.

Each call (one conversation, our call id = its Linkedid) has four facts on each side:
``entered`` (ours: a record; Asterisk: a CDR of a channel created on a carrier trunk that started
the conversation), ``offered`` (ours: ``queued_at``; Asterisk: an ENTERQUEUE), ``answered`` (ours:
a seat answered a queued call; Asterisk: a CONNECT) and ``abandoned`` (ours: ``abandoned_in_queue``;
Asterisk: an ABANDON without a CONNECT). A fact that differs is a *difference*; the first rule
that applies to the call and names that fact explains it. A difference no rule explains is
``unexplained``. *Notes* explain no difference: they tell why a call that entered was not
offered, or why a KPI leaves it out (the README's rules table lists both).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

FACTS = ("entered", "offered", "answered", "abandoned")
SHORT_ABANDON_S = 5.0


@dataclass
class Side:
    entered: bool = False
    offered: bool = False
    answered: bool = False
    abandoned: bool = False
    day: str | None = None          # the site-local day this side counts the call on

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in (*FACTS, "day")}


@dataclass
class Call:
    """What both sides say about one conversation."""

    call_id: str
    ours: Side = field(default_factory=Side)
    asterisk: Side = field(default_factory=Side)
    record: dict[str, Any] | None = None         # our record (CallRecord.to_dict())
    queue_events: list[str] = field(default_factory=list)   # "QUEUE EVENT" in order
    cdr_channels: list[str] = field(default_factory=list)
    accountcode: str = ""                        # the conversation's first CDR's
    rules: list[str] = field(default_factory=list)

    # -- what the record says -------------------------------------------------------
    @property
    def outcome(self) -> str | None:
        return self.record.get("outcome") if self.record else None

    @property
    def extra(self) -> dict[str, Any]:
        extra = self.record.get("extra") if self.record else None
        return extra if isinstance(extra, dict) else {}

    @property
    def wait(self) -> float:
        w = self.record.get("wait_seconds") if self.record else None
        return float(w) if isinstance(w, (int, float)) else 0.0

    def differs(self) -> list[str]:
        """The facts that differ, and ``day`` when both sides have the call on different days."""
        out = [f for f in FACTS if getattr(self.ours, f) != getattr(self.asterisk, f)]
        days = (self.ours.day, self.asterisk.day)
        return out + (["day"] if None not in days and days[0] != days[1] else [])


@dataclass(frozen=True)
class Rule:
    name: str
    explains: tuple[str, ...]        # the facts it may explain; () for a note
    applies: Callable[[Call], bool]
    text: str


def _legs(c: Call) -> list[dict[str, Any]]:
    legs = c.extra.get("legs")
    return [leg for leg in legs if isinstance(leg, dict)] if isinstance(legs, list) else []


def _fallback(c: Call) -> dict[str, Any]:
    fb = c.extra.get("fallback")
    return fb if isinstance(fb, dict) else {}


def _queue_callback(c: Call) -> bool:
    """The caller's call that asked for a queue callback, or a try of one (its placeholder queued)."""
    return (c.outcome == "callback_requested" or c.extra.get("callback_kind") == "queue_callback"
            or (c.accountcode.startswith("cb-") and c.asterisk.offered))


def _callback_try(c: Call) -> bool:
    return "callback_of" in c.extra or c.accountcode.startswith("cb-")


def _other_day(c: Call) -> bool:
    same_facts = all(getattr(c.ours, f) == getattr(c.asterisk, f) for f in FACTS)
    return same_facts and c.ours.day is not None and c.asterisk.day is not None and c.ours.day != c.asterisk.day


ALL = FACTS
RULES: tuple[Rule, ...] = (
    Rule("crosses-midnight", ("day",), _other_day,
         "both sides have the call, but on different days: we count a call on the day it arrived, "
         "Asterisk's CDR on the day its first channel started and queue_log on the day it joined the queue"),
    Rule("restart-mid-call", ALL, lambda c: c.extra.get("cut_by") == "asterisk_restart",
         "Asterisk was restarted during the call: it wrote no CDR and no final queue_log event; we closed the "
         "record as it stood at its last event (extra.cut_by)"),
    Rule("attended-transfer-connect-missing", ("answered", "abandoned"),
         lambda c: c.ours.answered and any(leg.get("kind") == "attended" for leg in _legs(c)),
         "an attended transfer whose queue_log lacks the CONNECT of the answered call (Asterisk issue 759); we "
         "count it answered from the bridge in the CEL log. Not seen on Asterisk 22 in the call shapes: the "
         "seat's CONNECT is written when it answers, before it consults the target"),
    Rule("callback-keeps-place", ALL, _queue_callback,
         "a queue callback: the caller left the queue (EXITWITHKEY) keeping their place, and a placeholder "
         "(accountcode cb-<call id>, no trunk channel) re-entered it; we count the caller's call once as "
         "offered, not abandoned, and the callback as its own record (extra.callback_of)"),
    Rule("callback-try", ("entered",), _callback_try,
         "a callback a seat took (an abandoned or missed call called back): the platform placed it out, the "
         "seat's phone first, then the citizen through the trunk (accountcode cb-<call id>); a record of its own "
         "(extra.callback_of) that no trunk call entered, never offered"),
    Rule("voice-message", ("offered", "abandoned"), lambda c: c.outcome == "voice_message",
         "the queue's message fallback: the caller left a voice message; queue_log has no ENTERQUEUE when the "
         "queue refused them at once (no seat) and no ABANDON; we count it offered, not abandoned"),
    Rule("queue-refused-at-join", ("offered", "abandoned"),
         lambda c: _fallback(c).get("reason") == "no_seat" and not c.asterisk.offered,
         "the queue's no-seat rule sent the caller to its fallback at join (JOINEMPTY): app_queue logs no "
         "ENTERQUEUE, we count the call offered because the caller asked for a seat"),
    Rule("hung-up-entering-queue", ("offered", "abandoned"),
         lambda c: c.outcome == "abandoned_in_queue" and not c.asterisk.offered and c.wait < 1.0,
         "the caller hung up between our queue mark (CEL HOTLINE_QUEUE) and app_queue's join: no ENTERQUEUE; "
         "we count an offered call abandoned (a short abandon, out of the KPI base)"),
    Rule("not-a-trunk-call", ("offered", "answered", "abandoned"),
         lambda c: c.record is None and not c.asterisk.entered,
         "a conversation that did not enter through a carrier trunk (a seat's feature code, a supervisor's "
         "listen, an originate): it has no record by design, whatever queue_log says"),
    # notes: no difference, why a call is not offered or not in a KPI's base
    Rule("ended-before-queue", (), lambda c: c.outcome == "abandoned_before_queue",
         "the caller hung up before reaching the queue (routing, a notice): entered, not offered, not an abandon"),
    Rule("ended-after-notice", (), lambda c: c.outcome == "ended_after_notice",
         "a withdrawn number: the platform played the notice and ended the call as configured; never offered"),
    Rule("parallel-number-not-queued", (),
         lambda c: c.extra.get("answered_by") == "department"
         or (c.record is not None and c.record.get("legacy_mode") == "parallel" and not c.ours.offered),
         "a parallel number answered by (or ended at) its own department: it never asked for a 12345 seat, "
         "so it is not offered"),
    Rule("failed-before-queue", (), lambda c: c.outcome == "failed" and not c.ours.offered,
         "the platform could not connect the call before any queue: entered, not offered"),
    Rule("short-abandon-excluded", (),
         lambda c: c.ours.abandoned and c.wait < SHORT_ABANDON_S,
         "abandoned within 5 s of joining the queue (短时放弃): counted as an abandon on both sides, left out of "
         "the answer-rate and abandon-rate base"),
    Rule("requeued", (), lambda c: sum(e.endswith(" ENTERQUEUE") for e in c.queue_events) > 1,
         "the caller joined more than one queue (max-wait fallback, overflow): several ENTERQUEUE lines, "
         "one offered call"),
)
BY_NAME = {r.name: r for r in RULES}
UNEXPLAINED = "unexplained"


def classify(call: Call) -> list[str]:
    """The rules of ``call`` (notes included), and ``unexplained`` when a difference has none."""
    names: list[str] = []
    for fact in call.differs():
        rule = next((r for r in RULES if fact in r.explains and r.applies(call)), None)
        name = rule.name if rule else UNEXPLAINED
        if name not in names:
            names.append(name)
    for rule in RULES:
        if not rule.explains and rule.applies(call) and rule.name not in names:
            names.append(rule.name)
    call.rules = names
    return names


def table() -> list[dict[str, Any]]:
    """The rules as the README and the report list them."""
    return [{"rule": r.name, "explains": list(r.explains) or None, "text": r.text} for r in RULES]
