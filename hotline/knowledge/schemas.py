"""Request bodies and query strings of the knowledge-base routes (shape only; who may write which
unit is the service's). Every problem is ``invalid-request`` naming the field.

Entry texts are stripped and refused when they hold a control character other than tab and line
breaks (NUL: PostgreSQL cannot store it) or an unpaired surrogate. A search string is never refused
for its content: any Unicode, of any length the server takes, becomes a bounded list of terms
(:func:`hotline.knowledge.grams.query_terms`), possibly empty.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

from multidict import MultiMapping
from pydantic import AfterValidator, Field, StringConstraints, ValidationError

from hotline.exceptions import InvalidRequest
from hotline.http.body import StrictBody, field_name, parse_json_body
from hotline.http.query import NON_NEGATIVE, integer, single_values

_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_UNIT = re.compile(r"[a-z][a-z0-9_-]{0,31}")
MAX_LIMIT = 50


def _clean(value: str) -> str:
    found = _BAD.search(value)
    if found is not None:
        raise ValueError(f"holds the control character or unpaired surrogate U+{ord(found.group()):04X} "
                         f"at {found.start()}")
    return value


Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                  AfterValidator(_clean)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000), AfterValidator(_clean)]
UnitId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=f"^{_UNIT.pattern}$")]


class EntryBody(StrictBody):
    """``POST /api/knowledge`` (``unit``: a supervisor's choice; a unit user's own by default) and
    ``PUT /api/knowledge/{id}`` (``version``: the version the change was made on)."""

    unit: UnitId | None = None
    title: Title
    basis: Text = ""           # 法律政策依据
    conditions: Text = ""      # 办理条件
    materials: Text = ""       # 所需材料
    process: Text = ""         # 办事流程
    fees: Text = ""            # 收费标准
    location: Text = ""        # 办理地点
    time_limit: Text = ""      # 办理时限
    notes: Text = ""           # 注意事项
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None     # the last day it is valid
    version: int | None = Field(default=None, ge=1)

    def texts(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in ("title", "basis", "conditions", "materials", "process", "fees",
                                               "location", "time_limit", "notes")}


def parse_entry(raw: bytes, *, update: bool) -> EntryBody:
    body = parse_json_body(EntryBody, raw)
    if update and body.version is None:
        raise InvalidRequest("version", "the version the change was made on (read the entry first)")
    if body.valid_from and body.valid_until and body.valid_until < body.valid_from:
        raise InvalidRequest("valid_until", "before valid_from", body.valid_until.isoformat())
    return body


class SearchBody(StrictBody):
    """``POST /api/knowledge/search``: a long search text (a caller's words pasted)."""

    q: str
    unit: UnitId | None = None
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT)


def parse_search(raw: bytes) -> SearchBody:
    """The body read with Python's JSON (an escaped unpaired surrogate is taken, and dropped with
    the other non-letters), then checked field by field."""
    try:
        data: Any = json.loads(raw or b"{}")
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest("body", f"invalid JSON: {exc}") from None
    try:
        return SearchBody.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = field_name(error["loc"])
        raise InvalidRequest(field, error["msg"], None if field == "q" else error.get("input")) from None


@dataclass(frozen=True)
class ListQuery:
    q: str | None
    unit: str | None
    limit: int


def list_query(q: MultiMapping[str]) -> ListQuery:
    """``GET /api/knowledge`` parameters: ``q`` (search), ``unit``, ``limit`` (1..50)."""
    args = single_values(q, ("q", "unit", "limit"))
    unit = args.get("unit")
    if unit is not None and not _UNIT.fullmatch(unit.strip()):
        raise InvalidRequest("unit", "a unit id (orders.units[].id)", unit)
    limit = integer("limit", args["limit"], pattern=NON_NEGATIVE) if "limit" in args else (10 if "q" in args
                                                                                           else MAX_LIMIT)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest("limit", f"1..{MAX_LIMIT}", limit)
    return ListQuery(args.get("q"), unit.strip() if unit else None, limit)


def unit_query(q: MultiMapping[str]) -> str | None:
    """``GET /api/knowledge/stale``: ``unit`` or every unit."""
    unit = single_values(q, ("unit",), strip=True).get("unit")
    if unit is not None and not _UNIT.fullmatch(unit):
        raise InvalidRequest("unit", "a unit id (orders.units[].id)", unit)
    return unit


class LinkBody(StrictBody):
    """``POST /api/work-orders/{id}/knowledge``: the entry whose answer was used on the call."""

    entry_id: int = Field(ge=1)
    version: int | None = Field(default=None, ge=1)    # the version read (default: the current one)


def entry_id(value: str) -> int:
    return integer("entry_id", value, pattern=re.compile(r"[1-9][0-9]{0,8}"), message="an entry id (1, 2, ...)")
