"""Request bodies: parse JSON into a strict pydantic model, or ``invalid-request`` naming the field."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from hotline.exceptions import InvalidRequest


class StrictBody(BaseModel):
    """The base of every request body: unknown fields refused, no type coercion, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


M = TypeVar("M", bound=BaseModel)


def parse_json_body(model: type[M], body: bytes, *, secret_fields: frozenset[str] = frozenset(),
                    empty_is_object: bool = True) -> M:
    """The first problem becomes ``InvalidRequest`` with the field (``call_ids[2]`` for a list
    item); a field named in ``secret_fields`` (a password) never has its value echoed back.
    ``empty_is_object``: an empty body counts as ``{}`` (else it is invalid JSON)."""
    try:
        return model.model_validate_json(body or (b"{}" if empty_is_object else b""))
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = field_name(error["loc"])
        # A missing field has no value; invalid JSON's "value" is the whole body.
        show_value = error["type"] not in ("missing", "json_invalid") and field not in secret_fields
        raise InvalidRequest(field, error["msg"], error.get("input") if show_value else None) from None


def field_name(loc: tuple[int | str, ...]) -> str:
    """``("call_ids", 2)`` -> ``call_ids[2]``; the empty location is the ``body``."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".") or "body"
