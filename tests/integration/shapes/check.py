"""The check of one shape: its records (exactly one per conversation) against the Expects, then
``GET /api/metrics`` over the shape's own window, by every grouping, against the hand-computed
effects. Reads the CEL log, /api/calls and /api/metrics; never /status (a test that polls /status
can hide a stall)."""

from __future__ import annotations

import urllib.parse
from collections import defaultdict
from datetime import datetime
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from ..groundtruth import assert_exactly_once
from ..rig import Stack, http_json
from .ctx import Records
from .model import KPI_FIELDS, Effect, Expect, record_mismatches

GROUPINGS: list[tuple[str, str | None]] = [("all", None), ("queue", None), ("seat", None), ("dialled_number", None),
                                           ("all", "hour"), ("all", "day")]


def call_key(e: Expect) -> tuple[str, str]:
    return e.caller, e.dialled


def match_records(stack: Stack, since: float, expects: list[Expect]) -> tuple[Records, list[str]]:
    """Exactly one record per trunk conversation since ``since`` (fails otherwise), one per Expect
    (by caller and dialled number); the records and what in them differs from the Expects."""
    tries = sum(not e.entered for e in expects)
    records = assert_exactly_once(stack, since, len(expects) - tries, timeout=60, callback_tries=tries)
    found: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        found[(r["caller_number"], r["dialled_number"])].append(r)
    problems = [f"{k}: {len(rs)} records" for k, rs in found.items() if len(rs) != 1]
    problems += [f"{call_key(e)}: no record" for e in expects if call_key(e) not in found]
    matched = {call_key(e): found[call_key(e)][0] for e in expects if len(found.get(call_key(e), [])) == 1}
    for e in expects:
        if call_key(e) in matched:
            problems += record_mismatches(e, matched[call_key(e)])
    return matched, problems


def _interval(arrived_at: str, interval: str, tz: ZoneInfo) -> str:
    """The local hour or day (from local midnight) the call arrived in."""
    local = datetime.fromisoformat(arrived_at).astimezone(tz).replace(minute=0, second=0, microsecond=0)
    return (local.replace(hour=0) if interval == "day" else local).isoformat()


def _key(by: str, interval: str | None, record: dict[str, Any], tz: ZoneInfo) -> tuple[Any, Any]:
    group = None if by == "all" else record[by]
    return group, (_interval(record["arrived_at"], interval, tz) if interval else None)


def _ratio(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def _mean(values: list[float]) -> float | None:
    """The mean in seconds rounded to the ms, half to even, computed exactly (README "Metrics": the
    records' seconds are whole ms; no float noise may decide a tie)."""
    if not values:
        return None
    return round(Fraction(sum(round(v * 1000) for v in values), len(values))) / 1000


def expected_rows(expects: list[Expect], records: Records, by: str, interval: str | None,
                  tz: ZoneInfo, wrapup: dict[str, float]) -> dict[tuple[Any, Any], dict[str, Any]]:
    """The rows the report must have: counts summed from the hand-written effects; ASA and AHT the
    means of the records' own wait and talk (+ the queue's wrap-up); rates from those counts."""
    effects: dict[tuple[Any, Any], Effect] = defaultdict(Effect)
    waits: dict[tuple[Any, Any], list[float]] = defaultdict(list)
    handles: dict[tuple[Any, Any], list[float]] = defaultdict(list)
    for e in expects:
        rec = records[call_key(e)]
        key = _key(by, interval, rec, tz)
        effects[key] = effects[key] + e.effect
        if e.effect.answered:
            waits[key].append(rec["wait_seconds"] or 0.0)
            talk = rec["talk_seconds"] or 0.0
            if by == "seat" and rec["extra"].get("seat_talk_seconds") is not None:
                talk = rec["extra"]["seat_talk_seconds"]   # a seat's AHT: its own time with the caller
            handles[key].append(talk + wrapup.get(rec["queue"] or "", 0.0))
    rows = {}
    for key, eff in effects.items():
        base = eff.offered - eff.short_abandons
        rows[key] = {**dict(zip(KPI_FIELDS, eff.counts())), "answer_rate": _ratio(eff.answered, base),
                     "answer_rate_15s": _ratio(eff.answered_in_sl, base),
                     "abandon_rate": _ratio(eff.abandoned - eff.short_abandons, base),
                     "asa_seconds": _mean(waits[key]), "aht_seconds": _mean(handles[key])}
    return rows


def kpi_mismatches(stack: Stack, start: datetime, end: datetime, expects: list[Expect],
                   records: Records, tz: ZoneInfo, wrapup: dict[str, float]) -> list[str]:
    out: list[str] = []
    for by, interval in GROUPINGS:
        query = {"start": start.isoformat(), "end": end.isoformat(), "by": by, **({"interval": interval}
                                                                                  if interval else {})}
        code, body = http_json("GET", f"{stack.api}/api/metrics?{urllib.parse.urlencode(query)}")
        assert code == 200, body
        got = {(r["group"], r["interval_start"]): r for r in body["rows"]}
        want = expected_rows(expects, records, by, interval, tz, wrapup)
        label = f"by={by}" + (f"&interval={interval}" if interval else "")
        for key in sorted(set(got) | set(want), key=str):
            if key not in got or key not in want:
                out.append(f"{label} {key}: row {'missing' if key not in got else 'not expected'}")
                continue
            for name, value in want[key].items():
                if got[key][name] != value:
                    out.append(f"{label} {key}: {name} is {got[key][name]!r}, expected {value!r}")
    return out
