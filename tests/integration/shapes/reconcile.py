"""The reconciliation of one shape (issue 15, item 5): its records against the queue_log and CDR log
Asterisk wrote for its calls, through the product's own matching and rules (hotline/reconcile).

The rig is shared: the logs hold every call of the session (other shapes, other tests, other
stores). The comparison is restricted to the shape's conversations: its records' call ids, and any
conversation Asterisk started inside the shape's window (a stranger there, with no record, must be
explained too, e.g. ``not-a-trunk-call``). 0 unexplained differences: each difference of the four
facts (entered, offered, answered, abandoned) and of the day is explained by a named rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hotline.reconcile import parse
from hotline.reconcile.report import match
from hotline.reconcile.rules import UNEXPLAINED, Call

from ..rig import Stack, wait_for

SETTLE_S = 30.0   # CDRs are written as each channel ends; queue_log at once


def _first_seen(parsed: parse.Parsed) -> dict[str, float]:
    """Each conversation's first time in Asterisk's logs (CDR start, or a queue line's time)."""
    conversation = {row.uniqueid: row.linkedid for row in parsed.cdrs}
    out: dict[str, float] = {}
    for row in parsed.cdrs:
        out[row.linkedid] = min(out.get(row.linkedid, row.start), row.start)
    for ev in parsed.queue:
        if not ev.callid.isupper():
            lid = conversation.get(ev.callid, ev.callid)
            out[lid] = min(out.get(lid, ev.at), ev.at)
    return out


def shape_calls(records: list[dict[str, Any]], parsed: parse.Parsed, tz: ZoneInfo, since: float,
                until: float) -> list[Call]:
    """The shape's conversations, both sides, with their rules."""
    ours = {str(r["call_id"]) for r in records}
    seen = _first_seen(parsed)
    calls = match(records, parsed, tz)
    return sorted((c for cid, c in calls.items() if cid in ours or since <= seen.get(cid, -1.0) <= until),
                  key=lambda c: c.call_id)


def describe(c: Call) -> str:
    rec = c.record or {}
    return (f"{c.call_id} ({rec.get('caller_number')} -> {rec.get('dialled_number')}, {rec.get('outcome')}): "
            f"rules {c.rules}; differs {c.differs()}; ours {c.ours.as_dict()}; asterisk {c.asterisk.as_dict()}; "
            f"queue_log {c.queue_events}; CDR {c.cdr_channels}; accountcode {c.accountcode!r}")


def rule_mismatches(expected: tuple[str, ...], calls: list[Call]) -> list[str]:
    """The rules the shape's calls carry against the shape's ``reconciled``: all and only those."""
    fired = sorted({name for c in calls for name in c.rules})
    return [] if fired == sorted(expected) else [f"reconciliation: rules {fired}, expected {sorted(expected)}"]


def _cdrs_in(cdr_log: Path, call_ids: set[str]) -> bool:
    try:
        text = cdr_log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return all(f'"linkedid":"{c}"' in text for c in call_ids)


def reconcile_mismatches(stack: Stack, records: list[dict[str, Any]], tz: ZoneInfo, since: float,
                         until: float) -> tuple[list[Call], list[str]]:
    """The shape's calls as the reconciliation sees them, and every unexplained difference.

    Waits for the CDRs of the records' conversations (a call cut by an Asterisk restart has none:
    Asterisk died before writing it), then for the unexplained list to empty (a channel's CDR may
    still be on its way), at most :data:`SETTLE_S`."""
    runtime = stack.runtime
    expect_cdr = {str(r["call_id"]) for r in records
                  if (r.get("extra") or {}).get("cut_by") != "asterisk_restart"}
    try:
        wait_for("the shape's CDRs", lambda: _cdrs_in(runtime.cdr_log, expect_cdr), timeout=SETTLE_S, interval=0.5)
    except AssertionError:
        pass   # judged below: the calls without a CDR show as differences

    def settled() -> tuple[list[Call], list[str]] | None:
        parsed, _ = parse.read(runtime.queue_log, runtime.cdr_log)
        calls = shape_calls(records, parsed, tz, since, until)
        bad = [f"reconciliation: unexplained {describe(c)}" for c in calls if UNEXPLAINED in c.rules]
        state[0] = (calls, bad)
        return None if bad else (calls, bad)

    state: list[tuple[list[Call], list[str]]] = [([], [])]
    try:
        wait_for("every difference explained", settled, timeout=SETTLE_S, interval=1.0)
    except AssertionError:
        pass
    return state[0]
