"""Order KPIs, hand-computed: six assignments, the counts and ratios worked out on paper below."""

from __future__ import annotations

import datetime as dt

import pytest

from hotline.work_orders.kpis import Assignment, Ratio, kpis, kpis_by
from hotline.work_orders.lifecycle import Rating

TZ = dt.timezone(dt.timedelta(hours=8))


def day(m: int, d: int) -> dt.datetime:
    return dt.datetime(2026, m, d, 10, tzinfo=TZ)


S, B, U = Rating.satisfied, Rating.basically_satisfied, Rating.unsatisfied
ROWS = [
    Assignment("WO-1", "renshe", "wages", "hualong", day(12, 1), closed=True, on_time=True, rating=S),
    Assignment("WO-2", "renshe", "wages", "puyang", day(12, 1), returned=True),
    Assignment("WO-2", "zhujian", "roads", "hualong", day(12, 1), closed=True, rating=B, reopened=True),  # late
    Assignment("WO-3", "renshe", "roads", "hualong", day(12, 2), rating=U, reopened=True),  # 重办 running
    Assignment("WO-4", "renshe", "wages", "hualong", day(11, 30)),                           # still open
    Assignment("WO-5", "zhujian", "roads", "puyang", day(11, 30), closed=True, on_time=True, rating=S),
]

# (kept, closed, on time, evaluated, satisfied, reopened, dispatched, returned) by hand:
# all: 转办 6, 回退 1 (WO-2 renshe), 承办 5, 办结 3 (1, 2z, 5), 按期 2 (1, 5), 评价 4 (1, 2z, 3, 5),
#      满意+基本满意 3 (1, 2z, 5), 重办 2 (2z, 3)
ALL = {"completion_rate": (3, 5), "on_time_rate": (2, 3), "satisfaction_rate": (3, 4),
       "return_rate": (1, 6), "redo_rate": (2, 5)}


def ratios(k: object) -> dict[str, tuple[int, int]]:
    out = {}
    for name in ALL:
        r = getattr(k, name)
        assert isinstance(r, Ratio)
        out[name] = (r.numerator, r.denominator)
    return out


def test_all_orders() -> None:
    k = kpis(ROWS)
    assert ratios(k) == ALL
    assert k.completion_rate.value == pytest.approx(0.6)
    assert k.to_dict()["return_rate"] == {"numerator": 1, "denominator": 6, "value": 0.1667, "empty": False}


@pytest.mark.parametrize(("dimension", "key", "expected"), [
    # renshe: WO-1, WO-2 (returned), WO-3, WO-4 -> 承办 3, 办结 1 on time, 评价 2 (1 satisfied), 重办 1
    ("unit", "renshe", {"completion_rate": (1, 3), "on_time_rate": (1, 1), "satisfaction_rate": (1, 2),
                        "return_rate": (1, 4), "redo_rate": (1, 3)}),
    # zhujian: WO-2 (late, reopened), WO-5
    ("unit", "zhujian", {"completion_rate": (2, 2), "on_time_rate": (1, 2), "satisfaction_rate": (2, 2),
                         "return_rate": (0, 2), "redo_rate": (1, 2)}),
    # wages: WO-1, WO-2 renshe (returned), WO-4
    ("subject", "wages", {"completion_rate": (1, 2), "on_time_rate": (1, 1), "satisfaction_rate": (1, 1),
                          "return_rate": (1, 3), "redo_rate": (0, 2)}),
    # puyang: WO-2 renshe (returned), WO-5
    ("area", "puyang", {"completion_rate": (1, 1), "on_time_rate": (1, 1), "satisfaction_rate": (1, 1),
                        "return_rate": (1, 2), "redo_rate": (0, 1)}),
    # November: WO-4, WO-5
    ("month", "2026-11", {"completion_rate": (1, 2), "on_time_rate": (1, 1), "satisfaction_rate": (1, 1),
                          "return_rate": (0, 2), "redo_rate": (0, 2)}),
    ("day", "2026-12-02", {"completion_rate": (0, 1), "on_time_rate": (0, 0), "satisfaction_rate": (0, 1),
                           "return_rate": (0, 1), "redo_rate": (1, 1)}),
])
def test_by_dimension(dimension: str, key: str, expected: dict[str, tuple[int, int]]) -> None:
    assert ratios(kpis_by(ROWS, dimension)[key]) == expected


def test_groups_are_sorted_and_complete() -> None:
    assert list(kpis_by(ROWS, "unit")) == ["renshe", "zhujian"]
    assert list(kpis_by(ROWS, "month")) == ["2026-11", "2026-12"]
    assert sum(k.dispatched for k in kpis_by(ROWS, "area").values()) == len(ROWS)


def test_an_empty_set_says_so() -> None:
    k = kpis([])
    for name in ALL:
        r = getattr(k, name)
        assert r.value is None and r.to_dict() == {"numerator": 0, "denominator": 0, "value": None, "empty": True}
    assert kpis_by([], "unit") == {}
    # nothing closed: 按期办结率 is empty, not 0 %
    assert kpis([ROWS[4]]).on_time_rate.to_dict()["empty"] is True


def test_unknown_dimension() -> None:
    with pytest.raises(ValueError, match="dimension must be one of unit"):
        kpis_by(ROWS, "seat")


def _e(action: str, when: dt.datetime, **fields: object) -> dict[str, object]:
    return {"action": action, "at": when.isoformat(), "fields": fields}


def test_assignments_from_an_event_trail() -> None:
    from hotline.work_orders.kpis import assignments_of
    trail = [_e("create", day(12, 1)), _e("dispatch", day(12, 1), unit="renshe"),
             _e("return", day(12, 2)), _e("redispatch", day(12, 2), unit="zhujian"), _e("sign", day(12, 2)),
             _e("reply", day(12, 3)), _e("verify", day(12, 3)), _e("reopen", day(12, 3), rating="unsatisfied"),
             _e("reply", day(12, 8)), _e("verify", day(12, 8)), _e("evaluate", day(12, 8), rating="satisfied")]
    due = dt.datetime(2026, 12, 11, 0, tzinfo=TZ)
    first, second = assignments_of("WO-9", "wages", "hualong", trail, due)
    assert (first.unit, first.returned, first.closed) == ("renshe", True, False)
    assert (second.unit, second.returned, second.closed, second.on_time, second.reopened, second.rating) == \
        ("zhujian", False, True, True, True, S)
    late = assignments_of("WO-9", "wages", "hualong", trail, dt.datetime(2026, 12, 8, 0, tzinfo=TZ))
    assert late[1].on_time is False
    assert assignments_of("WO-9", None, None, trail[:1], None) == []
