"""Request bodies and query strings of the unit-score routes (shape only; ranges are the service's)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from multidict import MultiMapping
from pydantic import Field, StringConstraints

from hotline.http.body import StrictBody
from hotline.http.query import single_values

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
MonthText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)]
OrderId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]


class KnowledgeBaseBody(StrictBody):
    """``POST /api/unit-scores/{unit}/knowledge-base``: the 知识库 points of a month (manual)."""

    month: MonthText
    points: float = Field(allow_inf_nan=False)
    note: Text = ""


class ExemptionBody(StrictBody):
    """``POST /api/unit-scores/{unit}/exemptions``: an order not counted against the unit in a rule."""

    month: MonthText
    rule: str
    work_order_id: OrderId
    reason: Reason


class AttendanceBody(StrictBody):
    """``POST /api/unit-scores/{unit}/attendance``: 轮值 attendance on a day."""

    date: dt.date
    status: str
    note: Text = ""


def month_query(q: MultiMapping[str]) -> str | None:
    """The ``month`` parameter (None: the default month); other parameters refused."""
    return single_values(q, ("month",), strip=True).get("month")
