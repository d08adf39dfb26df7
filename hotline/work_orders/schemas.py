"""Validation of work-order request bodies.

Shape only (types, lengths, known fields); whether the calls exist is the
store's business. The first problem found becomes an ``InvalidRequest`` naming
the field (``call_ids[2]`` for an item) and the value sent.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from hotline.config.site import SeatId
from hotline.http.body import StrictBody, parse_json_body
from hotline.work_orders.model import Category

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
