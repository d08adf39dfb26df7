"""The OpenAPI part of the seat, queue and live-state routes (``hotline.seats.http``), merged into
``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import error as _error, json_content as _json, path as _path, ref as _ref
from queue_manager.seats import SeatState

_SEAT_ID = _path("seat_id", {"type": "string", "pattern": "^[0-9]{3,8}$"})
_STR_NULL = {"type": ["string", "null"]}
_AMI = {"502": _error("asterisk-action-failed: Asterisk refused the action or did not answer (details.action)"),
        "503": _error("call-control-unavailable: no AMI connection")}
_SEAT_RESPONSES = {"200": _json("the seat after the change", _ref("Seat")), "404": _error("no-such-seat"), **_AMI}

SCHEMAS: dict[str, Any] = {
    "Seat": {"type": "object", "description": "A seat's live view; the caller's number masked (138****5678)",
             "additionalProperties": False,
             "required": ["seat_id", "name", "state", "since", "reason", "reason_name", "queues", "call_id",
                          "caller", "unanswered", "device", "county", "remote", "queue_states", "wrapup_until"],
             "properties": {
                 "seat_id": {"type": "string"}, "name": {"type": "string"},
                 "state": {"enum": [s.value for s in SeatState]},
                 "since": {"type": "number", "description": "epoch seconds the state began"},
                 "reason": {**_STR_NULL, "description": "pause reason code"},
                 "reason_name": _STR_NULL,
                 "queues": {"type": "array", "items": {"type": "string"}, "description": "queues it is in now"},
                 "call_id": _STR_NULL, "caller": _STR_NULL,
                 "unanswered": {"type": "integer", "description": "rings not answered in a row"},
                 "device": {"type": "string", "description": "Asterisk device state (not_inuse, inuse, ...)"},
                 "county": _STR_NULL, "remote": {"type": "boolean"},
                 "queue_states": {"type": "array", "description": "the seat in each of its queues as Asterisk has "
                                  "it: paused there (reason), resting there until (its last call in any queue: "
                                  "shared_lastcall)", "items": {
                                      "type": "object", "required": ["queue", "paused", "reason", "wrapup_until"],
                                      "properties": {"queue": {"type": "string"}, "paused": {"type": "boolean"},
                                                     "reason": _STR_NULL,
                                                     "wrapup_until": {"type": ["number", "null"],
                                                                      "description": "epoch seconds"}}}},
                 "wrapup_until": {"type": ["number", "null"],
                                  "description": "state wrapup: when a queue offers the seat calls again"}}},
    "SeatList": {"type": "object", "required": ["items", "pause_reasons"], "properties": {
        "items": {"type": "array", "items": _ref("Seat")},
        "pause_reasons": {"type": "array", "items": {
            "type": "object", "required": ["code", "name"],
            "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}}}},
    "Pause": {"type": "object", "additionalProperties": False, "required": ["reason"], "properties": {
        "reason": {"type": "string", "minLength": 1, "maxLength": 32,
                   "description": "a configured pause reason: its code (break) or its name (小休)"},
        "queue": {"type": ["string", "null"], "minLength": 1, "maxLength": 64,
                  "description": "pause in this one of the seat's queues only (default: all)"}}},
    "Unpause": {"type": "object", "additionalProperties": False, "properties": {
        "queue": {"type": ["string", "null"], "minLength": 1, "maxLength": 64,
                  "description": "unpause in this one of the seat's queues only (default: all)"}}},
    "Queue": {"type": "object", "additionalProperties": False,
              "required": ["name", "title", "waiting", "longest_wait_since", "entries", "logged_in", "available"],
              "properties": {
        "name": {"type": "string"}, "title": _STR_NULL, "waiting": {"type": "integer"},
        "longest_wait_since": {"type": ["number", "null"], "description": "epoch seconds"},
        "entries": {"type": "array", "items": {
            "type": "object", "required": ["call_id", "caller", "since", "position", "priority"],
            "properties": {"call_id": {"type": "string"}, "caller": _STR_NULL, "since": {"type": "number"},
                           "position": {"type": "integer"}, "priority": {"type": "integer"}}}},
        "logged_in": {"type": "integer"}, "available": {"type": "integer"}}},
    "QueueList": {"type": "object", "required": ["items"],
                  "properties": {"items": {"type": "array", "items": _ref("Queue")}}},
    "LiveSnapshot": {"type": "object", "required": ["ts", "live", "seats", "queues", "kpi"], "properties": {
        "ts": {"type": "number"},
        "live": {"type": "object", "description": "ok, backend (redis or memory), error"},
        "seats": {"type": "array", "items": _ref("Seat")},
        "queues": {"type": "array", "items": _ref("Queue")},
        "kpi": {"type": "object", "description": "today's KPIs, refreshed every 10 s"}}},
}

PATHS: dict[str, Any] = {
    "/api/seats": {"get": {
        "summary": "Every seat's live view and the configured pause reasons", "operationId": "listSeats",
        "responses": {"200": _json("the seats", _ref("SeatList"))}}},
    "/api/seats/{seat_id}": {"get": {
        "summary": "One seat's live view", "operationId": "getSeat", "parameters": [_SEAT_ID],
        "responses": {"200": _json("the seat", _ref("Seat")), "404": _error("no-such-seat")}}},
    "/api/seats/{seat_id}/login": {"post": {
        "summary": "Log the seat into its queues", "operationId": "loginSeat", "parameters": [_SEAT_ID],
        "responses": {**_SEAT_RESPONSES, "409": _error("seat-already-logged-in; nothing changes")}}},
    "/api/seats/{seat_id}/logout": {"post": {
        "summary": "Log the seat out of every queue", "operationId": "logoutSeat", "parameters": [_SEAT_ID],
        "responses": {**_SEAT_RESPONSES,
                      "409": _error("seat-not-logged-in or seat-busy (on a call); nothing changes")}}},
    "/api/seats/{seat_id}/pause": {"post": {
        "summary": "Pause the seat with a configured reason", "operationId": "pauseSeat", "parameters": [_SEAT_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Pause")}}},
        "responses": {**_SEAT_RESPONSES, "400": _error("invalid-request (details.field)"),
                      "409": _error("seat-not-logged-in or seat-not-in-queue (the queue named); nothing changes"),
                      "422": _error("unknown-pause-reason (details.configured)")}}},
    "/api/seats/{seat_id}/unpause": {"post": {
        "summary": "End the seat's pause (in every queue, or in the one the body names)",
        "operationId": "unpauseSeat", "parameters": [_SEAT_ID],
        "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("Unpause")}}},
        "responses": {**_SEAT_RESPONSES, "400": _error("invalid-request (details.field)"),
                      "409": _error("seat-not-paused (there) or seat-not-in-queue; nothing changes")}}},
    "/api/queues": {"get": {
        "summary": "Every queue: waiting callers (masked), longest wait, logged-in and available seats",
        "operationId": "listQueues", "responses": {"200": _json("the queues", _ref("QueueList"))}}},
    "/api/queues/{queue}": {"get": {
        "summary": "One queue", "operationId": "getQueue", "parameters": [_path("queue")],
        "responses": {"200": _json("the queue", _ref("Queue")), "404": _error("no-such-queue")}}},
    "/api/live": {"get": {
        "summary": "The live snapshot: seats, queues, today's KPIs and the live backend's health",
        "operationId": "getLive", "responses": {"200": _json("the snapshot", _ref("LiveSnapshot"))}}},
}
