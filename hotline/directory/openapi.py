"""The OpenAPI part of the directory routes (``hotline.directory.http``), merged into
``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.config.site import NumberMode
from hotline.http.oas import error as _error, json_content as _json, path as _path, query as _query, ref as _ref

_NULLABLE_STR = {"type": ["string", "null"]}
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

SCHEMAS: dict[str, Any] = {
    "DirectoryDepartment": _DIRECTORY_DEPARTMENT,
    "DirectoryNumber": _DIRECTORY_NUMBER,
    "DirectoryEntry": _DIRECTORY_ENTRY,
    "DirectoryPage": _DIRECTORY_PAGE,
}

PATHS: dict[str, Any] = {
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
}
