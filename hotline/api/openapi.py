"""The OpenAPI 3.1 description of the HTTP API, served at ``/openapi.json``.

Written by hand so it reads like documentation; ``tests/unit/test_api_openapi.py``
checks that it lists exactly the routes the app serves and that real responses
match its schemas.
"""

from __future__ import annotations

from typing import Any

from hotline.api.oas import ref as _ref, error as _error, json_content as _json, query as _query, path as _path

from hotline.api import control_openapi, wallboard_openapi
from hotline.callbacks import openapi as callbacks_openapi
from hotline.calls.model import Outcome
from hotline.config.site import NumberMode
from hotline.store import MAX_PAGE
from hotline.work_orders.model import Category, Status
from hotline.work_orders.schemas import MAX_CALLS


_NULLABLE_STR = {"type": ["string", "null"]}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_NULLABLE_SECONDS = {"type": ["number", "null"], "minimum": 0}

_CALL_RECORD = {
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
                  "seats (noanswer, busy, closed, congestion, chanunavail); hangup_source; queue_status"},
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

_WORK_ORDER_FIELDS: dict[str, dict[str, Any]] = {
    "title": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": {"type": "string", "minLength": 1, "maxLength": 4000},
    "category": {"type": "string", "enum": [c.value for c in Category],
                 "description": "咨询 consult, 求助 help, 投诉 complaint, 举报 report, 建议 suggestion"},
    "created_by": {"type": "string", "pattern": "^[0-9]{3,8}$", "description": "seat id"},
    "caller_confidential": {"type": "boolean", "description": "keep the caller's identity confidential "
                            "(GB/T 33358); defaults to true for complaint and report, false otherwise"},
}

_WORK_ORDER = {
    "type": "object",
    "required": ["id", "title", "description", "category", "status", "created_by",
                 "caller_confidential", "call_ids", "created_at", "updated_at"],
    "properties": {
        "id": {"type": "string", "pattern": "^WO-[0-9]{8}-[0-9]{6,}$",
               "description": "WO-<site local date>-<daily sequence>, e.g. WO-20261123-000042"},
        **_WORK_ORDER_FIELDS,
        "status": {"type": "string", "enum": [s.value for s in Status]},
        "call_ids": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                     "description": "linked calls, in arrival order"},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
    "additionalProperties": False,
}

_WORK_ORDER_CREATE = {
    "type": "object",
    "required": ["call_ids", "title", "description", "category", "created_by"],
    "properties": {
        "call_ids": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 64},
                     "minItems": 1, "maxItems": MAX_CALLS, "description": "existing call ids, each once"},
        **_WORK_ORDER_FIELDS,
        "caller_confidential": {**_WORK_ORDER_FIELDS["caller_confidential"], "type": ["boolean", "null"]},
    },
    "additionalProperties": False,
}

