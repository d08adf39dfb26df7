"""The unit score's rules, hand-computed: each rule at its edges, the bonus tiers, the 轮值
deduction, ranking with ties, the bottom and the 约谈 flag (the Puyang annex's defaults)."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.config.unit_scores import CountedRule, UnitScoresSection
from hotline.unit_scores.rules import (Absence, Exemption, Item, Manual, UnitInputs, bonus, bottom, counted,
                                       interviews, rank, rule_scores, score_month)

CFG = UnitScoresSection()


def _items(n: int, prefix: str = "WO", nth: int = 1) -> tuple[Item, ...]:
    return tuple(Item(f"{prefix}-{i}", "2026-11-02T10:00:00+08:00", nth) for i in range(n))


def _rule(u: UnitInputs, rule_id: str, cfg: UnitScoresSection = CFG) -> tuple[float, str, dict[str, Any]]:
    r = next(r for r in rule_scores(cfg, u) if r.id == rule_id)
    return r.points, r.status, r.inputs


U = UnitInputs("renshe", "市人社局")


@pytest.mark.parametrize(("count", "points"), [(0, 10), (1, 9), (3, 7), (9, 1), (10, 0), (11, 0), (40, 0)])
def test_phone_minus_one_per_unreachable_event_zero_above_ten(count: int, points: float) -> None:
    assert _rule(UnitInputs("u", "u", unreachable=count), "phone")[:2] == (points, "measured")


def test_phone_without_a_dial_test_source_is_unavailable_and_scores_nothing() -> None:
    assert _rule(U, "phone") == (0.0, "unavailable", {"unreachable": None})


@pytest.mark.parametrize(("orders", "points"), [(0, 10), (1, 9), (10, 0), (11, 0)])
def test_on_time_minus_one_per_overdue_order_zero_above_ten(orders: int, points: float) -> None:
    assert _rule(UnitInputs("u", "u", overdue=_items(orders)), "on_time")[0] == points


def test_on_time_counts_an_order_once_and_not_when_exempted() -> None:
    items = (*_items(3), Item("WO-1", "2026-11-20T00:00:00+08:00", 2))   # WO-1 overdue twice (a 重办 deadline)
    u = UnitInputs("u", "u", overdue=items, exemptions=(Exemption("on_time", "WO-2", "书面说明延期", "boss", "x"),
                                                       Exemption("satisfaction", "WO-0", "客观", "boss", "x")))
    points, _, inputs = _rule(u, "on_time")
    assert points == 8 and inputs["count"] == 2 and [e["work_order_id"] for e in inputs["exempted"]] == ["WO-2"]


@pytest.mark.parametrize(("closed", "kept", "returned", "points", "rate"), [
    (8, 10, 0, 16.0, 0.8), (10, 10, 2, 20.0, 1.0), (0, 7, 0, 0.0, 0.0), (2, 3, 1, 13.33, 0.6667),
    (0, 0, 0, 20.0, None),   # nothing given to the unit: nothing left undone
    (0, 0, 3, 20.0, None),   # everything returned in time
])
def test_completion_is_closed_over_kept_times_twenty(closed: int, kept: int, returned: int, points: float,
                                                     rate: float | None) -> None:
    u = UnitInputs("u", "u", dispatched=kept + returned, returned=returned, closed=closed)
    got, _, inputs = _rule(u, "completion")
    assert (got, inputs["rate"], inputs["kept"]) == (points, rate, kept)


def test_completion_over_dispatched_when_configured() -> None:
    cfg = UnitScoresSection.model_validate({"completion": {"base": "dispatched"}})
    assert _rule(UnitInputs("u", "u", dispatched=10, returned=2, closed=6), "completion", cfg)[0] == 12.0


@pytest.mark.parametrize(("orders", "points"), [(0, 20), (1, 19), (5, 15), (20, 0), (25, 0)])
def test_revisit_check_minus_one_per_order_found_wanting(orders: int, points: float) -> None:
    assert _rule(UnitInputs("u", "u", sent_back=_items(orders)), "revisit_check")[0] == points


def test_satisfaction_minus_one_per_unsatisfied_at_most_three_per_order() -> None:
    # WO-A: 不满意 4 times (the 4th not counted); WO-B twice; WO-C once but exempted (客观因素)
    evaluations = (*(Item("WO-A", "t", n) for n in (1, 2, 3, 4)), Item("WO-B", "t", 1), Item("WO-B", "t", 2),
                   Item("WO-C", "t", 1))
    u = UnitInputs("u", "u", unsatisfied=evaluations,
                   exemptions=(Exemption("satisfaction", "WO-C", "依法不能办理", "boss", "t"),))
    points, _, inputs = _rule(u, "satisfaction")
    assert (points, inputs["unsatisfied"], inputs["counted"]) == (15.0, 6, 5)


def test_satisfaction_cap_counts_across_months_by_rank() -> None:
    """An order whose 3 不满意 were in earlier months deducts nothing more this month."""
    u = UnitInputs("u", "u", unsatisfied=(Item("WO-A", "t", 4), Item("WO-A", "t", 5), Item("WO-B", "t", 3)))
    assert _rule(u, "satisfaction")[0] == 19.0


def test_knowledge_base_is_manual_or_missing() -> None:
    assert _rule(U, "knowledge_base")[:2] == (0.0, "missing")
    u = UnitInputs("u", "u", knowledge_base=Manual(17, "2 天未更新", "boss", "2026-12-01T09:00:00+08:00"))
    points, status, inputs = _rule(u, "knowledge_base")
    assert (points, status, inputs["note"]) == (17, "manual", "2 天未更新")


@pytest.mark.parametrize(("closed", "average", "points"), [
    (10, 10.0, 0), (11, 10.0, 3), (20, 10.0, 3), (21, 10.0, 5), (3, 0.0, 0)])
def test_bonus_over_100_and_200_percent_of_the_average(closed: int, average: float, points: float) -> None:
    assert bonus(CFG, closed, average)[0] == points


def test_counted_without_a_zero_threshold_floors_at_zero() -> None:
    assert counted(CountedRule(points=5, per=2), 2) == 1 and counted(CountedRule(points=5, per=2), 3) == 0


def _unit(uid: str, *, closed: int = 0, kb: float | None = 20, unreachable: int = 0, **more: Any) -> UnitInputs:
    manual = None if kb is None else Manual(kb, "", "boss", "t")
    return UnitInputs(uid, uid, knowledge_base=manual, unreachable=unreachable, dispatched=closed, closed=closed,
                      **more)


def test_a_month_hand_computed() -> None:
    """Four units; average closed (10 + 2 + 0 + 0) / 4 = 3."""
    units = [
        _unit("a", closed=10, overdue=_items(2)),                          # 100 - 2 + 5 (10 > 2 x 3) = 103
        _unit("b", closed=2, unreachable=3, absences=(Absence("2026-11-12", "", "boss"),)),   # 100 - 3 - 10 = 87
        _unit("c", kb=None),                                               # 100 - 20 = 80 (no order: full 办结率)
        UnitInputs("d", "d", knowledge_base=Manual(20, "", "boss", "t"), unreachable=0, dispatched=4, closed=0),
    ]                                                                      # 100 - 20 (办结率 0/4) = 80
    scores = score_month(CFG, units)
    assert [(s.unit, s.total, s.rank, s.bottom) for s in scores] == [
        ("a", 103.0, 1, False), ("b", 87.0, 2, True), ("c", 80.0, 3, True), ("d", 80.0, 3, True)]
    a = scores[0].to_dict()
    assert a["adjustments"][0]["points"] == 5 and a["adjustments"][0]["inputs"]["average"] == 3
    assert scores[1].to_dict()["adjustments"][1] == {"id": "rotation", "name": "轮值", "points": -10, "inputs": {
        "absences": [{"date": "2026-11-12", "note": "", "by": "boss"}], "per_absence": 10}}
    assert scores[2].to_dict()["complete"] is False and scores[2].missing == ["knowledge_base"]


def test_ranking_ties_share_the_better_rank_and_all_tied_flags_nobody() -> None:
    assert rank({"a": 90, "b": 80, "c": 80, "d": 70}) == {"a": 1, "b": 2, "c": 2, "d": 4}
    assert bottom(rank({"a": 90, "b": 80, "c": 80, "d": 70, "e": 60}), 3) == {"d", "e"}
    assert bottom(rank({u: 50 for u in "abcdef"}), 3) == set()
    assert bottom(rank({"a": 90, "b": 80, "c": 70}), 3) == {"b", "c"}


def test_interview_after_three_months_in_a_row_in_the_bottom() -> None:
    scores = score_month(CFG, [_unit("a", closed=1), _unit("b"), _unit("c"), _unit("d", kb=0), _unit("e", kb=5)])
    low = {s.unit for s in scores if s.bottom}
    assert [(s.unit, s.total, s.rank) for s in scores] == [("a", 105.0, 1), ("b", 100.0, 2), ("c", 100.0, 2),
                                                           ("e", 85.0, 4), ("d", 80.0, 5)]
    assert low == {"d", "e"}
    interviews(scores, "2026-11", [("2026-10", {"d", "e"}), ("2026-09", {"d"})], 3)
    flags = {s.unit: (s.interview, s.bottom_months) for s in scores}
    assert flags["d"] == (True, ["2026-11", "2026-10", "2026-09"])
    assert flags["e"][0] is False and flags["e"][1] == ["2026-11", "2026-10"]
    assert flags["a"] == (False, [])
