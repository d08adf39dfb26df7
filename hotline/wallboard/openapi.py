"""The OpenAPI part of the wallboard page and its live stream (``hotline.wallboard.http``),
merged into ``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import error as _error

SCHEMAS: dict[str, Any] = {}

PATHS: dict[str, Any] = {
    "/api/live/stream": {"get": {
        "summary": "Live state as server-sent events (supervisor, admin): snapshot, then seat, queue, kpi and "
                   "live events; a heartbeat comment every 15 s; caller numbers masked (138****1234)",
        "operationId": "liveStream",
        "responses": {"200": {"description": "text/event-stream",
                              "content": {"text/event-stream": {"schema": {"type": "string"}}}}}}},
    "/wallboard": {"get": {
        "summary": "The wallboard page (static; its data comes from /api/live/stream)", "operationId": "wallboard",
        "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}}},
    "/wallboard/{asset}": {"get": {
        "summary": "The wallboard's script and style sheet", "operationId": "wallboardAsset",
        "parameters": [{"name": "asset", "in": "path", "required": True,
                        "schema": {"type": "string", "enum": ["wallboard.js", "wallboard.css"]}}],
        "responses": {"200": {"description": "the file"}, "404": _error("not-found")}}},
}
