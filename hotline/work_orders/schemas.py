"""Validation of work-order request bodies.

Shape only (types, lengths, known fields); whether the calls exist is the
store's business. The first problem found becomes an ``InvalidRequest`` naming
the field (``call_ids[2]`` for an item) and the value sent.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from hotline.config.site import SeatId
from hotline.exceptions import InvalidRequest
from hotline.records.work_order import Category

MAX_CALLS = 100

CallId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                                         pattern=r"^[^\x00-\x1f\x7f]+$")]
Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class WorkOrderCreate(BaseModel):
    """The body of ``POST /api/work-orders``.

    Strict: ``"true"`` is not a boolean and ``1`` is not a seat id, so a
    client bug is reported instead of silently coerced.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    call_ids: list[CallId] = Field(min_length=1, max_length=MAX_CALLS)
    title: Title
    description: Description
    category: Category
    created_by: SeatId
    # None: what the category requires (complaints and reports are confidential).
    caller_confidential: bool | None = None


def parse_create(body: bytes) -> WorkOrderCreate:
    """Parse and validate a JSON body; ``InvalidRequest`` on the first problem."""
    try:
        return WorkOrderCreate.model_validate_json(body)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
        # A missing field has no value; invalid JSON's "value" is the whole body.
        show_value = error["type"] not in ("missing", "json_invalid")
        raise InvalidRequest(field.lstrip(".") or "body", error["msg"],
                             error.get("input") if show_value else None) from None
