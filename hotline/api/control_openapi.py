"""The OpenAPI part of call control (``control_http``), merged into ``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.api.oas import ref as _ref, error as _error, json_content as _json, path as _path

from hotline.calls.legs import EMERGENCY_SERVICES
from hotline.spine.plan import target_types


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


_TARGET_KEY = {"type": "string", "minLength": 1, "maxLength": 48,
               "description": "a key of GET /api/transfer-targets: a parallel or convenience number, a "
                              "department's duty phone, dept-<id> (its phone registered here), or an "
                              "emergency route (110, 119, 120, 12395 when configured)"}

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

PATHS: dict[str, Any] = {
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

SCHEMAS: dict[str, Any] = {
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
