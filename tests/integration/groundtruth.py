"""The ground truth of the fault tests: the trunk calls Asterisk itself saw, against the records.

The calls that entered are counted by ``bench/celtruth.py`` (the benchmarks count them the same
way): the ``CHAN_START`` lines of the CEL log (and its rotated copies) whose channel was created
in a ``from-trunk-*`` context and whose Uniqueid is the Linkedid (the conversation's first leg).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from .rig import REPO, Stack, http_json, wait_for

sys.path.insert(0, str(REPO / "bench"))
import celtruth  # noqa: E402


def entered_calls(stack: Stack, since: float) -> list[str]:
    """Linkedids of trunk calls that entered since ``since`` (epoch s), from the CEL log and any
    rotated copies beside it. Unparseable lines (a hostile caller-ID written raw) are skipped."""
    return celtruth.entered_calls(stack.runtime.cel_log, since)


def records_since(stack: Stack, since: float) -> list[dict]:
    start = datetime.fromtimestamp(since, tz=UTC).isoformat().replace("+00:00", "Z")
    items: list[dict] = []
    offset = 0
    while True:
        code, body = http_json("GET", f"{stack.api}/api/calls?start={start}&limit=500&offset={offset}")
        if code == 503:   # the database is back but not serving yet: wait_for tries again
            raise ValueError(f"store unavailable: {body}")
        assert code == 200, body
        items += body["items"]
        if len(body["items"]) < 500:
            return items
        offset += 500


def assert_exactly_once(stack: Stack, since: float, expected: int, timeout: float = 120.0,
                        callback_tries: int = 0) -> list[dict]:
    """Wait until every call that entered since ``since`` has its record; then no duplicates and
    no record of a call that did not enter, but for ``callback_tries`` records of calls the
    platform placed out to call a citizen back (``extra.callback_of``: records of their own that
    no trunk call entered for). Returns the entered calls' records."""
    entered = entered_calls(stack, since)
    assert len(entered) == expected, f"Asterisk saw {len(entered)} trunk calls, expected {expected}"
    assert len(set(entered)) == len(entered)

    def complete() -> list[dict] | None:
        recs = [r for r in records_since(stack, since) if r["call_id"] in set(entered)]
        return recs if {r["call_id"] for r in recs} == set(entered) else None
    try:
        recs = wait_for(f"records for all {expected} calls", complete, timeout=timeout, interval=1.0)
    except AssertionError:
        have = {r["call_id"] for r in records_since(stack, since)}
        raise AssertionError(f"missing records: {sorted(set(entered) - have)}") from None
    tries = wait_for(f"{callback_tries} callback tries' records", lambda: (lambda t: t if len(t) >= callback_tries
                     else None)([r for r in records_since(stack, since) if r["extra"].get("callback_of")]),
                     timeout=timeout, interval=1.0) if callback_tries else []
    ids = [r["call_id"] for r in records_since(stack, since)]
    dups = {i for i in ids if ids.count(i) > 1}
    assert not dups, f"duplicate records: {dups}"
    assert len(tries) == callback_tries, f"{len(tries)} callback tries' records, expected {callback_tries}"
    unseen = set(ids) - set(entered) - {r["call_id"] for r in tries}
    assert set(ids) >= set(entered) and not unseen, f"records of calls Asterisk never saw: {unseen}"
    return recs + tries


