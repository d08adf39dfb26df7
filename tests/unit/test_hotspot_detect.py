"""The hotspot rule, pure (hotline.hotspots.detect): the windows (midnight, zones, DST) and the
table of counts against baselines (no baseline, just below and at the factor, the floor)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from hotline.hotspots.detect import Item, Rule, Window, detect, is_hot, windows

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
RULE = Rule(factor=3.0, min_count=5, baseline_days=7)


def at(text: str, tz: ZoneInfo = SH) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=tz)


@pytest.mark.parametrize(("count", "total", "hot", "why"), [
    (0, 0, False, "nothing at all"),
    (2, 0, False, "0 -> 2: under the floor, no hotspot"),
    (4, 0, False, "no baseline: the floor alone decides, one short"),
    (5, 0, True, "no baseline: the floor reached (no division by zero)"),
    (20, 49, False, "mean 7: 20 is just below 3 x 7 = 21"),
    (21, 49, True, "mean 7: 21 is exactly 3 x 7 (reaching the factor counts)"),
    (22, 49, True, "just above the factor"),
    (5, 14, False, "mean 2: 5 reaches the floor but not 3 x 2 = 6"),
    (6, 14, True, "mean 2: 6 reaches both"),
    (5, 7, True, "mean 1: the floor 5 is above 3 x 1, and reached"),
    (4, 7, False, "mean 1: 4 is above the factor but under the floor"),
    (6, 15, False, "mean 15/7: 6 is below 3 x 2.14 = 6.43"),
    (7, 15, True, "mean 15/7: 7 is above 6.43"),
])
def test_is_hot_table(count: int, total: int, hot: bool, why: str) -> None:
    assert is_hot(count, total, RULE) is hot, why


def test_a_fractional_factor_at_its_edge() -> None:
    rule = Rule(factor=2.5, min_count=1, baseline_days=4)   # mean 2: the edge is 5
    assert [is_hot(n, 8, rule) for n in (4, 5, 6)] == [False, True, True]


def test_windows_are_the_same_local_hours_on_each_previous_day() -> None:
    current, baseline = windows(at("2026-11-20T10:30"), 60, 3, SH)
    assert current == Window(at("2026-11-20T09:30").astimezone(dt.UTC), at("2026-11-20T10:30").astimezone(dt.UTC))
    assert [(w.start.astimezone(SH).isoformat(), w.end.astimezone(SH).isoformat()) for w in baseline] == [
        ("2026-11-19T09:30:00+08:00", "2026-11-19T10:30:00+08:00"),
        ("2026-11-18T09:30:00+08:00", "2026-11-18T10:30:00+08:00"),
        ("2026-11-17T09:30:00+08:00", "2026-11-17T10:30:00+08:00")]
    assert all(w.start.tzinfo == dt.UTC for w in [current, *baseline])


def test_a_window_just_after_midnight_reaches_into_the_day_before() -> None:
    current, baseline = windows(at("2026-12-01T00:20"), 60, 2, SH)
    assert current.start.astimezone(SH).isoformat() == "2026-11-30T23:20:00+08:00"
    assert [w.start.astimezone(SH).isoformat() for w in baseline] == ["2026-11-29T23:20:00+08:00",
                                                                       "2026-11-28T23:20:00+08:00"]
    assert [w.end.astimezone(SH).isoformat() for w in baseline] == ["2026-11-30T00:20:00+08:00",
                                                                     "2026-11-29T00:20:00+08:00"]


def test_the_baseline_keeps_local_hours_across_a_dst_change() -> None:
    """New York moved to EDT on 2026-03-08: each baseline window still ends at 10:30 local, so the
    day before the change is 25 h earlier in UTC (15:30Z), not 24 h."""
    current, baseline = windows(at("2026-03-09T10:30", NY), 60, 2, NY)
    assert current.end.isoformat() == "2026-03-09T14:30:00+00:00"
    assert [w.end.astimezone(NY).strftime("%Y-%m-%d %H:%M %Z") for w in baseline] == [
        "2026-03-08 10:30 EDT", "2026-03-07 10:30 EST"]
    assert [w.end.isoformat() for w in baseline] == ["2026-03-08T14:30:00+00:00", "2026-03-07T15:30:00+00:00"]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        windows(dt.datetime(2026, 11, 20, 10, 30), 60, 7, SH)


def _items(key: str, n: int, start: dt.datetime, prefix: str = "WO") -> list[Item]:
    return [Item(start + dt.timedelta(minutes=i), key, f"{prefix}-{key}-{i:02d}") for i in range(n)]


def test_detect_gives_the_numbers_that_made_it_hot() -> None:
    window = Window(at("2026-11-20T09:30"), at("2026-11-20T10:30"))
    start = at("2026-11-20T10:00")
    items = [*reversed(_items("water", 6, start)), *_items("road", 2, start), *_items("gas", 5, start)]
    found = detect("subject", items, {"water": 7, "road": 14, "gas": 0}, window, RULE)
    assert [(f.key, f.count, f.baseline_total, f.baseline_mean, f.ratio, f.threshold) for f in found] == [
        ("gas", 5, 0, 0.0, None, 5.0),    # no baseline (new): first, ratio None
        ("water", 6, 7, 1.0, 6.0, 5.0)]
    water = found[1]
    assert (water.first_ref, water.last_ref, water.window, water.dimension) == (
        "WO-water-00", "WO-water-05", window, "subject")
    assert water.to_dict()["window_start"] == "2026-11-20T09:30:00+08:00"


def test_detect_orders_by_ratio_then_count_and_rounds_the_mean() -> None:
    window = Window(at("2026-11-20T09:30"), at("2026-11-20T10:30"))
    start = at("2026-11-20T10:00")
    items = [*_items("a", 9, start), *_items("b", 12, start), *_items("c", 10, start)]
    found = detect("area", items, {"a": 10, "b": 14, "c": 10}, window, RULE)
    assert [(f.key, f.ratio, f.baseline_mean) for f in found] == [("c", 7.0, 1.43), ("a", 6.3, 1.43), ("b", 6.0, 2.0)]


def test_nothing_in_the_window_finds_nothing() -> None:
    window = Window(at("2026-11-20T09:30"), at("2026-11-20T10:30"))
    assert detect("subject", [], {"water": 700}, window, RULE) == []
