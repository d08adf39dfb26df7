"""Validation of work-order request bodies.

Shape only (types, lengths, known fields); whether the calls exist is the
store's business. The first problem found becomes an ``InvalidRequest`` naming
the field (``call_ids[2]`` for an item) and the value sent.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from multidict import MultiMapping

from pydantic import Field, StringConstraints

from hotline.config.site import SeatId
from hotline.http.body import StrictBody, parse_json_body
from hotline.exceptions import InvalidRequest
from hotline.http.query import NON_NEGATIVE, date_time, integer, single_values
from hotline.records.work_order import Category
from hotline.store.store import MAX_PAGE
from hotline.work_orders.lifecycle import Rating, State, Urgency
from hotline.work_orders.search import OrderQuery

MAX_CALLS = 100

CallId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                                         pattern=r"^[^\x00-\x1f\x7f]+$")]
UnitId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
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
    # 不需回访: the caller asked not to be called back about it (no 回访 call; PATCH changes it later)
    no_revisit: bool = False
    # The lifecycle (what POST .../start takes): any of them given, the order is filed and started
    # in one transaction (hotline.work_orders.filing); none, it is filed only.
    urgency: Urgency | None = None
    subject: UnitId | None = None
    area: UnitId | None = None

    LIFECYCLE: ClassVar[tuple[str, ...]] = ("urgency", "subject", "area")

    def starts(self) -> bool:
        """Whether the request enters the order into its lifecycle."""
        return any(getattr(self, name) is not None for name in self.LIFECYCLE)

    def filed(self) -> dict[str, Any]:
        """The filing's fields (``Store.create_work_order``'s arguments)."""
        return self.model_dump(exclude=set(self.LIFECYCLE))


class WorkOrderUpdate(StrictBody):
    """The body of ``PATCH /api/work-orders/{id}``: the order's fields that may change after
    filing (only ``no_revisit`` so far); at least one, any other field refused."""

    no_revisit: bool | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


def parse_update(body: bytes) -> WorkOrderUpdate:
    update = parse_json_body(WorkOrderUpdate, body, empty_is_object=False)
    if not update.changes():
        raise InvalidRequest("no_revisit", "give a field to change", None)
    return update


def parse_create(body: bytes) -> WorkOrderCreate:
    """Parse and validate a JSON body; ``InvalidRequest`` on the first problem (an empty body too)."""
    return parse_json_body(WorkOrderCreate, body, empty_is_object=False)


# --- the lifecycle actions (hotline.work_orders.lifecycle) ------------------------------------

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
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
    opinion: Text | None = None

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


SEARCH_PARAMS = ("id", "number", "unit", "subject", "area", "state", "start", "end", "limit", "offset")
_ID_PREFIX = re.compile(r"WO-[0-9-]{0,20}")
_SLUG = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_NUMBER = re.compile(r"\+?[0-9]{3,20}")


def parse_search(q: MultiMapping[str]) -> OrderQuery:
    """``GET /api/work-orders`` query parameters, each problem naming the parameter."""
    raw = single_values(q, SEARCH_PARAMS, strip=True)
    args: dict[str, Any] = {}
    for name, value in raw.items():
        if name == "id" and not _ID_PREFIX.fullmatch(value):
            raise InvalidRequest(name, "an order id or its beginning (WO-20261201-)", value)
        if name == "number" and not _NUMBER.fullmatch(value):
            raise InvalidRequest(name, "a phone number (digits)", value)
        if name in ("unit", "subject", "area") and not _SLUG.fullmatch(value):
            raise InvalidRequest(name, "an id of the orders config", value)
        if name == "state":
            try:
                args[name] = State(value)
            except ValueError:
                raise InvalidRequest(name, f"one of {', '.join(s.value for s in State)}", value) from None
        elif name in ("start", "end"):
            args[name] = date_time(name, value)
        elif name in ("limit", "offset"):
            args[name] = integer(name, value, pattern=NON_NEGATIVE, message="must be a non-negative integer")
        else:
            args[name] = value
    if "limit" in args and not 0 < args["limit"] <= MAX_PAGE:
        raise InvalidRequest("limit", f"1..{MAX_PAGE}", args["limit"])
    return OrderQuery(**args)
