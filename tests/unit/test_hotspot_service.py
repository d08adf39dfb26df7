"""The hotspot warning on the store (SQLite and PostgreSQL): a scripted stream of orders filed
through the order service — a week of a few orders an hour about 供水 and 道路 in 华龙区, then a
burst of 供水 — raises exactly one alert with the numbers, keeps it one while hot, clears it when it
falls back; a supervisor acknowledges it; a restart keeps the state; cleared alerts are purged."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hotline.hotspots.detect import Finding, Window
from hotline.hotspots.services import HotspotService
from hotline.hotspots.store import HotspotStore
from hotline.config.hotspots import HotspotDimension as D
from hotline.records.call import CallRecord, Outcome
from hotline.store import Store
from hotspotkit import Clock, Stream, local, site


async def test_a_burst_raises_one_alert_that_stays_one_then_clears(store: Store, store_url: str) -> None:
    s = site()
    clock = Clock(local(20, 9, 0))
    stream = Stream(store, s, clock)
    await stream.baseline()
    boards: list[list[dict[str, Any]]] = []
    service = HotspotService(s, store, now=clock, publish=boards.append)

    clock.at = local(20, 10, 0)
    assert (await service.check()).raised == [] and service.store.alerts(active=True) == []
    burst = [await stream.order(local(20, 10, m), "water", "hualong") for m in range(1, 7)]
    await stream.order(local(20, 10, 8), "road", "hualong")
    await stream.order(local(20, 10, 9), "road", "hualong")   # 华龙区: 8 against a mean of 4 (3 x 4 = 12): not hot

    clock.at = local(20, 10, 15)
    changes = await service.check()
    assert len(changes.raised) == 1
    [alert] = service.store.alerts(active=True)
    assert {k: alert[k] for k in ("dimension", "key", "count", "baseline_total", "baseline_days", "baseline_mean",
                                  "ratio", "threshold", "first_ref", "last_ref", "last_count", "active")} == {
        "dimension": "subject", "key": "water", "count": 6, "baseline_total": 7, "baseline_days": 7,
        "baseline_mean": 1.0, "ratio": 6.0, "threshold": 5.0, "first_ref": burst[0], "last_ref": burst[-1],
        "last_count": 6, "active": True}
    assert dt.datetime.fromisoformat(alert["window_start"]) == local(20, 9, 15)
    assert dt.datetime.fromisoformat(alert["window_end"]) == local(20, 10, 15)
    assert [(a["id"], a["text"]) for a in boards[-1]] == [(alert["id"], "热点预警: 供水 6 件 / 近7日同期均值 1")]

    # Still hot: the same alert, its latest count; the numbers that raised it stay.
    await stream.order(local(20, 10, 20), "water", "hualong")
    clock.at = local(20, 10, 25)
    changes = await service.check()
    assert changes.raised == [] and changes.updated == [alert["id"]]
    [again] = service.store.alerts(active=True)
    assert (again["id"], again["count"], again["last_count"], again["peak_count"]) == (alert["id"], 6, 7, 7)
    clock.at = local(20, 10, 26)
    assert not (await service.check()).any   # nothing changed: nothing published
    published = len(boards)

    # A restart (a new store and service on the same database): nothing raised again or forgotten.
    restarted_store = Store(store_url, timezone="Asia/Shanghai")
    try:
        restarted = HotspotService(s, restarted_store, now=clock, publish=boards.append)
        await restarted.publish()
        assert [a["id"] for a in boards[-1]] == [alert["id"]]
        clock.at = local(20, 10, 28)
        assert (await restarted.check()).raised == []
        acked = await restarted.ack(alert["id"], "boss")
        assert (acked["acked_by"], acked["active"]) == ("boss", True)
        assert boards[-1][0]["acked_at"] is not None and len(boards) == published + 2
        second = await restarted.ack(alert["id"], "boss2")
        assert (second["acked_by"], second["acked_at"]) == ("boss", acked["acked_at"])   # the first one stays
    finally:
        restarted_store.close()

    # Fallen back (the window 10:20-11:20 holds one 供水 order): cleared, and listed as recent.
    clock.at = local(20, 11, 20)
    changes = await service.check()
    assert changes.cleared == [alert["id"]] and boards[-1] == []
    assert service.store.alerts(active=True) == []
    listing = await service.listing(50)
    [recent] = listing["recent"]
    assert (recent["id"], recent["active"], recent["acked_by"], recent["label"]) == (alert["id"], False, "boss", "供水")
    assert dt.datetime.fromisoformat(recent["cleared_at"]) == local(20, 11, 20)
    assert listing["rule"]["dimensions"] == ["subject", "area"]


async def test_dimensions_by_area_pair_and_dialled_number(store: Store) -> None:
    """华龙区·供水 (subject within area) and calls to one number with no baseline at all: the floor
    decides and the ratio is None."""
    s = site(dimensions=["subject_area", "dialled_number"])
    clock = Clock(local(20, 9, 0))
    stream = Stream(store, s, clock)
    await stream.baseline()
    for m in range(1, 7):
        await stream.order(local(20, 10, m), "water", "hualong")
    for n in range(5):
        store.upsert_call(CallRecord(call_id=f"1795600000.{n}", dialled_number="12319", caller_number="13800138001",
                                     arrived_at=local(20, 10, 10 + n), outcome=Outcome.answered))
    service = HotspotService(s, store, now=clock)
    clock.at = local(20, 10, 15)
    await service.check()
    board = {a["key"]: a for a in service.board()}
    assert set(board) == {"water/hualong", "12319"}
    assert board["water/hualong"]["text"] == "热点预警: 华龙区·供水 6 件 / 近7日同期均值 1"
    calls = board["12319"]
    assert (calls["count"], calls["ratio"], calls["baseline_mean"], calls["first_ref"], calls["last_ref"]) == (
        5, None, 0.0, "1795600000.0", "1795600000.4")
    assert calls["text"] == "热点预警: 12319 5 通 / 近7日同期均值 0"


def _finding(key: str, count: int = 9) -> Finding:
    start = local(20, 9, 0)
    return Finding(dimension="subject", key=key, count=count, baseline_total=7, baseline_days=7, baseline_mean=1.0,
                   ratio=float(count), threshold=5.0, window=Window(start, start + dt.timedelta(hours=1)),
                   first_ref="WO-1", last_ref="WO-2")


def test_cleared_alerts_are_purged_by_age_and_count(store: Store) -> None:
    alerts = HotspotStore(store)
    t0 = local(1, 8, 0)
    for n in range(14):   # 14 alerts raised and cleared, one a day
        at = t0 + dt.timedelta(days=n)
        alerts.apply([_finding(f"k{n}")], [D.subject], at)
        alerts.apply([], [D.subject], at + dt.timedelta(hours=1))
    alerts.apply([_finding("hot")], [D.subject], t0 + dt.timedelta(days=14))
    now = t0 + dt.timedelta(days=14, hours=2)
    assert alerts.purge(now, retention_days=10, max_kept=1000) == 5   # cleared before 11-05 10:00 (k0..k4)
    assert len(alerts.alerts(active=False, limit=500)) == 9
    assert alerts.purge(now, retention_days=10, max_kept=3) == 6      # beyond the newest 3 cleared
    assert [a["key"] for a in alerts.alerts(active=False, limit=500)] == ["k13", "k12", "k11"]
    assert [a["key"] for a in alerts.alerts(active=True)] == ["hot"]   # an active alert is never purged


def test_ack_of_an_unknown_alert_is_no_such_hotspot(store: Store) -> None:
    import pytest

    from hotline.hotspots.errors import NoSuchHotspot
    with pytest.raises(NoSuchHotspot) as caught:
        HotspotStore(store).ack(99, "boss", local(20, 9, 0))
    assert caught.value.to_dict()["error_id"] == "no-such-hotspot"


async def test_a_round_losing_the_race_to_another_controller_raises_nothing(store: Store) -> None:
    """Two controllers' rounds see the same hotspot: the unique ``active_key`` lets one alert in;
    the other round's transaction is void (no duplicate, no failure) and its next round sees the alert."""
    s = site(dimensions=["subject"])
    clock = Clock(local(20, 9, 0))
    stream = Stream(store, s, clock)
    for m in range(1, 7):
        await stream.order(local(20, 10, m), "water", "hualong")
    clock.at = local(20, 10, 15)
    one, two = HotspotService(s, store, now=clock), HotspotService(s, store, now=clock)
    seen_by_two = two.findings(clock.at)           # two counted before one's alert existed ...
    assert len((await one.check()).raised) == 1
    void = two.store.apply(seen_by_two, [D.subject], clock.at)   # ... and applies after: nothing new
    assert void.raised == [] and len(two.store.alerts(active=True)) == 1
    original = two.store.apply

    def stale(*args: Any) -> Any:   # as if two had read the active alerts before one's insert
        from sqlalchemy.exc import IntegrityError
        raise IntegrityError("INSERT INTO hotspot_alerts", {}, Exception("UNIQUE constraint failed"))
    two.store.apply = stale   # type: ignore[method-assign]
    assert not (await two.check()).any
    two.store.apply = original   # type: ignore[method-assign]
    assert not (await two.check()).any and len(two.store.alerts(active=True)) == 1
