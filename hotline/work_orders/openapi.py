"""The OpenAPI part of the work-order routes (``hotline.work_orders.http``), merged into
``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import error as _error, json_content as _json, path as _path, ref as _ref
from hotline.records.work_order import Category, Status
from hotline.work_orders.schemas import MAX_CALLS

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

SCHEMAS: dict[str, Any] = {"WorkOrder": _WORK_ORDER, "WorkOrderCreate": _WORK_ORDER_CREATE}

PATHS: dict[str, Any] = {
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
}
