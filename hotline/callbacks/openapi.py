"""The OpenAPI part of the callback routes, merged into ``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import ref as _ref, error as _error, json_content as _json, query as _q

from hotline.callbacks.model import Kind, Status


_ID = {"name": "callback_id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"}}
_FULL = _q("full", "1: the caller's number in full (masked by default, 138****5678) where the reader may see "
                   "it: supervisors and admins; a seat only for the callbacks it took", {"enum": ["0", "1"]})
_REASON = _q("reason", "why full numbers are read: recorded in the audit log (or the header X-Hotline-Reason)",
             {"type": "string", "maxLength": 200})
_LIMIT = _q("limit", "at most this many (default 50, at most 500)", {"type": "integer", "minimum": 1, "maximum": 500})
_STR_NULL = {"type": ["string", "null"]}

SCHEMAS: dict[str, Any] = {
    "CallbackTask": {"type": "object", "additionalProperties": False,
                     "required": ["id", "kind", "call_id", "number", "status", "attempts", "max_attempts"],
                     "properties": {
                         "id": {"type": "integer"}, "kind": {"enum": [k.value for k in Kind]},
                         "call_id": {"type": "string", "description": "the original conversation"},
                         "number": {"type": "string"}, "queue": _STR_NULL,
                         "status": {"enum": [s.value for s in Status]},
                         "attempts": {"type": "integer"}, "max_attempts": {"type": "integer"}, "seat": _STR_NULL,
                         "created_at": {"type": "string", "format": "date-time"},
                         "updated_at": {"type": "string", "format": "date-time"},
                         "last_result": {**_STR_NULL, "description": "the last try: answer, noanswer, busy, "
                                                                     "congestion, chanunavail, seat_missed ..."},
                         "callback_call_id": {**_STR_NULL, "description": "the conversation of the last try"}}},
    "CallbackTaskList": {"type": "object", "required": ["items", "total"],
                         "properties": {"items": {"type": "array", "items": _ref("CallbackTask")},
                                        "total": {"type": "integer"}}},
    "AbandonedCall": {"type": "object", "additionalProperties": False, "properties": {
        "call_id": {"type": "string"}, "arrived_at": {"type": "string"}, "ended_at": _STR_NULL,
        "outcome": {"enum": ["abandoned_in_queue", "abandoned_before_queue"]}, "queue": _STR_NULL,
        "dialled_number": {"type": "string"}, "caller_number": {"type": "string"},
        "wait_seconds": {"type": ["number", "null"]},
        "callback": {"type": ["object", "null"], "description": "the call's callback task: id, status, kind, attempts"},
        "served_later": {"type": "boolean", "description": "the caller called again (or was called back) and "
                                                           "was answered after this call"},
        "served_later_at": _STR_NULL, "dialable": {"type": "boolean"}}},
    "AbandonedList": {"type": "object", "required": ["items", "total"],
                      "properties": {"items": {"type": "array", "items": _ref("AbandonedCall")},
                                     "total": {"type": "integer"}}},
}

PATHS: dict[str, Any] = {
    "/api/abandoned": {"get": {
        "summary": "Abandoned calls (in the queue and before it), newest first, with callback status",
        "parameters": [_q("since", "arrived at or after (ISO 8601 with offset)", {"type": "string"}),
                       _q("queue", "only this queue", {"type": "string"}), _LIMIT, _FULL, _REASON],
        "responses": {"200": _json("abandoned calls", _ref("AbandonedList")),
                      "400": _error("invalid-request (the parameter at fault)")}}},
    "/api/callbacks": {
        "get": {"summary": "Callback tasks, newest first",
                "parameters": [_q("status", "only this status", {"enum": [s.value for s in Status]}), _LIMIT, _FULL,
                               _REASON],
                "responses": {"200": _json("callback tasks", _ref("CallbackTaskList")),
                              "400": _error("invalid-request")}},
        "post": {"summary": "Ask for a callback of an abandoned call (kind abandoned)",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "required": ["call_id"], "additionalProperties": False,
                     "properties": {"call_id": {"type": "string"}}}}}},
                 "responses": {"201": _json("the task", _ref("CallbackTask")),
                               "400": _error("invalid-request"), "404": _error("no-such-call"),
                               "409": _error("not-abandoned or callback-exists"),
                               "422": _error("no-caller-number: anonymous or not a dialable number")}}},
    "/api/callbacks/{callback_id}": {"get": {
        "summary": "One callback task", "parameters": [_ID],
        "responses": {"200": _json("the task", _ref("CallbackTask")), "404": _error("no-such-callback")}}},
    "/api/callbacks/{callback_id}/take": {"post": {
        "summary": "A seat takes the callback: its phone rings, then the citizen is dialled through the trunk",
        "parameters": [_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["seat"], "additionalProperties": False,
            "properties": {"seat": {"type": "string"}}}}}},
        "responses": {"202": _json("dialling: the outcome follows on the task", _ref("CallbackTask")),
                      "400": _error("invalid-request"), "404": _error("no-such-callback or no-such-seat"),
                      "409": _error("callback-closed (not requested any more) or seat-busy (not registered or "
                                    "on a call)"),
                      "502": _error("asterisk-action-failed"), "503": _error("call-control-unavailable")}}},
}
