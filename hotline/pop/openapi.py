"""The OpenAPI part of the screen pop route (``hotline.pop.http``), merged into ``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import error as _error, json_content as _json, path as _path, query as _query, ref as _ref

from .schemas import DEFAULT, MAX

_STR_NULL = {"type": ["string", "null"]}
_NUM_NULL = {"type": ["number", "null"]}
_OBJ_NULL = ["object", "null"]

SCHEMAS: dict[str, Any] = {
    "PopLocation": {
        "type": "object", "additionalProperties": False,
        "description": "where the caller's number is from (libphonenumber's data, Chinese); every field null when "
                       "the data does not know the number (short service numbers, anonymous, a local number "
                       "without area code)",
        "required": ["region", "province", "city", "carrier", "description"],
        "properties": {"region": {**_STR_NULL, "description": "ISO country (CN)"},
                       "province": {**_STR_NULL, "description": "河南省, 北京市 (mainland numbers only)"},
                       "city": {**_STR_NULL, "description": "郑州市"},
                       "carrier": {**_STR_NULL, "description": "中国移动 (mobiles: the carrier the number was "
                                   "allocated to; a ported number keeps it)"},
                       "description": {**_STR_NULL, "description": "the whole text: 河南省郑州市, 美国"}}},
    "PopCall": {
        "type": "object", "additionalProperties": False,
        "required": ["call_id", "state", "state_since", "seat", "queue", "dialled_number", "legacy_number",
                     "arrived_at", "waited_seconds", "caller_number", "location"],
        "properties": {
            "call_id": {"type": "string", "description": "the conversation (Asterisk Linkedid): GET /api/calls/{id}, "
                        "call control, POST /api/work-orders call_ids"},
            "state": {"enum": ["ringing", "talking", "wrapup"],
                      "description": "the seat's: its phone rings, it talks, or the call ended and it files (wrapup)"},
            "state_since": {"type": "number", "description": "epoch seconds the state began"},
            "seat": {"type": "string"},
            "queue": _STR_NULL, "dialled_number": {**_STR_NULL, "description": "12345 or a legacy number"},
            "legacy_number": {"type": _OBJ_NULL, "description": "the dialled legacy number and its department",
                              "properties": {"number": _STR_NULL, "mode": _STR_NULL, "hotline": _STR_NULL,
                                             "department": _STR_NULL, "department_name": _STR_NULL,
                                             "unit": {**_STR_NULL, "description": "orders.units[].id of the "
                                                      "department"}}},
            "arrived_at": {**_STR_NULL, "description": "ISO 8601"},
            "waited_seconds": {**_NUM_NULL, "description": "in the queue: so far while it rings, the whole wait "
                               "once answered"},
            "caller_number": {**_STR_NULL, "description": "masked (138****5678) unless the reader may see it "
                              "(hotline.privacy: the seat on the call, not confidential; supervisors); audited"},
            "location": _ref("PopLocation")}},
    "PopHistoryCall": {
        "type": "object", "description": "an earlier call of the same person (any form of its number)",
        "required": ["call_id", "arrived_at", "caller_number", "dialled_number", "department", "queue", "seat",
                     "outcome", "wait_seconds", "talk_seconds"],
        "properties": {"call_id": {"type": "string"}, "arrived_at": {"type": "string"},
                       "caller_number": {"type": "string", "description": "as received; masked unless the "
                                         "reader's seat handled that call (or a supervisor)"},
                       "dialled_number": {"type": "string"}, "department": _STR_NULL, "queue": _STR_NULL,
                       "seat": _STR_NULL, "outcome": {"type": "string"}, "wait_seconds": _NUM_NULL,
                       "talk_seconds": _NUM_NULL}},
    "PopHistoryOrder": {
        "type": "object", "description": "a work order about one of the person's calls",
        "required": ["id", "title", "category", "status", "state", "unit", "due", "caller_confidential",
                     "created_at", "created_by"],
        "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "category": {"type": "string"},
                       "status": {"type": "string"},
                       "state": {"type": "string", "description": "lifecycle state (created without one)"},
                       "unit": {**_STR_NULL, "description": "the unit holding it"},
                       "due": _STR_NULL, "caller_confidential": {"type": "boolean"},
                       "created_at": {"type": "string"}, "created_by": {"type": "string"}}},
    "Pop": {
        "type": "object", "additionalProperties": False,
        "required": ["seat_id", "ts", "call", "history", "order_prefill", "order_context"],
        "properties": {
            "seat_id": {"type": "string"}, "ts": {"type": "number", "description": "epoch seconds of the answer"},
            "call": {"oneOf": [{"type": "null"}, _ref("PopCall")],
                     "description": "null: no call at the seat now (200, not an error: ask again on the seat's "
                                    "next change)"},
            "history": {"type": "object", "required": ["ok", "error", "calls", "orders"], "properties": {
                "ok": {"type": "boolean", "description": "false: the store could not be read (error says why); "
                       "the call is still shown"},
                "error": _STR_NULL,
                "calls": {"type": "array", "items": _ref("PopHistoryCall"), "description": "newest first"},
                "orders": {"type": "array", "items": _ref("PopHistoryOrder"), "description": "newest first"}}},
            "order_prefill": {"type": _OBJ_NULL, "description": "fields of POST /api/work-orders the call "
                              "determines (null without a call); the page adds title, description, category",
                              "required": ["call_ids", "created_by"],
                              "properties": {"call_ids": {"type": "array", "items": {"type": "string"}},
                                             "created_by": {"type": "string"}}},
            "order_context": {"type": _OBJ_NULL, "description": "what the form shows beside them (not sent)",
                              "properties": {"caller_number": _STR_NULL, "dialled_number": _STR_NULL,
                                             "department": _STR_NULL, "department_name": _STR_NULL,
                                             "unit": _STR_NULL,
                                             "subjects": {"type": "array", "items": {"type": "string"},
                                                          "description": "orders.subjects[].id of the unit"}}}}},
}

_SEAT_ID = _path("seat_id", {"type": "string", "pattern": "^[0-9]{3,8}$"})

PATHS: dict[str, Any] = {
    "/api/seats/{seat_id}/pop/events": {"get": {
        "summary": "The seat's changes as server-sent events, for its screen pop: event 'seat' with data "
                   "{seat_id, state, call_id, since} on connecting and on each change of state or call (no number); "
                   "on a call_id the page reads GET /api/seats/{seat_id}/pop. A heartbeat comment every 15 s. "
                   "Same own-seat rule as the pop.",
        "operationId": "seatPopEvents", "parameters": [_SEAT_ID],
        "responses": {"200": {"description": "text/event-stream",
                              "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                      "403": _error("forbidden: a seat user asks another seat's events"),
                      "404": _error("no-such-seat")}}},
    "/api/seats/{seat_id}/pop": {"get": {
        "summary": "The seat's screen pop: the call ringing or talking there, the caller's number (as the reader "
                   "may see it), its province, city and carrier, the caller's earlier calls and orders (the same "
                   "person in any form of the number) and the order form's fields. No call: 200 with call null. "
                   "The page asks on each 'seat' event of GET /api/seats/{seat_id}/pop/events (or polls).",
        "operationId": "getSeatPop",
        "parameters": [_SEAT_ID,
                       _query("calls", f"earlier calls (default {DEFAULT})", {"type": "integer", "minimum": 0,
                                                                            "maximum": MAX}),
                       _query("orders", f"work orders (default {DEFAULT})", {"type": "integer", "minimum": 0,
                                                                           "maximum": MAX}),
                       _query("reason", "why full numbers are read (the disclosure audit)", {"type": "string"})],
        "responses": {"200": _json("the pop", _ref("Pop")), "400": _error("invalid-request (details.field)"),
                      "403": _error("forbidden: a seat user asks another seat's pop"),
                      "404": _error("no-such-seat")}}},
}
