"""The OpenAPI part of the call routes: call records (``hotline.calls.http``) and call control
(``hotline.calls.control_http``), merged into ``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import ref as _ref, error as _error, json_content as _json, path as _path, query as _query

from hotline.calls.legs import EMERGENCY_SERVICES
from hotline.records.call import Outcome
from hotline.exports.openapi import FORMAT as EXPORT_FORMAT, file_content
from hotline.spine.plan import target_types
from hotline.store import MAX_PAGE


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


_TARGET_KEY = {"type": "string", "minLength": 1, "maxLength": 48,
               "description": "a key of GET /api/transfer-targets: a parallel or convenience number, a "
                              "department's duty phone, dept-<id> (its phone registered here), an "
                              "emergency route (110, 119, 120, 12395 when configured), or another seat's id "
                              "(transfers only: a seat is never added to a three-way call)"}

_ACCEPTED = _json("accepted: what was sent to Asterisk (the outcome lands on the call record)",
                  _ref("CallControlResult"))
_REFUSED_CALL = {
    "403": _error("not-your-call: a seat user acts only on a call its seat is on (details.seats_on_call); "
                  "supervisors and admins on any. Every call-control action is audited"),
    "404": _error("no-such-target: the target is not in the directory (details.target); the call is untouched"),
    "409": _error("call-not-live (no live call answered by a seat) or call-state-conflict"),
    "422": _error("emergency-route-not-configured (details.service); the call is untouched"),
    "502": _error("asterisk-action-failed"),
    "503": _error("call-control-unavailable: no AMI connection"),
}

CONTROL_PATHS: dict[str, Any] = {
    "/api/calls/live": {"get": {
        "summary": "Conversations in progress (a seat client finds its call id here)",
        "operationId": "listLiveCalls",
        "responses": {"200": _json("the live calls, as partial records", _ref("LiveCallPage"))},
    }},
    "/api/transfer-targets": {"get": {
        "summary": "What a seat may transfer or conference a caller to",
        "operationId": "listTransferTargets",
        "responses": {"200": _json("the directory's transfer targets", _ref("TransferTargetPage")),
                      "503": _error("call-control-unavailable")},
    }},
    "/api/calls/{call_id}/transfer": {"post": {
        "summary": "Transfer the caller (blind: at once; attended: the seat consults the target first, "
                   "hanging up completes it)",
        "operationId": "transferCall",
        "parameters": [_path("call_id")],
        "requestBody": _body("TransferRequest"),
        "responses": {"202": _ACCEPTED,
                      "400": _error("invalid-request: bad body (details.field)"), **_REFUSED_CALL},
    }},
    "/api/calls/{call_id}/conference": {"post": {
        "summary": "Three-way call: add a department (or an emergency service) to the seat's call",
        "operationId": "addToConference",
        "parameters": [_path("call_id")],
        "requestBody": _body("ConferenceRequest"),
        "responses": {"202": _ACCEPTED,
                      "400": _error("invalid-request: bad body (details.field)"), **_REFUSED_CALL},
    }},
    "/api/calls/{call_id}/conference/{party}": {"delete": {
        "summary": "Leave the three-way call: seat (the caller stays with the department) or department",
        "operationId": "dropFromConference",
        "parameters": [_path("call_id"), _path("party", {"type": "string", "enum": ["seat", "department"]})],
        "responses": {"202": _ACCEPTED,
                      "400": _error("invalid-request: party must be seat or department"),
                      **{k: v for k, v in _REFUSED_CALL.items() if k not in ("404", "422")}},
    }},
    "/api/calls/{call_id}/emergency": {"post": {
        "summary": "Emergency: one-click transfer to the configured emergency route, or a three-way call "
                   "with it (unclear cases)",
        "operationId": "emergencyCall",
        "parameters": [_path("call_id")],
        "requestBody": _body("EmergencyRequest"),
        "responses": {"202": _ACCEPTED,
                      "400": _error("invalid-request: bad body, or service is not an emergency service"),
                      **{k: v for k, v in _REFUSED_CALL.items() if k != "404"}},
    }},
}

_TARGET = {
    "type": "object",
    "required": ["target", "type", "number", "department", "ring_seconds"],
    "properties": {
        "target": {"type": "string"},
        "type": {"type": "string",
                 "enum": [*target_types(), "other"]},
        "number": {"type": ["string", "null"], "description": "dialled through a trunk; null for dept-<id>"},
        "department": {"type": ["string", "null"]},
        "ring_seconds": {"type": "integer", "description": "how long a three-way leg rings"},
    },
    "additionalProperties": False,
}

CONTROL_SCHEMAS: dict[str, Any] = {
    "TransferRequest": {
        "type": "object", "required": ["target"], "additionalProperties": False,
        "properties": {"target": _TARGET_KEY,
                       "kind": {"type": "string", "enum": ["blind", "attended"], "default": "blind"}},
    },
    "ConferenceRequest": {
        "type": "object", "required": ["target"], "additionalProperties": False,
        "properties": {"target": _TARGET_KEY},
    },
    "EmergencyRequest": {
        "type": "object", "additionalProperties": False,
        "properties": {"service": {"type": "string", "default": "110",
                                   "description": f"one of {', '.join(EMERGENCY_SERVICES)} (or a configured "
                                                  "emergency route's number)"},
                       "mode": {"type": "string", "enum": ["transfer", "three_way"], "default": "transfer"}},
    },
    "CallControlResult": {
        "type": "object", "required": ["call_id", "action", "steps"],
        "properties": {
            "call_id": {"type": "string"},
            "action": {"type": "string", "enum": ["transfer", "conference_add", "conference_drop"]},
            "kind": {"type": "string", "enum": ["blind", "attended"]},
            "target": _ref("TransferTarget"),
            "party": {"type": "string", "enum": ["seat", "department"]},
            "conference": {"type": "string", "description": "the ConfBridge, hotline-<call id>"},
            "ring_seconds": {"type": "integer"},
            "emergency": {"type": "object", "properties": {"service": {"type": "string"},
                                                           "mode": {"type": "string"}}},
            "steps": {"type": "array", "items": {"type": "string"},
                      "description": "the AMI actions sent, e.g. \"Redirect PJSIP/trunk-carrier-00000012\""},
        },
        "additionalProperties": False,
    },
    "TransferTarget": _TARGET,
    "TransferTargetPage": {
        "type": "object", "required": ["items", "total"], "additionalProperties": False,
        "properties": {"items": {"type": "array", "items": _ref("TransferTarget")}, "total": {"type": "integer"}},
    },
    "LiveCall": {
        "type": "object",
        "description": "A call record so far (outcome in_progress; extra.legs as far as known) and, under "
                       "control, the channels call control acts on",
        "required": ["call_id", "caller_number", "arrived_at", "outcome"],
        "properties": {
            "call_id": {"type": "string"},
            "caller_number": {"type": "string"},
            "arrived_at": {"type": "string", "format": "date-time"},
            "seat": {"type": ["string", "null"]},
            "outcome": {"const": "in_progress"},
            "control": {
                "type": "object",
                "required": ["call_id", "caller_channel", "in_conference", "seat_channel", "conference_seats",
                             "legs"],
                "properties": {
                    "call_id": {"type": "string"},
                    "caller_channel": {"type": ["string", "null"]},
                    "in_conference": {"type": "boolean"},
                    "seat_channel": {"type": ["string", "null"], "description": "bridged with the caller"},
                    "conference_seats": {"type": "array", "items": {"type": "string"}},
                    "legs": {"type": "array", "items": {
                        "type": "object", "required": ["channel", "target", "answered"],
                        "properties": {"channel": {"type": "string"}, "target": {"type": "string"},
                                       "answered": {"type": "boolean"}}}},
                },
            },
        },
    },
    "LiveCallPage": {
        "type": "object", "required": ["items", "total"], "additionalProperties": False,
        "properties": {"items": {"type": "array", "items": _ref("LiveCall")}, "total": {"type": "integer"}},
    },
}

# What extra["legs"] holds on a call record (documented on CallRecord.extra).
LEGS_DESCRIPTION = (
    "legs: transfers and three-way calls, each {kind: blind|attended|three_way, target, number, target_type, "
    "department, channel, started_at, answered, answered_at, ended_at, ring_seconds, talk_seconds, outcome: "
    "answered|no_answer|busy|rejected|cancelled|failed|ringing, hangup_cause, left_first: caller|seat|target}; "
    "referral: the convenience partner's number the caller was referred to; emergency: the emergency "
    "service involved")

_NULLABLE_STR = {"type": ["string", "null"]}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_NULLABLE_SECONDS = {"type": ["number", "null"], "minimum": 0}

_CALL_RECORD: dict[str, Any] = {
    "type": "object",
    "description": "One conversation (Asterisk Linkedid) that entered through a trunk. Times are UTC.",
    "required": ["call_id", "dialled_number", "caller_number", "arrived_at", "outcome", "source", "extra"],
    "properties": {
        "call_id": {"type": "string", "description": "Asterisk Linkedid"},
        "dialled_number": {"type": "string"},
        "caller_number": {"type": "string"},
        "arrived_at": {"type": "string", "format": "date-time"},
        "legacy_mode": {**_NULLABLE_STR, "description": "merge mode of a legacy department number; "
                                                        "null for the hotline number itself"},
        "department": _NULLABLE_STR,
        "origin": {**_NULLABLE_STR, "description": "where the call was handed over from: \"110\" for "
                                                   "non-police calls 110 diverted to 12345; else null"},
        "trunk": _NULLABLE_STR,
        "queue": _NULLABLE_STR,
        "seat": _NULLABLE_STR,
        "queued_at": _NULLABLE_TIME,
        "answered_at": _NULLABLE_TIME,
        "ended_at": _NULLABLE_TIME,
        "wait_seconds": _NULLABLE_SECONDS,
        "talk_seconds": _NULLABLE_SECONDS,
        "outcome": {"type": "string", "enum": [o.value for o in Outcome]},
        "hangup_cause": {"type": ["integer", "null"], "description": "Q.850 cause code"},
        "hangup_cause_text": _NULLABLE_STR,
        "recording": {**_NULLABLE_STR, "description": "recording file name"},
        "source": {"type": "string", "description": "ami (live) or cel-reconcile"},
        "extra": {"type": "object", "description": "prompt: the notice played (merged-notice, "
                  "withdrawn-notice); answered_by: department (a parallel number answered by its "
                  "department; seat is null); overflow: why a parallel number's call went to the 12345 "
                  "seats (noanswer, busy, closed, congestion, chanunavail); hangup_source; queue_status; "
                  "seat_talk_seconds: the answering seat's own talk when it left a transfer or three-way call "
                  "before the caller (a seat's AHT counts it; absent: the seat's talk is talk_seconds)"},
    },
    "additionalProperties": False,
}

_CALL_PAGE = {
    "type": "object",
    "required": ["items", "total", "limit", "offset"],
    "properties": {"items": {"type": "array", "items": _ref("CallRecord")},
                   "total": {"type": "integer", "description": "matches on all pages"},
                   "limit": {"type": "integer"}, "offset": {"type": "integer"}},
    "additionalProperties": False,
}

_RECORD_PATHS: dict[str, Any] = {
    "/api/calls": {"get": {
        "summary": "Call records, newest arrival first",
        "operationId": "listCalls",
        "parameters": [
            _query("start", "arrived at or after (ISO 8601 with UTC offset; encode + as %2B)",
                   {"type": "string", "format": "date-time"}),
            _query("end", "arrived before (exclusive)", {"type": "string", "format": "date-time"}),
            _query("dialled_number", "the number the caller dialled", {"type": "string"}),
            _query("number", "the caller's number in any form (013812345678 finds +8613812345678: the "
                   "person key)", {"type": "string"}),
            _query("outcome", "call outcome", {"type": "string", "enum": [o.value for o in Outcome]}),
            _query("seat", "the seat that answered", {"type": "string"}),
            _query("queue", "the queue it waited in", {"type": "string"}),
            _query("work_order_id", "linked to this work order (an id or its beginning)", {"type": "string"}),
            _query("unit", "linked to an order held by this unit (主办)", {"type": "string"}),
            _query("subject", "linked to an order of this subject", {"type": "string"}),
            _query("state", "linked to an order in this lifecycle state", {"type": "string"}),
            EXPORT_FORMAT,
            _query("limit", "page size", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                                          "default": 50}),
            _query("offset", "records to skip", {"type": "integer", "minimum": 0, "default": 0}),
            _query("reason", "why full numbers are read: recorded in the audit log (or the header "
                             "X-Hotline-Reason); a seat sees only its own calls' numbers in full",
                   {"type": "string", "maxLength": 200}),
        ],
        "responses": {
            "200": {**_json("one page", _ref("CallPage")),
                    "content": {**_json("", _ref("CallPage"))["content"],
                                **file_content("every call of the search (format)")}},
            "400": _error("invalid-request: a query parameter is unknown or invalid (details.field)"),
            "503": _error("store-unavailable"),
        },
    }},
    "/api/calls/{call_id}": {"get": {
        "summary": "One call record",
        "operationId": "getCall",
        "parameters": [_path("call_id"), _query("reason", "why the full number is read (audit log)",
                                                {"type": "string", "maxLength": 200})],
        "responses": {"200": _json("the call record", _ref("CallRecord")),
                      "404": _error("no-such-call"),
                      "503": _error("store-unavailable")},
    }},
    "/api/calls/{call_id}/work-orders": {"get": {
        "summary": "The work orders filed about this call (each names its calls in call_ids: both directions)",
        "operationId": "getCallWorkOrders",
        "parameters": [_path("call_id")],
        "responses": {"200": _json("the call's orders, oldest first", {
            "type": "object", "required": ["call_id", "items"], "properties": {
                "call_id": {"type": "string"}, "items": {"type": "array", "items": {"type": "object"}}}}),
            "404": _error("no-such-call"), "503": _error("store-unavailable")},
    }},
}

_CALL_RECORD["properties"]["extra"]["description"] += "; " + LEGS_DESCRIPTION

SCHEMAS: dict[str, Any] = {"CallRecord": _CALL_RECORD, "CallPage": _CALL_PAGE, **CONTROL_SCHEMAS}
PATHS: dict[str, Any] = {**_RECORD_PATHS, **CONTROL_PATHS}
