"""Validation of work-order request bodies.

Shape only (types, lengths, known fields); whether the calls exist is the
store's business. The first problem found becomes an ``InvalidRequest`` naming
the field (``call_ids[2]`` for an item) and the value sent.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from hotline.config.site import SeatId
from hotline.http.body import StrictBody, parse_json_body
from hotline.records.work_order import Category
from hotline.work_orders.lifecycle import Rating, Urgency

MAX_CALLS = 100

CallId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                                         pattern=r"^[^\x00-\x1f\x7f]+$")]
Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class WorkOrderCreate(StrictBody):
    """The body of ``POST /api/work-orders``.

    Strict: ``"true"`` is not a boolean and ``1`` is not a seat id, so a
    client bug is reported instead of silently coerced.
    """

    call_ids: list[CallId] = Field(min_length=1, max_length=MAX_CALLS)
    title: Title
    description: Description
    category: Category
    created_by: SeatId
    # None: what the category requires (complaints and reports are confidential).
    caller_confidential: bool | None = None


def parse_create(body: bytes) -> WorkOrderCreate:
    """Parse and validate a JSON body; ``InvalidRequest`` on the first problem (an empty body too)."""
    return parse_json_body(WorkOrderCreate, body, empty_is_object=False)


# --- the lifecycle actions (hotline.work_orders.lifecycle) ------------------------------------

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
UnitId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9-]{3,24}$")]


class ActionBody(StrictBody):
    """The body of ``POST /api/work-orders/{id}/<action>``: each action uses the fields its table row
    requires (a missing one is ``missing-order-field`` naming it); any other field is refused."""

    unit: UnitId | None = None
    co_units: list[UnitId] | None = Field(default=None, max_length=20)
    answer: Text | None = None
    reason: Text | None = None
    return_reason: Text | None = None
    leader_opinion: Text | None = None
    suggestion: Text | None = None
    contact_phone: Phone | None = None
    days: int | None = None
    result: Text | None = None
    leader_approval: Text | None = None
    rating: Rating | None = None
    kind: str | None = Field(default=None, max_length=16)
    note: Text | None = None

    def fields(self) -> dict[str, Any]:
        """The fields sent (JSON values, none left out but the unset ones)."""
        return self.model_dump(mode="json", exclude_none=True)


class StartBody(StrictBody):
    """The body of ``POST /api/work-orders/{id}/start``: enter a filed order into the lifecycle."""

    urgency: Urgency = Urgency.normal
    subject: UnitId | None = None
    area: UnitId | None = None


def parse_action(body: bytes) -> ActionBody:
    return parse_json_body(ActionBody, body)


def parse_start(body: bytes) -> StartBody:
    return parse_json_body(StartBody, body)
