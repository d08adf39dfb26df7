"""The OpenAPI part of the 回访 routes, merged into ``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import error as _error, json_content as _json, query as _q, ref as _ref
from hotline.revisits.model import RESULTS, SKIP_REASONS, Status
from hotline.revisits.rules import REASONS
from hotline.work_orders.lifecycle import Rating

_ID = {"name": "revisit_id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"}}
_FULL = _q("full", "1: the number in full where the reader may see it (supervisors, admins; a seat for the tasks "
                   "it rated), audited", {"enum": ["0", "1"]})
_REASON = _q("reason", "why full numbers are read: recorded in the audit log", {"type": "string", "maxLength": 200})
_LIMIT = _q("limit", "at most this many (default 50)", {"type": "integer", "minimum": 1, "maximum": 500})
_STR_NULL = {"type": ["string", "null"]}
_REFUSED = _error("number-not-allowed: the outbound rule refuses the number (details.reason: "
                  f"{', '.join(REASONS)}, or refused: on the refusal list); audited")


def _body(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": required, "additionalProperties": False, "properties": properties}}}}


SCHEMAS: dict[str, Any] = {
    "RevisitTask": {"type": "object", "additionalProperties": False,
                    "required": ["id", "work_order_id", "status", "attempts", "max_attempts", "tries"],
                    "properties": {
                        "id": {"type": "integer"}, "work_order_id": {"type": "string"},
                        "verify_event_id": {"type": "integer", "description": "the verification it follows"},
                        "number": {**_STR_NULL, "description": "the digits dialled (the outbound rule's form)"},
                        "status": {"enum": [s.value for s in Status]},
                        "skip_reason": {"enum": [*SKIP_REASONS, None]},
                        "attempts": {"type": "integer"}, "max_attempts": {"type": "integer"},
                        "next_at": {**_STR_NULL, "description": "when the next try may be placed (quiet hours "
                                                               "and the cap permitting)"},
                        "last_result": {"enum": [*RESULTS, None]},
                        "rating": {"enum": [*(r.value for r in Rating), None]},
                        "keys": {"type": "string", "description": "the keys pressed on the answered try, one per "
                                                                  "round, comma-separated (empty: none in time)"},
                        "seat": {**_STR_NULL, "description": "who claimed it (claimed) or rated it by hand"},
                        "created_at": {"type": "string"}, "updated_at": {"type": "string"},
                        "tries": {"type": "array", "items": {"type": "object", "description":
                                  "call_id (the try's call record), attempt, result, keys, at"}}}},
    "RevisitTaskList": {"type": "object", "required": ["items", "total"],
                        "properties": {"items": {"type": "array", "items": _ref("RevisitTask")},
                                       "total": {"type": "integer"}}},
}

PATHS: dict[str, Any] = {
    "/api/revisits": {"get": {
        "summary": "回访 tasks, newest first",
        "parameters": [_q("status", "only this status", {"enum": [s.value for s in Status]}),
                       _q("work_order_id", "only this order's", {"type": "string"}), _LIMIT, _FULL, _REASON],
        "responses": {"200": _json("回访 tasks", _ref("RevisitTaskList")), "400": _error("invalid-request")}}},
    "/api/revisits/{revisit_id}": {"get": {
        "summary": "One 回访 task with its tries (each names its call record)", "parameters": [_ID, _FULL, _REASON],
        "responses": {"200": _json("the task", _ref("RevisitTask")), "404": _error("no-such-revisit")}}},
    "/api/revisits/{revisit_id}/rating": {"post": {
        "summary": "A seat records the caller's rating (a task taken by hand, or a caller who pressed 0, during "
                   "the call too): the order is evaluated (不满意 reopens it)",
        "parameters": [_ID], "requestBody": _body(["rating"], {"rating": {"enum": [r.value for r in Rating]}}),
        "responses": {"200": _json("the task", _ref("RevisitTask")), "400": _error("invalid-request"),
                      "404": _error("no-such-revisit"),
                      "409": _error("revisit-closed: rated, skipped or superseded; revisit-claimed: another "
                                    "seat claimed it; illegal-transition: the order is no longer verified "
                                    "(nothing changed: the task and the order commit together)")}}},
    "/api/revisits/{revisit_id}/claim": {"post": {
        "summary": "A seat takes a pending task by hand: the automatic dialler leaves it alone until released",
        "parameters": [_ID],
        "responses": {"200": _json("the task (claimed, seat: who)", _ref("RevisitTask")),
                      "404": _error("no-such-revisit"), "409": _error("revisit-closed: not pending")}}},
    "/api/revisits/{revisit_id}/release": {"post": {
        "summary": "A claimed task goes back to the dialler (the seat that claimed it, or a supervisor)",
        "parameters": [_ID],
        "responses": {"200": _json("the task (pending)", _ref("RevisitTask")), "404": _error("no-such-revisit"),
                      "409": _error("revisit-closed: not claimed; revisit-claimed: another seat's")}}},
    "/api/revisits/{revisit_id}/number": {"post": {
        "summary": "The number to dial from now on (the caller's other phone): a pending task, or one skipped "
                   "for want of an allowed number",
        "parameters": [_ID], "requestBody": _body(["number"], {"number": {"type": "string", "maxLength": 40}}),
        "responses": {"200": _json("the task", _ref("RevisitTask")), "400": _error("invalid-request"),
                      "404": _error("no-such-revisit"), "409": _error("revisit-closed"), "422": _REFUSED}}},
    "/api/revisit-refusals": {
        "get": {"summary": "Numbers whose owner refused 回访 calls, newest first", "parameters": [_LIMIT],
                "responses": {"200": _json("the refusal list", {"type": "object"})}},
        "post": {"summary": "A caller refused 回访 calls: the number is never dialled again",
                 "requestBody": _body(["number", "reason"], {"number": {"type": "string", "maxLength": 40},
                                                             "reason": {"type": "string", "maxLength": 500}}),
                 "responses": {"201": _json("added", {"type": "object"}),
                               "200": _json("listed already", {"type": "object"}),
                               "400": _error("invalid-request"), "422": _REFUSED}}},
}
