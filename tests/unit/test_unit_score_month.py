"""A full month of three units through the real order lifecycle (test clock), scored by the
service on SQLite and PostgreSQL: each rule's points and inputs as computed by hand
(``unitscorekit.EXPECTED``), the ranking, and the 约谈 flag from the two months before."""

from __future__ import annotations

import datetime as dt

import pytest

from hotline.exceptions import NoSuchWorkOrder
from hotline.store import Store
from hotline.unit_scores.errors import ExemptionExists, InvalidMonth, NoSuchUnit
from hotline.unit_scores.inputs import Month
from hotline.unit_scores.services import UnitScoreService
from tests.unit.unitscorekit import EXPECTED, SH, Probes, build, site


async def test_a_month_of_three_units_as_computed_by_hand(store: Store) -> None:
    m = await build(store)
    header, scores = await m.scores.month_scores(m.scores.month("2026-11"))
    assert (header["month"], header["working_days"], header["provisional"]) == ("2026-11", 21, False)
    got = {s.unit: (tuple(r.points for r in s.rules), s.bonus, s.rotation, s.total) for s in scores}
    assert got == EXPECTED
    assert [(s.unit, s.rank, s.bottom) for s in scores] == [("jiaotong", 1, False), ("renshe", 2, False),
                                                           ("zhujian", 3, True)]
    by = {s.unit: {r.id: r.inputs for r in s.rules} for s in scores}
    assert by["renshe"]["on_time"]["orders"][0]["work_order_id"] == m.ids["O2"]
    assert [i["work_order_id"] for i in by["renshe"]["revisit_check"]["orders"]] == [m.ids["O3"]]
    assert by["renshe"]["revisit_check"]["orders"][0]["detail"] == "应办未办：未联系来电人"
    assert (by["renshe"]["satisfaction"]["unsatisfied"], by["renshe"]["satisfaction"]["counted"]) == (4, 3)
    assert by["zhujian"]["completion"] == {"dispatched": 3, "returned": 1, "kept": 2, "closed": 0,
                                                "base": "kept", "rate": 0.0}
    assert by["zhujian"]["on_time"]["count"] == 0 and by["zhujian"]["on_time"]["exempted"][0]["work_order_id"] == \
        m.ids["O5"]
    assert [i["work_order_id"] for i in by["jiaotong"]["on_time"]["orders"]] == [m.ids["O7"]]   # an October order
    assert by["renshe"]["knowledge_base"] == {"points": 18, "note": "新政策更新晚 2 天", "by": "boss",
                                              "at": "2026-12-01T10:00:00+08:00"}
    zhujian = next(s for s in scores if s.unit == "zhujian")
    assert zhujian.missing == ["knowledge_base"]
    # 约谈: zhujian was last in October and September too (its phone never answered)
    assert (zhujian.interview, zhujian.bottom_months) == (True, ["2026-11", "2026-10", "2026-09"])
    assert not any(s.interview for s in scores if s.unit != "zhujian")


async def test_october_counts_octobers_dispatches_and_deadlines(store: Store) -> None:
    m = await build(store)
    _, scores = await m.scores.month_scores(m.scores.month("2026-10"))
    jiaotong = next(s for s in scores if s.unit == "jiaotong")
    rules = {r.id: r for r in jiaotong.rules}
    assert (rules["completion"].inputs["dispatched"], rules["completion"].inputs["closed"]) == (1, 1)
    assert rules["on_time"].inputs["count"] == 0        # O7's deadline fell in November
    assert [(s.unit, s.total) for s in scores] == [("jiaotong", 85.0), ("renshe", 78.0), ("zhujian", 70.0)]


async def test_without_dial_tests_the_phone_rule_is_unavailable(store: Store) -> None:
    m = await build(store)
    scores = UnitScoreService(site(), store, m.orders, probes=None)   # as compose builds it until duty_probes
    _, month = await scores.month_scores(scores.month("2026-11"))
    phone = [next(r for r in s.rules if r.id == "phone") for s in month]
    assert {(r.points, r.status) for r in phone} == {(0.0, "unavailable")}


async def test_months_are_local_and_refused_when_bad(store: Store) -> None:
    m = await build(store, probes=Probes())
    m.clock.at = dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC)   # 2026-12-01 00:30 in Shanghai
    assert m.scores.month(None).label == "2026-11" and m.scores.month("2026-12").label == "2026-12"
    for bad, words in (("2026-13", "01..12"), ("2026-1", "YYYY-MM"), ("nov", "YYYY-MM"), ("2027-01", "begun")):
        with pytest.raises(InvalidMonth) as err:
            m.scores.month(bad)
        assert words in err.value.message and err.value.details["field"] == "month"
    header, _ = await m.scores.month_scores(m.scores.month("2026-12"))
    assert header["provisional"] is True and header["working_days"] == 23
    assert Month.parse("2026-12", SH).end == dt.datetime(2027, 1, 1, tzinfo=SH)
    assert Month.parse("2026-01", SH).previous().label == "2025-12"


async def test_inputs_refused_by_name_and_nothing_written(store: Store) -> None:
    m = await build(store)
    month = m.scores.month("2026-11")
    with pytest.raises(NoSuchUnit):
        await m.scores.set_knowledge_base("nobody", month, 5, "", "boss")
    with pytest.raises(ExemptionExists):
        await m.scores.exempt("zhujian", month, "on_time", m.ids["O5"], "again", "boss")
    with pytest.raises(NoSuchWorkOrder):
        await m.scores.exempt("zhujian", month, "on_time", "WO-20261101-999999", "x", "boss")
    for call, field in ((m.scores.set_knowledge_base("renshe", month, 21, "", "boss"), "points"),
                        (m.scores.exempt("renshe", month, "completion", m.ids["O1"], "x", "boss"), "rule"),
                        (m.scores.attend("renshe", dt.date(2026, 11, 5), "late", "", "boss"), "status"),
                        (m.scores.attend("renshe", dt.date(2026, 12, 2), "absent", "", "boss"), "date")):
        with pytest.raises(Exception) as err:
            await call
        assert getattr(err.value, "details", {}).get("field") == field
    _, scores = await m.scores.month_scores(month)
    assert {s.unit: s.total for s in scores} == {u: e[3] for u, e in EXPECTED.items()}
    # a later entry wins, the earlier stays in the table
    await m.scores.set_knowledge_base("renshe", month, 20, "已补齐", "boss2")
    await m.scores.attend("zhujian", dt.date(2026, 11, 12), "excused", "补交请假条", "boss2")
    _, scores = await m.scores.month_scores(month)
    assert {s.unit: s.total for s in scores} == {"jiaotong": 99, "renshe": 98, "zhujian": 49}


def test_migration_0017_goes_down_and_up(store: Store) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from tests.unit.test_order_kpis_sql import MIGRATIONS

    def migrate(revision: str, down: bool) -> set[str]:
        with store._engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)
            return set(inspect(connection).get_table_names())

    ours = {"unit_score_manual", "unit_score_exemptions", "unit_attendance"}
    assert not ours & migrate("0015", down=True)
    assert ours <= migrate("head", down=False)
