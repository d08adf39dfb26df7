"""The OpenAPI part of listen, whisper and barge (``hotline.spy.http``),
merged into ``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import error as _error, path, json_content as _json, ref as _ref

_SEAT_ID = path("seat_id", {"type": "string", "pattern": "^[0-9]{3,8}$"})

SCHEMAS: dict[str, Any] = {
    "Spy": {"type": "object", "additionalProperties": False, "properties": {
        "mode": {"type": "string", "enum": ["listen", "whisper", "barge"], "default": "listen"}}},
    "SpyStarted": {"type": "object", "required": ["seat_id", "mode", "phone", "channels"], "properties": {
        "seat_id": {"type": "string"}, "mode": {"type": "string"}, "phone": {"type": "string"},
        "channels": {"type": "array", "items": {"type": "string"}}}},
}

PATHS: dict[str, Any] = {
    "/api/seats/{seat_id}/spy": {"post": {
        "summary": "Listen, whisper or barge: ring the supervisor's phone (users[].seat), then ChanSpy on the seat",
        "operationId": "spySeat", "parameters": [_SEAT_ID],
        "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("Spy")}}},
        "responses": {"202": _json("the supervisor's phone is ringing", _ref("SpyStarted")),
                      "400": _error("invalid-request"), "404": _error("no-such-seat"),
                      "409": _error("seat-not-on-call or no-supervisor-phone"),
                      "502": _error("asterisk-action-failed"), "503": _error("call-control-unavailable")}}},
}
