"""Queue.line: a queue whose callers wait in another queue's line (one Asterisk queue), so the seats
both share take their callers by priority, then arrival (issue 15, fairness across queues).

The config refuses a line that would change who serves whom; seats of a lined queue are members
of the line; the dialplan joins the line while the marks (and so records and KPIs) keep the
queue's own name."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hotline.config import parse_site
from hotline.exceptions import ConfigError
from queue_manager.membership import Membership, line_of, memberships
from trunk_config.dialplan import DialplanOptions, render

BASE: dict[str, Any] = {
    "site": {"name": "测试热线", "hotline_number": "12345", "default_queue": "hotline"},
    "trunks": [{"name": "carrier", "host": "192.0.2.10", "match": ["192.0.2.0/28"]}],
    "departments": [{"id": "chengjian", "name": "城建局", "queue": "chengjian"}],
    "queues": [{"name": "hotline"}, {"name": "chengjian", "line": "hotline"}, {"name": "other"}],
    "seats": [{"id": "1001", "name": "1001", "secret": "s3cret-1001", "queues": ["hotline", "chengjian"]},
              {"id": "1002", "name": "1002", "secret": "s3cret-1002", "queues": ["chengjian", "hotline"],
               "penalty": 4},
              {"id": "1003", "name": "1003", "secret": "s3cret-1003", "queues": ["other"]}],
    "legacy_numbers": [{"number": "83531111", "mode": "merged", "department": "chengjian"}],
}


def site_with(change: Any = None) -> Any:
    data = copy.deepcopy(BASE)
    if change:
        change(data)
    return parse_site(data, "site.yaml")


def test_seats_of_a_lined_queue_are_members_of_the_line() -> None:
    site = site_with()
    assert line_of(site, "chengjian") == "hotline" and line_of(site, "other") == "other"
    assert memberships(site, site.seat("1001")) == [Membership("hotline", 0, 0)]
    assert memberships(site, site.seat("1002")) == [Membership("hotline", 4, 0)]


def test_the_dialplan_joins_the_line_and_keeps_the_queue_name() -> None:
    text = render(site_with(), DialplanOptions(agi_url="agi://127.0.0.1:4573", recordings_dir="/rec", agi_key="k" * 32))
    assert "HOTLINE_LINE_chengjian = hotline" in text.splitlines()
    assert "HOTLINE_LINE_hotline" not in text and "HOTLINE_LINE_other" not in text
    # the number's context still names its own queue (marks, records, KPIs, fallbacks)
    assert "Set(__HOTLINE_QUEUE=chengjian)" in text


def _seat_queues(i: int, queues: list[str]) -> Any:
    return lambda d: d["seats"][i].update(queues=queues)


@pytest.mark.parametrize(("change", "words"), [
    (lambda d: d["queues"][1].update(line="nosuch"), "unknown queue 'nosuch'"),
    (lambda d: d["queues"][1].update(line="chengjian"), "cannot wait in its own line"),
    (lambda d: d["queues"][0].update(line="other"), "waits in the line of 'other'"),
    (_seat_queues(1, ["chengjian"]), "must be the same (only 'chengjian': ['1002'], only 'hotline': [])"),
    (lambda d: d["queues"][0].update(overflow=[{"to": "other", "after": 30}]), "overflow or queue callback"),
    (lambda d: d["queues"][1].update(callback={"enabled": True}), "overflow or queue callback"),
])
def test_a_line_that_would_change_who_serves_whom_is_refused(change: Any, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        site_with(change)
    assert any(p[0].startswith("queues.") and p[0].endswith(".line") and words in p[1]
               for p in info.value.problems), info.value.problems
