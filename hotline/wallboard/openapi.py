"""The OpenAPI part of login, roles, the audit log, listen/whisper/barge and the wallboard,
merged into ``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import ref as _ref, error as _error, json_content as _json, query as _query


_SEAT_ID = {"name": "seat_id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9]{3,8}$"}}
_ROLE = {"type": "string", "enum": ["department", "seat", "supervisor", "admin"]}
_AUTH = {"401": _error("auth-required: no valid token (Authorization: Bearer, or the hotline_token cookie)"),
         "403": _error("forbidden: details.needed names the role needed")}

SCHEMAS: dict[str, Any] = {
    "Login": {"type": "object", "additionalProperties": False, "required": ["name", "password"],
              "properties": {"name": {"type": "string"}, "password": {"type": "string", "format": "password"}}},
    "Session": {"type": "object", "required": ["token", "role", "seat", "expires"], "properties": {
        "token": {"type": "string", "description": "send as Authorization: Bearer <token>; also set as the "
                                                   "HttpOnly SameSite=Strict cookie hotline_token"},
        "name": {"type": "string"}, "role": _ROLE, "seat": {"type": ["string", "null"]},
        "expires": {"type": "integer", "description": "epoch seconds"}}},
    "Me": {"type": "object", "required": ["name", "role", "seat", "open"], "properties": {
        "name": {"type": ["string", "null"]}, "role": _ROLE, "seat": {"type": ["string", "null"]},
        "expires": {"type": ["integer", "null"]},
        "open": {"type": "boolean", "description": "true when no users are configured (the API is open)"}}},
    "AuditEntry": {"type": "object", "required": ["id", "at", "user", "role", "action", "target", "detail",
                                                  "status"], "properties": {
        "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}, "user": {"type": "string"},
        "role": {"type": "string", "enum": ["department", "seat", "supervisor", "admin", "none"],
                 "description": "none: a failed login (action login.failed, user: the name tried)"},
        "action": {"type": "string", "description": "e.g. seats.pause, calls.transfer, login.failed"},
        "target": {"type": ["string", "null"], "description": "e.g. seat:1001"},
        "detail": {"type": "object", "description": "the request body (secrets redacted) and query"},
        "status": {"type": "integer", "description": "the HTTP status the request got"}}},
    "AuditPage": {"type": "object", "required": ["items", "total"], "properties": {
        "items": {"type": "array", "items": _ref("AuditEntry")}, "total": {"type": "integer"}}},
    "Spy": {"type": "object", "additionalProperties": False, "properties": {
        "mode": {"type": "string", "enum": ["listen", "whisper", "barge"], "default": "listen"}}},
    "SpyStarted": {"type": "object", "required": ["seat_id", "mode", "phone", "channels"], "properties": {
        "seat_id": {"type": "string"}, "mode": {"type": "string"}, "phone": {"type": "string"},
        "channels": {"type": "array", "items": {"type": "string"}}}},
}

PATHS: dict[str, Any] = {
    "/api/login": {"post": {
        "summary": "Log in: a token (body) and an HttpOnly cookie", "operationId": "login",
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Login")}}},
        "responses": {"200": _json("logged in", _ref("Session")),
                      "400": _error("invalid-request (also: no users are configured)"),
                      "401": _error("bad-credentials: unknown user or wrong password (one message)"),
                      "415": _error("unsupported-media-type: the body must be application/json"),
                      "429": _error("too-many-attempts: the user name or address is locked out (Retry-After)"),
                      "503": _error("login-busy: too many logins in progress (Retry-After)")}}},
    "/api/logout": {"post": {
        "summary": "Log out: the token is revoked and the cookie cleared", "operationId": "logout",
        "responses": {"200": _json("logged out", {"type": "object"}), **_AUTH}}},
    "/api/me": {"get": {
        "summary": "Who the token belongs to", "operationId": "getMe",
        "responses": {"200": _json("the user", _ref("Me")), **_AUTH}}},
    "/api/audit": {"get": {
        "summary": "The audit log, newest first (supervisor, admin)", "operationId": "listAudit",
        "parameters": [_query("limit", "at most (1-500, default 100)", {"type": "integer"}),
                       _query("user", "only this user", {"type": "string"}),
                       _query("action", "only this action (e.g. seats.pause)", {"type": "string"})],
        "responses": {"200": _json("audit rows", _ref("AuditPage")), "400": _error("invalid-request"), **_AUTH}}},
    "/api/seats/{seat_id}/spy": {"post": {
        "summary": "Listen, whisper or barge: ring the supervisor's phone (users[].seat), then ChanSpy on the seat",
        "operationId": "spySeat", "parameters": [_SEAT_ID],
        "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("Spy")}}},
        "responses": {"202": _json("the supervisor's phone is ringing", _ref("SpyStarted")),
                      "400": _error("invalid-request"), "404": _error("no-such-seat"),
                      "409": _error("seat-not-on-call or no-supervisor-phone"),
                      "502": _error("asterisk-action-failed"), "503": _error("call-control-unavailable"),
                      **_AUTH}}},
    "/api/live/stream": {"get": {
        "summary": "Live state as server-sent events (supervisor, admin): snapshot, then seat, queue, kpi and "
                   "live events; a heartbeat comment every 15 s; caller numbers masked (138****1234)",
        "operationId": "liveStream",
        "responses": {"200": {"description": "text/event-stream",
                              "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                      **_AUTH}}},
    "/wallboard": {"get": {
        "summary": "The wallboard page (static; its data comes from /api/live/stream)", "operationId": "wallboard",
        "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}}},
    "/wallboard/{asset}": {"get": {
        "summary": "The wallboard's script and style sheet", "operationId": "wallboardAsset",
        "parameters": [{"name": "asset", "in": "path", "required": True,
                        "schema": {"type": "string", "enum": ["wallboard.js", "wallboard.css"]}}],
        "responses": {"200": {"description": "the file"}, "404": _error("not-found")}}},
}
