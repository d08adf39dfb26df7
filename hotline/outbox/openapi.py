"""The OpenAPI part of the outbox routes, merged into ``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.config.integration import INBOUND_CHANGES, ORDER_EVENTS
from hotline.http.oas import error as _error, json_content as _json, path as _path, query as _q, ref as _ref

_ID = _path("delivery_id", {"type": "string", "pattern": "^[0-9]+$"})
_LIMIT = _q("limit", "at most this many (default 100, at most 500)", {"type": "integer", "minimum": 1, "maximum": 500})
_STR_NULL = {"type": ["string", "null"]}

SCHEMAS: dict[str, Any] = {
    "OutboxDelivery": {"type": "object", "additionalProperties": False, "properties": {
        "id": {"type": "integer"}, "webhook": {"type": "string"},
        "status": {"enum": ["pending", "delivered", "dead"]}, "attempts": {"type": "integer"},
        "next_attempt_at": {"type": "string", "format": "date-time"}, "last_error": _STR_NULL,
        "idempotency_key": {"type": "string", "description": "<site>:<order_id>:<seq>"},
        "order_id": {"type": "string"}, "seq": {"type": "integer", "description": "the order's events from 1"},
        "event_type": {"enum": list(ORDER_EVENTS)}, "occurred_at": {"type": "string", "format": "date-time"},
        "payload": {"type": "object"}}},
    "OutboxDeliveryList": {"type": "object", "required": ["items", "total"], "properties": {
        "items": {"type": "array", "items": _ref("OutboxDelivery")}, "total": {"type": "integer"},
        "purged": {"type": "object", "description": "dead letters purged so far, per webhook (dead-letter list only)",
                   "additionalProperties": {"type": "object", "required": ["expired", "capped", "last_purged_at"],
                                            "properties": {
                                                "expired": {"type": "integer",
                                                            "description": "older than dead_retention_days"},
                                                "capped": {"type": "integer",
                                                           "description": "beyond max_dead_per_webhook, oldest first"},
                                                "last_purged_at": {"type": "string", "format": "date-time"}}}}}},
    "InboundChange": {"type": "object", "additionalProperties": False,
                      "required": ["idempotency_key", "order_id", "change", "at"], "properties": {
                          "idempotency_key": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$",
                                              "description": "the order system's: a replay gets the first answer"},
                          "order_id": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
                          "change": {"enum": list(INBOUND_CHANGES)},
                          "at": {"type": "string", "format": "date-time", "description": "with a UTC offset"},
                          "data": {"type": "object", "description": "the change's fields"}}},
    "InboundAnswer": {"type": "object", "required": ["id", "http_status", "replayed"], "properties": {
        "id": {"type": "integer"}, "system": {"type": "string"}, "idempotency_key": {"type": "string"},
        "order_id": {"type": "string"}, "change": {"type": "string"}, "http_status": {"type": "integer"},
        "applied": {"type": "boolean", "description": "true: applied to the order as its unit's action"},
        "action": {"type": "string", "description": "the lifecycle action (sign, return, request_extension, reply)"},
        "from_state": _STR_NULL, "state": {"type": "string", "description": "the order's state after it"},
        "unit": _STR_NULL,
        "error_id": {"type": "string", "description": "when the change was refused"},
        "replayed": {"type": "boolean", "description": "true: the answer to the first request with this key"}}},
    "InboundChangeList": {"type": "object", "required": ["items", "total"], "properties": {
        "items": {"type": "array", "items": {"type": "object"}}, "total": {"type": "integer"}}},
}

PATHS: dict[str, Any] = {
    "/api/outbox/dead-letters": {"get": {
        "summary": "Order events a webhook never took (after max_attempts or max_age_hours), newest first; kept "
                   "dead_retention_days, at most max_dead_per_webhook (purges counted in purged)",
        "parameters": [_LIMIT],
        "responses": {"200": _json("dead letters", _ref("OutboxDeliveryList")), "400": _error("invalid-request")}}},
    "/api/outbox/dead-letters/{delivery_id}/retry": {"post": {
        "summary": "Send a dead letter again (attempts from 0, due now)", "parameters": [_ID],
        "responses": {"200": _json("the delivery, pending", _ref("OutboxDelivery")),
                      "404": _error("no-such-dead-letter")}}},
    "/api/outbox/dead-letters/{delivery_id}": {"delete": {
        "summary": "Discard a dead letter", "parameters": [_ID],
        "responses": {"204": {"description": "discarded"}, "404": _error("no-such-dead-letter")}}},
    "/api/integration/{system}/changes": {"post": {
        "summary": "An order system pushes a state change back (its token as Authorization: Bearer, or "
                   "X-Hotline-Signature: sha256=<hex HMAC-SHA256 of the body>); no hotline user needed",
        "parameters": [_path("system", {"type": "string"})],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("InboundChange")}}},
        "responses": {"202": _json("stored and applied to the order", _ref("InboundAnswer")),
                      "400": _error("invalid-request (the field at fault; nothing stored), or a stored "
                                    "refusal missing-order-field (replays get the same)"),
                      "404": _json("no-such-work-order, stored; replays get the same", _ref("InboundAnswer")),
                      "401": _error("inbound-auth-failed"),
                      "409": _json("illegal-transition or order-closed (error_id); replays get the same",
                                   _ref("InboundAnswer"))}}},
    "/api/integration/changes": {"get": {
        "summary": "The changes order systems pushed, newest first, with their answers", "parameters": [_LIMIT],
        "responses": {"200": _json("inbound changes", _ref("InboundChangeList")), "400": _error("invalid-request")}}},
}