_HHMM = {"type": "string", "pattern": "^[0-9]{2}:[0-9]{2}$"}
_DIRECTORY_DEPARTMENT = {
    "type": "object",
    "description": "A department: its duty phone, office hours, queue on 12345 and legacy numbers.",
    "required": ["kind", "id", "name", "duty_phone", "hours", "queue", "phone", "numbers"],
    "properties": {
        "kind": {"const": "department"},
        "id": {"type": "string"},
        "name": {"type": "string"},
        "duty_phone": {**_NULLABLE_STR, "description": "reached through a trunk"},
        "hours": {"type": ["object", "null"], "description": "null: answers 7x24",
                  "required": ["days", "start", "end"], "additionalProperties": False,
                  "properties": {"days": {"type": "string", "enum": ["workdays", "daily"],
                                          "description": "workdays: the Chinese working-day calendar "
                                          "(public holidays off, make-up working days on)"},
                                 "start": _HHMM, "end": _HHMM}},
        "queue": {"type": "string", "description": "the 12345 queue its calls join"},
        "phone": {**_NULLABLE_STR, "description": "its own phone registered on the platform (dept-<id>)"},
        "numbers": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": False,
}

_DIRECTORY_NUMBER = {
    "type": "object",
    "description": "A legacy number (merged, parallel, convenience, emergency) or an emergency route.",
    "required": ["kind", "number", "mode", "hotline", "department", "department_name", "queue", "note",
                 "ring_seconds", "transition"],
    "properties": {
        "kind": {"const": "number"},
        "number": {"type": "string"},
        "mode": {"type": "string", "enum": [m.value for m in NumberMode]},
        "hotline": {**_NULLABLE_STR, "description": "the hotline's name"},
        "department": _NULLABLE_STR,
        "department_name": _NULLABLE_STR,
        "queue": {**_NULLABLE_STR, "description": "where 12345 answers it (merged and parallel numbers)"},
        "note": _NULLABLE_STR,
        "ring_seconds": {"type": ["integer", "null"],
                         "description": "parallel numbers: how long the department's phone rings before "
                                        "12345 takes the call"},
        "transition": {"type": ["object", "null"], "additionalProperties": False,
                       "required": ["prompt", "start", "end", "after"],
                       "properties": {"prompt": {"type": "boolean"},
                                      "start": {"type": ["string", "null"], "format": "date"},
                                      "end": {"type": ["string", "null"], "format": "date"},
                                      "after": {"type": "string",
                                                "enum": ["keep", "notice_then_hotline", "notice_then_end"]}}},
    },
    "additionalProperties": False,
}

_DIRECTORY_ENTRY = {"oneOf": [_ref("DirectoryDepartment"), _ref("DirectoryNumber")]}

_DIRECTORY_PAGE = {
    "type": "object",
    "required": ["items", "total", "limit", "offset"],
    "properties": {"items": {"type": "array", "items": _ref("DirectoryEntry")},
                   "total": {"type": "integer", "description": "matches on all pages"},
                   "limit": {"type": "integer"}, "offset": {"type": "integer"}},
    "additionalProperties": False,
}

_ERROR = {
    "type": "object",
    "required": ["error_id", "message", "details"],
    "properties": {
        "error_id": {"type": "string", "description": "stable kebab-case id to match on, e.g. invalid-request, "
                     "no-such-call, no-such-work-order, no-such-entry, store-unavailable, no-such-route, internal-error"},
        "message": {"type": "string", "description": "for humans; may change"},
        "details": {"type": "object", "description": "context, e.g. field and value of an invalid-request"},
    },
}

_STATUS = {
    "type": "object",
    "description": "one entry per component (ami, fastagi, database, ...)",
    "required": ["database"],
    "additionalProperties": {
        "type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}},
    },
}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "12345 hotline core API",
        "version": "1",
        "description": "Call records and work orders of the 12345 government service hotline. "
                       "Every error is an Error object with a stable error_id.",
    },
    "paths": {
        "/status": {"get": {
            "summary": "Health of every component",
            "operationId": "getStatus",
            "responses": {"200": _json("all components ok", _ref("Status")),
                          "503": _json("at least one component is not ok", _ref("Status"))},
        }},
        "/openapi.json": {"get": {
            "summary": "This document",
            "operationId": "getOpenApi",
            "responses": {"200": _json("OpenAPI 3.1 document", {"type": "object"})},
        }},
        "/api/calls": {"get": {
            "summary": "Call records, newest arrival first",
            "operationId": "listCalls",
            "parameters": [
                _query("start", "arrived at or after (ISO 8601 with UTC offset; encode + as %2B)",
                       {"type": "string", "format": "date-time"}),
                _query("end", "arrived before (exclusive)", {"type": "string", "format": "date-time"}),
                _query("dialled_number", "the number the caller dialled", {"type": "string"}),
                _query("outcome", "call outcome", {"type": "string", "enum": [o.value for o in Outcome]}),
                _query("limit", "page size", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                                              "default": 50}),
                _query("offset", "records to skip", {"type": "integer", "minimum": 0, "default": 0}),
                _query("reason", "why full numbers are read: recorded in the audit log (or the header "
                                 "X-Hotline-Reason); a seat sees only its own calls' numbers in full",
                       {"type": "string", "maxLength": 200}),
            ],
            "responses": {
                "200": _json("one page", _ref("CallPage")),
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
        "/api/work-orders": {"post": {
            "summary": "File a work order about one or more calls",
            "operationId": "createWorkOrder",
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": _ref("WorkOrderCreate")}}},
            "responses": {
                "201": {**_json("the new work order (status open)", _ref("WorkOrder")),
                        "headers": {"Location": {"schema": {"type": "string"},
                                                 "description": "URL of the new work order"}}},
                "400": _error("invalid-request: bad body, unknown field or unknown call id (details.field)"),
                "413": _error("request-too-large"),
                "503": _error("store-unavailable"),
            },
        }},
        "/api/work-orders/{work_order_id}": {"get": {
            "summary": "One work order with its linked call ids",
            "operationId": "getWorkOrder",
            "parameters": [_path("work_order_id")],
            "responses": {"200": _json("the work order", _ref("WorkOrder")),
                          "404": _error("no-such-work-order"),
                          "503": _error("store-unavailable")},
        }},
        "/api/directory": {"get": {
            "summary": "The directory: departments and their numbers, searched by name or number",
            "operationId": "listDirectory",
            "parameters": [
                _query("q", "part of a (Chinese) name, a department id or part of a number",
                       {"type": "string", "maxLength": 40}),
                _query("mode", "department: departments only; a number mode: numbers of that mode only",
                       {"type": "string", "enum": ["department", *(m.value for m in NumberMode)]}),
                _query("limit", "page size", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
                _query("offset", "entries to skip", {"type": "integer", "minimum": 0, "default": 0}),
            ],
            "responses": {
                "200": _json("one page: departments first, then numbers, in site config order",
                             _ref("DirectoryPage")),
                "400": _error("invalid-request: a query parameter is unknown or invalid (details.field)"),
            },
        }},
        "/api/directory/{number}": {"get": {
            "summary": "The entry of a number: a legacy number, an emergency route or a department's duty phone",
            "operationId": "getDirectoryEntry",
            "parameters": [_path("number")],
            "responses": {"200": _json("the entry", _ref("DirectoryEntry")),
                          "400": _error("invalid-request: not a number (details.field = number)"),
                          "404": _error("no-such-entry")},
        }},
    },
    "components": {
        "schemas": {
            "CallRecord": _CALL_RECORD,
            "CallPage": _CALL_PAGE,
            "WorkOrder": _WORK_ORDER,
            "WorkOrderCreate": _WORK_ORDER_CREATE,
            "DirectoryDepartment": _DIRECTORY_DEPARTMENT,
            "DirectoryNumber": _DIRECTORY_NUMBER,
            "DirectoryEntry": _DIRECTORY_ENTRY,
            "DirectoryPage": _DIRECTORY_PAGE,
            "Error": _ERROR,
            "Status": _STATUS,
        },
    },
}

# Call control (transfers, three-way calls, emergencies): its own module, merged here.
OPENAPI["paths"].update(control_openapi.PATHS)
OPENAPI["components"]["schemas"].update(control_openapi.SCHEMAS)
_extra = OPENAPI["components"]["schemas"]["CallRecord"]["properties"]["extra"]
_extra["description"] = "; ".join(filter(None, [_extra.get("description"), control_openapi.LEGS_DESCRIPTION]))

# KPIs (hotline.metrics): the report and the Prometheus exposition.
_KPI_ROW = {"type": "object", "properties": {
    "group": {"type": ["string", "null"]}, "interval_start": {"type": ["string", "null"]},
    **{k: {"type": "integer"} for k in ("offered", "answered", "answered_in_sl", "abandoned", "short_abandons")},
    **{k: {"type": ["number", "null"]} for k in ("answer_rate", "answer_rate_15s", "abandon_rate", "asa_seconds",
                                                "aht_seconds")}}}
OPENAPI["components"]["schemas"]["KpiReport"] = {"type": "object", "properties": {
    "start": {"type": "string"}, "end": {"type": "string"}, "by": {"type": "string"},
    "interval": {"type": ["string", "null"]}, "rows": {"type": "array", "items": _KPI_ROW},
    "rolling_24h": {"type": "object"}}}
OPENAPI["paths"]["/api/metrics"] = {"get": {
    "summary": "KPIs: answer rate (接通率), 15 s answer rate, abandons, ASA, AHT (formulas in the README)",
    "operationId": "getMetrics",
    "parameters": [
        _query("start", "from (ISO 8601 with UTC offset); default 24 h ago", {"type": "string", "format": "date-time"}),
        _query("end", "to (exclusive); default now", {"type": "string", "format": "date-time"}),
        _query("by", "group by", {"type": "string", "enum": ["all", "queue", "seat", "dialled_number"]}),
        _query("interval", "and by interval", {"type": "string", "enum": ["15min", "hour", "day"]}),
    ],
    "responses": {"200": _json("KPI rows and the rolling 24 h answer rate", _ref("KpiReport")),
                  "400": _error("invalid-request (details.field)")},
}}
OPENAPI["paths"]["/metrics"] = {"get": {
    "summary": "Prometheus text exposition (prometheus_client): call counters and histograms, live gauges; "
               "ratios are PromQL (README)",
    "operationId": "getPrometheusMetrics",
    "responses": {"200": {"description": "the Prometheus text format",
                          "content": {"text/plain": {"schema": {"type": "string"}}}}},
}}

# Callbacks (issue #3): abandoned calls and callback tasks.
OPENAPI["paths"].update(callbacks_openapi.PATHS)
OPENAPI["components"]["schemas"].update(callbacks_openapi.SCHEMAS)

# Login, roles, the audit log, listen/whisper/barge and the wallboard: their own module, merged here.
OPENAPI["paths"].update(wallboard_openapi.PATHS)
OPENAPI["components"]["schemas"].update(wallboard_openapi.SCHEMAS)
