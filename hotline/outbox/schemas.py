"""Request bodies and query strings of the outbox routes."""

from __future__ import annotations

from typing import Annotated, Any

from multidict import MultiMapping
from pydantic import AwareDatetime, Field, StringConstraints, field_validator

from hotline.config.integration import INBOUND_CHANGES
from hotline.exceptions import InvalidRequest, NoSuchDeadLetter
from hotline.http.body import StrictBody
from hotline.http.query import NON_NEGATIVE, integer, single_values
from hotline.store.store import MAX_PAGE

IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]
OrderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
DEFAULT_LIMIT = 100


class InboundBody(StrictBody):
    """``POST /api/integration/{system}/changes``: one state change in the order system."""

    idempotency_key: IdempotencyKey
    order_id: OrderId
    change: str
    at: AwareDatetime
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("change")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in INBOUND_CHANGES:
            raise ValueError(f"not one of {list(INBOUND_CHANGES)}")
        return value


def limit(q: MultiMapping[str]) -> int:
    """The only query parameter of the list routes: ``limit`` (1 to 500)."""
    raw = single_values(q, {"limit": "int"}).get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    value = integer("limit", raw, pattern=NON_NEGATIVE, message="must be a positive integer")
    if not 1 <= value <= MAX_PAGE:
        raise InvalidRequest("limit", f"must be between 1 and {MAX_PAGE}", value)
    return value


def delivery_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 12:
        raise NoSuchDeadLetter(raw)
    return int(raw)
