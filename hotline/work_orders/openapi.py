"""The OpenAPI part of the work-order routes (``hotline.work_orders.http``), merged into
``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import error as _error, json_content as _json, path as _path, query as _query, ref as _ref
from hotline.exports.openapi import FORMAT as EXPORT_FORMAT, file_content
from hotline.records.work_order import Category, Status
from hotline.work_orders.lifecycle import SUPERVISION_KINDS, TABLE, Rating, Row, State, Urgency
from hotline.store.store import MAX_PAGE
from hotline.work_orders.reports import PERIODS
from hotline.work_orders.schemas import MAX_CALLS

_WORK_ORDER_FIELDS: dict[str, dict[str, Any]] = {
    "title": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": {"type": "string", "minLength": 1, "maxLength": 4000},
    "category": {"type": "string", "enum": [c.value for c in Category],
                 "description": "咨询 consult, 求助 help, 投诉 complaint, 举报 report, 建议 suggestion, "
                                "批评 criticism, 表扬 praise"},
    "created_by": {"type": "string", "pattern": "^[0-9]{3,8}$", "description": "seat id"},
    "caller_confidential": {"type": "boolean", "description": "keep the caller's identity confidential "
                            "(GB/T 33358); defaults to true for complaint and report, false otherwise"},
    "no_revisit": {"type": "boolean", "description": "不需回访: the caller asked not to be called back about "
                   "the order (no 回访 call is placed; its task is skipped, reason no_revisit); default false"},
}

_WORK_ORDER: dict[str, Any] = {
    "type": "object",
    "required": ["id", "title", "description", "category", "status", "created_by",
                 "caller_confidential", "no_revisit", "call_ids", "created_at", "updated_at"],
    "properties": {
        "id": {"type": "string", "pattern": "^WO-[0-9]{8}-[0-9]{6,}$",
               "description": "WO-<site local date>-<daily sequence>, e.g. WO-20261123-000042"},
        **_WORK_ORDER_FIELDS,
        "status": {"type": "string", "enum": [s.value for s in Status]},
        "call_ids": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                     "description": "linked calls, in arrival order"},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "knowledge": {"type": "array", "items": {"$ref": "#/components/schemas/KnowledgeLink"},
                      "description": "the order read alone, when there are any: knowledge-base entries "
                                     "used to answer its call (POST /api/work-orders/{id}/knowledge), each at the "
                                     "version read"},
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
        "urgency": {"type": ["string", "null"], "enum": [*[u.value for u in Urgency], None],
                    "description": "any of urgency, subject, area given: the order is filed and enters its "
                                   "lifecycle in one transaction (as POST .../start would; urgency defaults to "
                                   "normal); refused, nothing is filed. An emergency item is reported to the "
                                   "duty office (orders.duty_office) at once"},
        "subject": {"type": ["string", "null"], "pattern": "^[a-z][a-z0-9_-]{0,31}$",
                    "description": "orders.subjects[].id (starts the order)"},
        "area": {"type": ["string", "null"], "pattern": "^[a-z][a-z0-9_-]{0,31}$",
                 "description": "orders.areas[].id (starts the order)"},
    },
    "additionalProperties": False,
}

_WORK_ORDER_FILED = {
    **_WORK_ORDER,
    "properties": {**_WORK_ORDER["properties"],
                   "events": {"type": "array", "items": _ref("OrderEvent"),
                              "description": "with lifecycle fields: the events recorded (create, and "
                                             "report_duty for an emergency item)"}},
}

_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_TEXT = {"type": "string", "maxLength": 2000}
_SLUG = {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,31}$"}

_ACTION = {
    "type": "object",
    "description": "the fields of one lifecycle action; each action requires those of its row of the "
                   "lifecycle table (README), a missing one is missing-order-field naming it",
    "properties": {
        "unit": {**_SLUG, "description": "dispatch, redispatch: the 主办 unit (orders.units[].id)"},
        "co_units": {"type": "array", "items": _SLUG, "maxItems": 20, "description": "协办 units"},
        "answer": {**_TEXT, "description": "answer: 直接答复"},
        "reason": {**_TEXT, "description": "reject (不予受理), request-extension, refuse-extension, send-back"},
        "return_reason": {**_TEXT, "description": "return: 回退理由"},
        "leader_opinion": {**_TEXT, "description": "return: 领导意见"},
        "suggestion": {**_TEXT, "description": "return: 建议"},
        "contact_phone": {"type": "string", "pattern": "^\\+?[0-9-]{3,24}$", "description": "return: 联系电话"},
        "days": {"type": "integer", "minimum": 1, "maximum": 30, "description": "request-extension: working days"},
        "result": {**_TEXT, "description": "reply: the result"},
        "leader_approval": {**_TEXT, "description": "reply on a key item: the leader's approval (批办)"},
        "rating": {"type": "string", "enum": [r.value for r in Rating],
                   "description": "evaluate: 满意, 基本满意, 不满意 (reopens: 重办)"},
        "kind": {"type": "string", "enum": list(SUPERVISION_KINDS), "description": "supervise: 联合/现场督办"},
        "note": {**_TEXT, "description": "supervise: what was done"},
        "opinion": {**_TEXT, "description": "contribute: a 协办 unit's 协办意见 to the 主办 unit"},
    },
    "additionalProperties": False,
}

_EVENT = {
    "type": "object",
    "required": ["action", "actor", "role", "at", "to_state", "fields"],
    "properties": {
        "id": {"type": "integer"}, "order_id": {"type": "string"},
        "action": {"type": "string"}, "actor": {"type": "string"},
        "role": {"type": "string", "enum": ["seat", "supervisor", "admin", "unit", "system"]},
        "unit": {"type": ["string", "null"]}, "at": {"type": "string", "format": "date-time"},
        "from_state": {"type": ["string", "null"], "enum": [*[s.value for s in State], None]},
        "to_state": {"type": "string", "enum": [s.value for s in State]},
        "fields": {"type": "object"},
    },
}

_LIFECYCLE = {
    "type": "object",
    "required": ["order", "lifecycle", "events"],
    "properties": {
        "order": {"type": "object", "description": "the work order; for a unit user without call_ids, "
                  "and with caller_number only on a non-confidential order (masked unless "
                  "orders.units_see_numbers; a full one is audited)"},
        "lifecycle": {"type": "object", "properties": {
            "state": {"type": "string", "enum": [s.value for s in State]},
            "urgency": {"type": "string", "enum": [u.value for u in Urgency]},
            "unit": {"type": ["string", "null"]}, "co_units": {"type": "array", "items": {"type": "string"}},
            "dispatch_due": _NULLABLE_TIME, "dispatched_at": _NULLABLE_TIME, "return_due": _NULLABLE_TIME,
            "due": _NULLABLE_TIME, "redo_count": {"type": "integer"}}},
        "events": {"type": "array", "items": _ref("OrderEvent"), "description": "the audit trail, oldest first"},
    },
}

_RATIO = {"type": "object", "properties": {
    "numerator": {"type": "integer"}, "denominator": {"type": "integer"},
    "value": {"type": ["number", "null"], "description": "null when the denominator is 0"},
    "empty": {"type": "boolean"}}}
_KPIS = {"type": "object", "properties": {
    "counts": {"type": "object"}, "completion_rate": _RATIO, "on_time_rate": _RATIO,
    "satisfaction_rate": _RATIO, "return_rate": _RATIO, "redo_rate": _RATIO}}

SCHEMAS: dict[str, Any] = {
    "WorkOrder": _WORK_ORDER, "WorkOrderFiled": _WORK_ORDER_FILED, "WorkOrderCreate": _WORK_ORDER_CREATE,
    "OrderAction": _ACTION,
    "OrderEvent": _EVENT, "OrderLifecycle": _LIFECYCLE, "OrderKpis": _KPIS,
    "OrderStart": {"type": "object", "additionalProperties": False, "properties": {
        "urgency": {"type": "string", "enum": [u.value for u in Urgency], "default": "normal"},
        "subject": {**_SLUG, "description": "orders.subjects[].id"},
        "area": {**_SLUG, "description": "orders.areas[].id"}}},
}

_ACTION_ERRORS = {
    "400": _error("invalid-request, missing-order-field (details.field)"),
    "403": _error("not-your-order: a unit user on another unit's order (contribute: a unit that is not "
                  "a 协办 unit of the order)"),
    "404": _error("no-such-work-order"),
    "409": _error("illegal-transition (not from this state, not for this role, return window over), "
                  "order-closed"),
    "422": _error("date-outside-calendar: add the year to orders.calendar"),
    "503": _error("store-unavailable"),
}


def _action_path(row: Row) -> dict[str, Any]:
    return {"post": {
        "summary": f"{row.action}: {row.note} ({', '.join(sorted(row.who))}; requires "
                   f"{', '.join(row.required) or 'nothing'})",
        "operationId": "order" + "".join(w.capitalize() for w in row.action.split("_")),
        "parameters": [_path("work_order_id")],
        "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("OrderAction")}}},
        "responses": {"200": _json("the event recorded", _ref("OrderEvent")), **_ACTION_ERRORS},
    }}

PATHS: dict[str, Any] = {
    "/api/work-orders": {"post": {
        "summary": "File a work order about one or more calls (or a voice message's call); with urgency, "
                   "subject or area it also enters its lifecycle, in one transaction",
        "operationId": "createWorkOrder",
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": _ref("WorkOrderCreate")}}},
        "responses": {
            "201": {**_json("the new work order (status open)", _ref("WorkOrderFiled")),
                    "headers": {"Location": {"schema": {"type": "string"},
                                             "description": "URL of the new work order"}}},
            "400": _error("invalid-request: bad body, unknown field, unknown call id, subject or area "
                          "(details.field)"),
            "413": _error("request-too-large"),
            "422": _error("date-outside-calendar (with lifecycle fields): add the year to orders.calendar"),
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
    }, "patch": {
        "summary": "Change a filed order's fields: no_revisit (不需回访, the caller asked for no 回访 call)",
        "operationId": "updateWorkOrder",
        "parameters": [_path("work_order_id")],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "minProperties": 1, "additionalProperties": False,
            "properties": {"no_revisit": _WORK_ORDER_FIELDS["no_revisit"]}}}}},
        "responses": {"200": _json("the work order", _ref("WorkOrder")),
                      "400": _error("invalid-request"),
                      "404": _error("no-such-work-order"),
                      "503": _error("store-unavailable")},
    }},
}

_API_ROWS = [r for r in TABLE if r.action not in ("reopen", "warn", "flag_overdue")]
PATHS.update({f"/api/work-orders/{{work_order_id}}/{r.action.replace('_', '-')}": _action_path(r)
              for r in _API_ROWS})
PATHS["/api/work-orders/{work_order_id}/start"] = {"post": {
    "summary": "Enter a filed order into the lifecycle (created): urgency, subject, area; an emergency "
               "item is reported to the duty office at once",
    "operationId": "startWorkOrder", "parameters": [_path("work_order_id")],
    "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("OrderStart")}}},
    "responses": {"201": _json("the events recorded", {"type": "object"}), **_ACTION_ERRORS}}}
PATHS["/api/work-orders/{work_order_id}/lifecycle"] = {"get": {
    "summary": "The order, where it stands in its lifecycle (deadlines) and its event trail; a unit "
               "user only for an order its unit holds or helps with",
    "operationId": "getWorkOrderLifecycle", "parameters": [_path("work_order_id")],
    "responses": {"200": _json("the order with its trail", _ref("OrderLifecycle")),
                  "403": _error("not-your-order"), "404": _error("no-such-work-order"),
                  "503": _error("store-unavailable")}}}
PATHS["/api/order-kpis"] = {"get": {
    "summary": "Order KPIs (办结率, 按期办结率, 满意率, 回退率, 重办率) overall and per dimension",
    "operationId": "getOrderKpis",
    "parameters": [_query("dimension", "unit, subject, area, day or month (default unit)",
                          {"type": "string", "enum": ["unit", "subject", "area", "day", "month"]})],
    "responses": {"200": _json("total and groups", {"type": "object", "properties": {
        "dimension": {"type": "string"}, "total": _ref("OrderKpis"),
        "groups": {"type": "object", "additionalProperties": _ref("OrderKpis")}}}),
        "400": _error("invalid-request: unknown dimension"), "503": _error("store-unavailable")}}}

_ORDER_ITEM = {"type": "object", "description": "the work order (a unit user: without call_ids) and where it stands",
               "required": ["id", "state", "urgency", "unit", "co_units", "due", "alert"], "properties": {
    "state": {"type": "string", "enum": [s.value for s in State]},
    "urgency": {"type": "string", "enum": [u.value for u in Urgency]},
    "unit": {"type": ["string", "null"], "description": "主办"},
    "co_units": {"type": "array", "items": {"type": "string"}, "description": "协办"},
    "dispatch_due": _NULLABLE_TIME, "return_due": _NULLABLE_TIME, "due": _NULLABLE_TIME,
    "alert": {"type": ["string", "null"], "enum": ["warn", "flag_overdue", None],
              "description": "督办: warned or overdue on its running deadline (the sweep's events)"},
    "party": {"type": "string", "enum": ["main", "co"],
              "description": "a unit user's search only: its unit holds the order (主办) or helps (协办)"}}}
_ORDER_PAGE = {"type": "object", "required": ["items", "total"], "properties": {
    "items": {"type": "array", "items": _ORDER_ITEM}, "total": {"type": "integer"}}}
PATHS["/api/order-reports"] = {"get": {
    "summary": "The daily or monthly order report per unit (日报, 月报): counts and the five KPIs, "
               "as JSON, CSV or XLSX",
    "operationId": "getOrderReport",
    "parameters": [
        _query("period", "day (default) or month", {"type": "string", "enum": list(PERIODS)}),
        {**_query("date", "YYYY-MM-DD for a day, YYYY-MM for a month (site time)", {"type": "string"}),
         "required": True},
        _query("format", "json (default), csv or xlsx", {"type": "string", "enum": ["json", "csv", "xlsx"]}),
    ],
    "responses": {"200": {**_json("one row per unit and the total (合计); rates in %, empty when nothing was counted", {
        "type": "object", "required": ["period", "date", "columns", "rows"], "properties": {
            "period": {"type": "string"}, "date": {"type": "string"},
            "columns": {"type": "array", "items": {"type": "string"}},
            "rows": {"type": "array", "items": {"type": "array"}}}}),
        "content": {**_json("", {"type": "object"})["content"], **file_content("the report (format)")}},
        "400": _error("invalid-request: period, date or format (details.field)"),
        "503": _error("store-unavailable")}}}

PATHS["/api/work-orders"]["get"] = {
    "summary": "Search work orders (newest first), each with its state, urgency, units, deadlines and 督办 "
               "flag (alert); a unit user gets the orders its unit holds (party main, 主办) or helps with "
               "(party co, 协办) only, without call ids",
    "operationId": "searchWorkOrders",
    "parameters": [
        _query("id", "an order id or its beginning (WO-20261201-)", {"type": "string"}),
        _query("number", "a caller number of one of its calls, in any form (the person key; not for unit "
               "users)", {"type": "string"}),
        _query("unit", "the 主办 unit holding it (a unit user: its own, 主办 only)", {"type": "string"}),
        _query("subject", "orders.subjects[].id", {"type": "string"}),
        _query("area", "orders.areas[].id", {"type": "string"}),
        _query("state", "lifecycle state", {"type": "string", "enum": [s.value for s in State]}),
        _query("start", "created at or after (ISO 8601 with offset)", {"type": "string", "format": "date-time"}),
        _query("end", "created before", {"type": "string", "format": "date-time"}),
        _query("limit", "page size (default 50)", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
        _query("offset", "items to skip", {"type": "integer", "minimum": 0}),
        EXPORT_FORMAT,
    ],
    "responses": {"200": {**_json("a page of orders", _ORDER_PAGE),
                          "content": {**_json("", _ORDER_PAGE)["content"],
                                      **file_content("every order of the search (format)")}},
        "400": _error("invalid-request (details.field)"), "403": _error("not-your-order: another unit"),
        "503": _error("store-unavailable")},
}
