"""KPI formulas against hand-computed values (queue_manager.metrics)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from queue_manager.metrics import grouped, interval_start, kpis, rolling_alarm

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
CST = timezone(timedelta(hours=8))


@dataclass
class R:
    outcome: str
    wait_seconds: float | None = None
    talk_seconds: float | None = None
    queued: bool = True
    queue: str | None = "hotline"
    seat: str | None = None
    dialled_number: str = "12345"
    minute: int = 0

    @property
    def arrived_at(self) -> datetime:
        return T0 + timedelta(minutes=self.minute)

    @property
    def queued_at(self) -> datetime | None:
        return self.arrived_at if self.queued else None


# 10 calls: 6 answered (waits 3, 10, 15, 16, 40, 2; talks 60, 120, 30, 90, 45, 15),
# 3 abandoned in queue (waits 2 = short, 20, 7), 1 abandoned before the queue (not offered).
MIX = [
    R("answered", 3, 60, seat="1001"), R("answered", 10, 120, seat="1002"), R("answered", 15, 30, seat="1001"),
    R("answered", 16, 90, seat="1002"), R("answered", 40, 45, seat="1001"), R("answered", 2, 15, seat="1001"),
    R("abandoned_in_queue", 2), R("abandoned_in_queue", 20), R("abandoned_in_queue", 7),
    R("abandoned_before_queue", None, queued=False),
]


@pytest.mark.parametrize("records, expected", [
    pytest.param(MIX, dict(offered=9, answered=6, answered_in_sl=4, abandoned=3, short_abandons=1,
                           # base = 9 - 1 = 8
                           answer_rate=0.75, answer_rate_15s=0.5, abandon_rate=0.25,
                           asa_seconds=round(86 / 6, 3), aht_seconds=round(360 / 6, 3)), id="mixed"),
    pytest.param([], dict(offered=0, answered=0, answer_rate=None, answer_rate_15s=None, abandon_rate=None,
                          asa_seconds=None, aht_seconds=None), id="no-calls"),
    pytest.param([R("abandoned_in_queue", 1)], dict(offered=1, short_abandons=1, answer_rate=None), id="only-short"),
    pytest.param([R("answered", 15.0, 10)], dict(answered_in_sl=1, answer_rate_15s=1.0), id="15s-inclusive"),
    pytest.param([R("answered", 15.001, 10)], dict(answered_in_sl=0, answer_rate_15s=0.0), id="just-over-15s"),
    pytest.param([R("failed", 30), R("answered", 1, 1)], dict(offered=2, answer_rate=0.5, abandon_rate=0.0),
                 id="failed-counts-as-offered"),
])
def test_kpis(records, expected) -> None:
    got = kpis(records).as_dict()
    for key, value in expected.items():
        assert got[key] == value, key


def test_wrapup_is_part_of_handle_time() -> None:
    assert kpis([R("answered", 1, 60), R("answered", 1, 30)], wrapup_s=lambda r: 10).aht_seconds == 55.0


def test_grouped_by_seat() -> None:
    g = grouped(MIX, "seat")
    assert g[("1001", None)].answered == 4 and g[("1002", None)].answered == 2
    assert g[(None, None)].offered == 3  # the three abandons have no seat


def test_grouped_by_interval_in_local_time() -> None:
    recs = [R("answered", 1, 1, minute=m) for m in (0, 14, 15, 59, 61)]
    g = grouped(recs, "all", interval="15min", tz=CST)
    assert [k[1][11:16] for k in g] == ["17:00", "17:15", "17:45", "18:00"]
    assert [v.answered for v in g.values()] == [2, 1, 1, 1]
    days = grouped(recs, "all", interval="day", tz=CST)
    assert list(days) == [(None, "2026-11-23T00:00:00+08:00")]


def test_interval_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="interval"):
        interval_start(T0, "week")
    with pytest.raises(ValueError, match="group by"):
        grouped(MIX, "county")


@pytest.mark.parametrize("answered, abandoned, alarm", [(19, 1, False), (18, 2, True), (0, 0, False)])
def test_rolling_24h_alarm_under_95_percent(answered: int, abandoned: int, alarm: bool) -> None:
    recs = [R("answered", 5, 30)] * answered + [R("abandoned_in_queue", 30)] * abandoned
    out = rolling_alarm(recs, T0 + timedelta(hours=1))
    assert out["alarm"] is alarm
    # calls outside the window do not count
    assert rolling_alarm(recs, T0 + timedelta(days=2))["offered"] == 0
