"""The OpenAPI part of login, logout and who am I (``hotline.auth.http``),
merged into ``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import error as _error, json_content as _json, ref as _ref

_ROLE = {"type": "string", "enum": ["unit", "department", "seat", "supervisor", "admin"]}
_UNIT = {"type": "string", "description": "a unit user's unit (orders.units[].id); absent for other roles"}

SCHEMAS: dict[str, Any] = {
    "Login": {"type": "object", "additionalProperties": False, "required": ["name", "password"],
              "properties": {"name": {"type": "string"}, "password": {"type": "string", "format": "password"}}},
    "Session": {"type": "object", "required": ["token", "role", "seat", "expires"], "properties": {
        "token": {"type": "string", "description": "send as Authorization: Bearer <token>; also set as the "
                                                   "HttpOnly SameSite=Strict cookie hotline_token"},
        "name": {"type": "string"}, "role": _ROLE, "seat": {"type": ["string", "null"]}, "unit": _UNIT,
        "expires": {"type": "integer", "description": "epoch seconds"}}},
    "Me": {"type": "object", "required": ["name", "role", "seat", "open"], "properties": {
        "name": {"type": ["string", "null"]}, "role": _ROLE, "seat": {"type": ["string", "null"]}, "unit": _UNIT,
        "unit_name": {"type": "string", "description": "a unit user: its unit's name (orders.units[].name; "
                      "the id when the unit is not in the orders config)"},
        "expires": {"type": ["integer", "null"]},
        "open": {"type": "boolean", "description": "true when no users are configured (the API is open)"}}},
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
        "responses": {"200": _json("logged out", {"type": "object"})}}},
    "/api/me": {"get": {
        "summary": "Who the token belongs to", "operationId": "getMe",
        "responses": {"200": _json("the user", _ref("Me"))}}},
}
