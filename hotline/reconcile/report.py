"""The reconciliation report of one site-local day: pure, from our records and Asterisk's logs.

Calls are matched by our call id, the Linkedid: a CDR names its ``linkedid``; a queue_log line
names the Uniqueid of the queued channel, mapped to its conversation through the CDRs (a channel
without a CDR is its own conversation, as the caller's trunk channel is). A three-way call's leg is
originated by the controller with a Linkedid of its own (ConfBridge does not merge them), tagged by
its accountcode ``leg-<call id>-<target>``: it belongs to that call, as on the record's
``extra.legs``, never a conversation of its own (dialled out through a trunk, it would otherwise
look like a call that entered). See :mod:`.rules`.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone, tzinfo
from typing import Any, Iterable

from hotline.spine.ids import CALL_ID_PLAIN
from hotline.spine.plan import TRUNK_PREFIX, endpoint_of

from .parse import CdrRow, Parsed, QueueEvent
from .rules import FACTS, UNEXPLAINED, Call, classify, table

EXITS = {"ABANDON", "EXITWITHTIMEOUT", "EXITWITHKEY", "EXITEMPTY", "COMPLETECALLER", "COMPLETEAGENT",
         "TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER"}


_LEG = re.compile(rf"^leg-(?P<call>{CALL_ID_PLAIN})-[A-Za-z0-9+_-]{{1,48}}$")   # hotline.calls.legs.leg_account


def _owner(row: CdrRow) -> str:
    """The conversation a CDR belongs to: its Linkedid, or the call a three-way leg was added to."""
    leg = _LEG.match(row.accountcode)
    return leg.group("call") if leg else row.linkedid


def _day(at: float | datetime | None, tz: tzinfo) -> str | None:
    if at is None:
        return None
    when = at if isinstance(at, datetime) else datetime.fromtimestamp(at, timezone.utc)
    return when.astimezone(tz).date().isoformat()


def _trunk_start(rows: list[CdrRow], call_id: str) -> CdrRow | None:
    for row in rows:
        endpoint = endpoint_of(row.channel, remote_seats=False) or ""
        if row.uniqueid == call_id and endpoint.startswith(TRUNK_PREFIX):
            return row
    return None


def _asterisk_side(call: Call, rows: list[CdrRow], events: list[QueueEvent], tz: tzinfo) -> None:
    first = _trunk_start(rows, call.call_id)
    side = call.asterisk
    side.entered = first is not None
    names = [e.event for e in events]
    side.offered = "ENTERQUEUE" in names
    side.answered = "CONNECT" in names
    side.abandoned = "ABANDON" in names and not side.answered
    joined = next((e.at for e in events if e.event == "ENTERQUEUE"), None)
    starts = [r.start for r in rows]
    side.day = _day(min(starts) if starts else joined, tz)
    call.queue_events = [f"{e.queue} {e.event}" for e in events]
    call.cdr_channels = sorted({r.channel for r in rows})
    ordered = sorted(rows, key=lambda r: r.start)
    call.accountcode = ordered[0].accountcode if ordered else ""


def _our_side(call: Call, record: dict[str, Any], tz: tzinfo) -> None:
    call.record = record
    side = call.ours
    side.entered = True
    side.offered = record.get("queued_at") is not None
    side.answered = side.offered and record.get("outcome") == "answered"
    side.abandoned = record.get("outcome") == "abandoned_in_queue"
    side.day = _day(datetime.fromisoformat(str(record["arrived_at"])), tz)


def match(records: Iterable[dict[str, Any]], parsed: Parsed, tz: tzinfo) -> dict[str, Call]:
    """Every conversation either side knows of, with both sides' facts and its rules."""
    by_call: dict[str, list[CdrRow]] = {}
    conversation: dict[str, str] = {}
    for row in parsed.cdrs:
        owner = _owner(row)
        by_call.setdefault(owner, []).append(row)
        conversation[row.uniqueid] = owner
    events: dict[str, list[QueueEvent]] = {}
    for ev in sorted(parsed.queue, key=lambda e: e.at):
        if ev.callid.isupper():   # NONE, MANAGER: the queue's own lines
            continue
        events.setdefault(conversation.get(ev.callid, ev.callid), []).append(ev)
    calls: dict[str, Call] = {}
    for call_id in {*by_call, *events}:
        call = calls[call_id] = Call(call_id)
        _asterisk_side(call, by_call.get(call_id, []), events.get(call_id, []), tz)
    for record in records:
        call_id = str(record["call_id"])
        _our_side(calls.setdefault(call_id, Call(call_id)), record, tz)
    for call in calls.values():
        classify(call)
    return calls


def _count(calls: list[Call], day: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for fact in FACTS:
        ours = sum(1 for c in calls if getattr(c.ours, fact) and c.ours.day == day)
        theirs = sum(1 for c in calls if getattr(c.asterisk, fact) and c.asterisk.day == day)
        unexplained = sum((int(getattr(c.ours, fact) and c.ours.day == day)
                           - int(getattr(c.asterisk, fact) and c.asterisk.day == day))
                          for c in calls if UNEXPLAINED in c.rules)
        out[fact] = {"ours": ours, "asterisk": theirs, "difference": ours - theirs,
                     "explained_difference": ours - theirs - unexplained, "unexplained_difference": unexplained}
    short = sum(1 for c in calls if c.ours.day == day and "short-abandon-excluded" in c.rules)
    out["abandoned"]["ours_short"] = short
    out["abandoned"]["ours_kpi"] = out["abandoned"]["ours"] - short
    return out


def _evidence(c: Call) -> dict[str, Any]:
    rec = c.record or {}
    return {"call_id": c.call_id, "rules": c.rules, "differs": c.differs(),
            "ours": {**c.ours.as_dict(), "outcome": rec.get("outcome"), "queue": rec.get("queue"),
                     "wait_seconds": rec.get("wait_seconds"), "arrived_at": rec.get("arrived_at")},
            "asterisk": {**c.asterisk.as_dict(), "queue_log": c.queue_events, "cdr_channels": c.cdr_channels,
                         "accountcode": c.accountcode}}


def build(day: str, records: Iterable[dict[str, Any]], parsed: Parsed, tz: tzinfo,
          sources: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report of ``day`` (``YYYY-MM-DD``, site-local): counts per side, each call of the day
    with its rules, the unexplained differences with both sides' evidence, and skipped lines."""
    calls = [c for c in match(records, parsed, tz).values() if day in (c.ours.day, c.asterisk.day)]
    calls.sort(key=lambda c: c.call_id)
    counts = _count(calls, day)
    per_rule: dict[str, int] = {}
    for c in calls:
        for name in c.rules:
            per_rule[name] = per_rule.get(name, 0) + 1
    lines: dict[str, int] = {}
    for ev in parsed.queue:
        if _day(ev.at, tz) == day:
            lines[ev.event] = lines.get(ev.event, 0) + 1
    return {
        "day": day, "counts": counts, "rules": per_rule,
        "queue_log_lines": dict(sorted(lines.items())),
        "calls": [_evidence(c) for c in calls],
        "unexplained": [_evidence(c) for c in calls if UNEXPLAINED in c.rules],
        "skipped": [s.as_dict() for s in parsed.skipped],
        "sources": sources or {},
        "rule_table": table(),
    }
