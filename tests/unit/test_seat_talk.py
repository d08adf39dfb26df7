"""A seat's AHT counts the seat's own talk (issue 15, the FreePBX issue-tracker 124 pattern): after a
transfer or a three-way call the seat left before the caller, the record's talk runs to the
caller's hang-up, and ``extra["seat_talk_seconds"]`` is the answering seat's own time with the caller.
Read from CEL captured on Asterisk 22 (tests/fixtures/cel/control_*.jsonl), then counted: by seat
the seat's own talk, by queue, number and over all the call's talk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hotline.config import parse_site
from hotline.metrics.services import MetricsService
from hotline.records.call import CallRecord, Outcome
from hotline.store import Store
from hotline.store import kpi_rollup
from queue_manager import metrics

from test_call_legs import record


# fixture -> (seat's own talk, or None when it is the call's talk; the call's talk), seconds
SHAPES: list[tuple[str, float | None, float]] = [
    ("control_attended_transfer", 3.519, 6.946),        # consulted 96196, hung up: the caller stays with it
    ("control_transfer_110", 0.025, 3.034),             # blind to 110 at once
    ("control_referral", 0.005, 1.758),                 # blind to a convenience partner
    ("control_three_way_seat_leaves", 2.981, 6.191),    # the seat left the conference first
    ("control_three_way_110", None, 4.334),             # the caller left first: the seat was there to the end
    ("control_three_way_drop_department", None, 3.937),  # the seat dropped the department, stayed
    ("control_three_way_quick_drop", None, 0.755),
    ("control_three_way_no_answer", None, 8.884),       # the department never answered
    ("answered_merged_call", None, 3.485),              # no leg: a plain answered call
]


@pytest.mark.parametrize(("name", "own", "talk"), SHAPES)
def test_seat_talk_of_each_shape(name: str, own: float | None, talk: float) -> None:
    rec = record(name)
    assert rec.outcome == Outcome.answered and rec.seat is not None
    assert rec.talk_seconds == pytest.approx(talk, abs=0.002)
    if own is None:
        assert "seat_talk_seconds" not in rec.extra
        assert metrics.talk_of(rec, own_talk=True) == rec.talk_seconds
    else:
        assert rec.extra["seat_talk_seconds"] == pytest.approx(own, abs=0.002)
        assert rec.extra["seat_talk_seconds"] < rec.talk_seconds
        assert metrics.talk_of(rec, own_talk=True) == rec.extra["seat_talk_seconds"]
    assert metrics.talk_of(rec) == rec.talk_seconds


AT = datetime(2026, 11, 23, 1, 10, tzinfo=UTC)
SITE = parse_site({"site": {"timezone": "Asia/Shanghai"}, "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
                   "queues": [{"name": "hotline", "wrapup": 10}]})


def _calls(make_call: Any) -> list[CallRecord]:
    common = {"queue": "hotline", "seat": "1001", "queued_at": AT, "wait_seconds": 4.0}
    return [make_call("1795000000.1", arrived_at=AT, talk_seconds=100.0, **common),
            make_call("1795000000.2", arrived_at=AT + timedelta(minutes=1), talk_seconds=300.0,
                      extra={"seat_talk_seconds": 20.0}, **common),   # transferred after 20 s; the department talked on
            make_call("1795000000.3", arrived_at=AT + timedelta(minutes=2), talk_seconds=50.0,
                      seat="1002", **{k: v for k, v in common.items() if k != "seat"})]


# by -> group -> AHT (talk + the queue's 10 s wrap-up)
WANT_AHT = {"all": {None: 160.0},                           # (110 + 310 + 60) / 3: the call's talk
            "queue": {"hotline": 160.0},
            "dialled_number": {"12345": 160.0},
            "seat": {"1001": 70.0, "1002": 60.0}}             # (110 + 30) / 2: the seat's own talk


@pytest.mark.parametrize("by", sorted(WANT_AHT))
def test_aht_by_seat_counts_the_seats_own_talk(by: str, make_call: Any, store: Store) -> None:
    calls = _calls(make_call)
    service = MetricsService(store, SITE)
    pure = metrics.grouped(calls, by, **service.options())
    assert {k[0]: v.aht_seconds for k, v in pure.items()} == WANT_AHT[by]
    for r in calls:
        store.upsert_call(r)
    hour = AT.replace(minute=0)
    # the rollup (whole hours), the raw records (a ragged range) and a rebuilt rollup agree
    for start, end in ((hour - timedelta(hours=1), hour + timedelta(hours=2)), (AT, AT + timedelta(minutes=5))):
        rows = service.report(start, end, by=by)["rows"]
        assert {r["group"]: r["aht_seconds"] for r in rows} == WANT_AHT[by], (start, end)
    with store.session() as session:
        maintained = kpi_rollup.all_rows(session)
    store.rebuild_kpi_rollup()
    with store.session() as session:
        assert kpi_rollup.all_rows(session) == maintained
    assert store.get_call("1795000000.2").extra["seat_talk_seconds"] == 20.0
