"""The OpenAPI 3.1 description of the HTTP API, served at ``/openapi.json``.

Written by hand so it reads like documentation: each feature describes its own routes next to
them (``hotline.<feature>.openapi``: ``PATHS`` and ``SCHEMAS``), merged here with the shared parts
(errors, ``/status``, the bearer token). ``tests/unit/test_api_openapi.py`` checks, on the app as
the controller builds it, that it lists exactly the routes served, that the security it declares
is the one enforced, and that real responses match its schemas.
"""

from __future__ import annotations

from typing import Any

from hotline.audit import openapi as audit_openapi
from hotline.auth import openapi as auth_openapi
from hotline.auth.roles import needs_token, required_role
from hotline.callbacks import openapi as callbacks_openapi
from hotline.calls import openapi as calls_openapi
from hotline.directory import openapi as directory_openapi
from hotline.console import openapi as console_openapi
from hotline.duty_probes import openapi as duty_probes_openapi
from hotline.hotspots import openapi as hotspots_openapi
from hotline.knowledge import openapi as knowledge_openapi
from hotline.http.oas import error as _error, json_content as _json, ref as _ref
from hotline.metrics import openapi as metrics_openapi
from hotline.outbox import openapi as outbox_openapi
from hotline.pages import openapi as pages_openapi
from hotline.pop import openapi as pop_openapi
from hotline.portal import openapi as portal_openapi
from hotline.recordings import openapi as recordings_openapi
from hotline.revisits import openapi as revisits_openapi
from hotline.reconcile import openapi as reconcile_openapi
from hotline.seats import openapi as seats_openapi
from hotline.spy import openapi as spy_openapi
from hotline.unit_scores import openapi as unit_scores_openapi
from hotline.wallboard import openapi as wallboard_openapi
from hotline.work_orders import openapi as work_orders_openapi

FEATURES = (calls_openapi, work_orders_openapi, directory_openapi, metrics_openapi, callbacks_openapi,
            auth_openapi, audit_openapi, spy_openapi, seats_openapi, wallboard_openapi,
            outbox_openapi, portal_openapi, recordings_openapi, pages_openapi,
            reconcile_openapi, revisits_openapi, duty_probes_openapi,
            unit_scores_openapi, pop_openapi, hotspots_openapi, knowledge_openapi, console_openapi)

_ERROR = {
    "type": "object",
    "required": ["error_id", "message", "details"],
    "properties": {
        "error_id": {"type": "string", "description": "stable kebab-case id to match on, e.g. invalid-request, "
                     "no-such-call, no-such-work-order, no-such-entry, store-unavailable, no-such-route, "
                     "internal-error"},
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
    },
    "components": {"schemas": {"Error": _ERROR, "Status": _STATUS}},
}

for _feature in FEATURES:
    OPENAPI["paths"].update(_feature.PATHS)
    OPENAPI["components"]["schemas"].update(_feature.SCHEMAS)

# Who may call what (hotline.auth): a token from POST /api/login, sent as a bearer token or the
# hotline_token cookie, on every /api/ route but the public ones; the least role each needs.
OPENAPI["components"]["securitySchemes"] = {
    "bearerAuth": {"type": "http", "scheme": "bearer",
                   "description": "the token of POST /api/login (Authorization: Bearer <token>); not needed "
                                  "when the site config has no users (the API is open)"},
    "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "hotline_token",
                   "description": "the same token, as the HttpOnly cookie POST /api/login sets"},
}
OPENAPI["security"] = [{"bearerAuth": []}, {"cookieAuth": []}]
for _path_name, _operations in OPENAPI["paths"].items():
    for _method, _operation in _operations.items():
        if needs_token(_method.upper(), _path_name):
            _operation["x-min-role"] = required_role(_method.upper(), _path_name).value
            _operation["responses"].setdefault("401", _error("auth-required: no valid token (Authorization: "
                                                             "Bearer, or the hotline_token cookie)"))
            _operation["responses"].setdefault("403", _error("forbidden: details.needed names the role needed"))
        else:
            _operation["security"] = []   # public: no token
