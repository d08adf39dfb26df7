"""The site config of the monthly unit score (``unit_scores:``): each rule's points and thresholds.

The defaults are the Puyang assessment annex (《濮阳市12345政务服务热线工作考核暂行办法》, 百分制):
知识库 20, 电话接通率 10 (−1 per 不通, 0 above 10 in a month), 按期办结 10 (−1 per overdue
order, 0 above 10), 办结率 20 (办结量/转办量 × 20), 回访核实 20 (−1 per order), 满意度 20 (−1 per
不满意, at most 3 per order); +3 / +5 when a unit's monthly closed volume is over 100% / 200% of
the units' average; −10 for each 轮值 (on-site rotation) missed without reason; units in the bottom
3 for 3 months in a row are flagged for 约谈. The six rules' points must add up to 100.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from pydantic import Field, model_validator

from hotline.config.scalars import Model


class CountedRule(Model):
    """A rule that starts at ``points`` and loses ``per`` for each counted item; none at all when
    more than ``zero_above`` items are counted in the month (None: never zeroed, floor 0)."""

    points: float = Field(ge=0, le=100)
    per: float = Field(default=1, ge=0, le=100)
    zero_above: int | None = Field(default=None, ge=0, le=10000)


class CompletionBase(str, Enum):
    kept = "kept"              # 承办量: dispatched less the orders returned in time (回退)
    dispatched = "dispatched"  # 转办量 as dispatched, returns included


class CompletionRule(Model):
    """办结率 × ``points``; ``base`` the denominator."""

    points: float = Field(default=20, ge=0, le=100)
    base: CompletionBase = CompletionBase.kept


class SatisfactionRule(Model):
    points: float = Field(default=20, ge=0, le=100)
    per: float = Field(default=1, ge=0, le=100)            # per 不满意 evaluation
    max_per_order: int = Field(default=3, ge=1, le=100)    # 同一事项连续不满意最多扣3分


class KnowledgeBaseRule(Model):
    """Measured from the knowledge base (``hotline/knowledge``): ``points`` − ``per`` × the unit's
    entries stale or expired at the month's end (floor 0; no entry at all: 0). A manual input
    (0..``points``) entered for the unit and month overrides it."""

    points: float = Field(default=20, ge=0, le=100)
    per: float = Field(default=1, ge=0, le=100)      # per entry stale (knowledge.fresh_days) or expired


class Bonus(Model):
    """+``points`` when a unit's monthly closed volume is over ``over_average`` × the units' average."""

    over_average: float = Field(gt=0, le=100)
    points: float = Field(ge=0, le=100)


class Ranking(Model):
    """Units ranked in the bottom ``bottom`` for ``months`` months in a row are flagged (约谈)."""

    bottom: int = Field(default=3, ge=1, le=100)
    months: int = Field(default=3, ge=1, le=24)


def _bonuses() -> list[Bonus]:
    return [Bonus(over_average=1.0, points=3), Bonus(over_average=2.0, points=5)]


class UnitScoresSection(Model):
    """``unit_scores:`` the monthly 100-point score of member units (``hotline/unit_scores``)."""

    knowledge_base: KnowledgeBaseRule = Field(default_factory=KnowledgeBaseRule)
    phone: CountedRule = Field(default_factory=lambda: CountedRule(points=10, per=1, zero_above=10))
    on_time: CountedRule = Field(default_factory=lambda: CountedRule(points=10, per=1, zero_above=10))
    completion: CompletionRule = Field(default_factory=CompletionRule)
    revisit_check: CountedRule = Field(default_factory=lambda: CountedRule(points=20, per=1))
    satisfaction: SatisfactionRule = Field(default_factory=SatisfactionRule)
    bonuses: list[Bonus] = Field(default_factory=_bonuses, max_length=10)
    rotation_absence: float = Field(default=10, ge=0, le=100)   # per 轮值 missed without reason
    ranking: Ranking = Field(default_factory=Ranking)
    report_font: Path | None = None   # a CJK TrueType font for the PDF report (None: a Debian one found)

    @model_validator(mode="after")
    def _checks(self) -> "UnitScoresSection":
        parts = {"knowledge_base": self.knowledge_base.points, "phone": self.phone.points,
                 "on_time": self.on_time.points, "completion": self.completion.points,
                 "revisit_check": self.revisit_check.points, "satisfaction": self.satisfaction.points}
        total = sum(parts.values())
        if abs(total - 100) > 1e-9:
            listed = ", ".join(f"{k}.points={v:g}" for k, v in parts.items())
            raise ValueError(f"the six rules' points must add up to 100 (百分制), not {total:g}: {listed}")
        overs = [b.over_average for b in self.bonuses]
        if overs != sorted(set(overs)):
            raise ValueError(f"bonuses: over_average must increase from one tier to the next, not {overs}")
        return self

    def max_points(self) -> dict[str, float]:
        return {"knowledge_base": self.knowledge_base.points, "phone": self.phone.points,
                "on_time": self.on_time.points, "completion": self.completion.points,
                "revisit_check": self.revisit_check.points, "satisfaction": self.satisfaction.points}
