"""The OpenAPI part of the audit log (``hotline.audit.http``),
merged into ``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import error as _error, json_content as _json, query as _query, ref as _ref

SCHEMAS: dict[str, Any] = {
    "AuditEntry": {"type": "object", "required": ["id", "at", "user", "role", "action", "target", "detail",
                                                  "status"], "properties": {
        "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}, "user": {"type": "string"},
        "role": {"type": "string", "enum": ["department", "unit", "seat", "supervisor", "admin", "none", "open"],
                 "description": "none: a failed login (action login.failed, user: the name tried); open: a "
                                "recording read on the open API (no users; action read.recording)"},
        "action": {"type": "string", "description": "e.g. seats.pause, calls.transfer, login.failed"},
        "target": {"type": ["string", "null"], "description": "e.g. seat:1001"},
        "detail": {"type": "object", "description": "the request body (secrets redacted) and query"},
        "status": {"type": "integer", "description": "the HTTP status the request got"}}},
    "AuditPage": {"type": "object", "required": ["items", "total"], "properties": {
        "items": {"type": "array", "items": _ref("AuditEntry")}, "total": {"type": "integer"}}},
}

PATHS: dict[str, Any] = {
    "/api/audit": {"get": {
        "summary": "The audit log, newest first (supervisor, admin)", "operationId": "listAudit",
        "parameters": [_query("limit", "at most (1-500, default 100)", {"type": "integer"}),
                       _query("user", "only this user", {"type": "string"}),
                       _query("action", "only this action (e.g. seats.pause)", {"type": "string"})],
        "responses": {"200": _json("audit rows", _ref("AuditPage")), "400": _error("invalid-request")}}},
}
