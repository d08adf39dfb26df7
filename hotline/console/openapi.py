"""The OpenAPI part of the seat console (``hotline.console.http``), merged into ``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.console.http import ASSETS
from hotline.http.oas import error as _error, json_content as _json, ref as _ref

SCHEMAS: dict[str, Any] = {
    "SeatPhone": {
        "type": "object", "additionalProperties": False,
        "required": ["seat_id", "name", "uri", "ws_url", "username", "password", "qualify_seconds"],
        "properties": {
            "seat_id": {"type": "string"}, "name": {"type": "string"},
            "uri": {"type": "string", "description": "sip:<seat>@<host>, the address of record to register"},
            "ws_url": {"type": "string", "description": "SIP over WebSocket (Asterisk's /ws)"},
            "username": {"type": "string"},
            "password": {"type": "string", "description": "the seat's SIP secret: only to the seat's own user"},
            "qualify_seconds": {"type": "integer",
                                "description": "a browser that stops answering is out of the queue after this"},
        },
    },
}

PATHS: dict[str, Any] = {
    "/console": {"get": {
        "summary": "The seat console (坐席工作台; static; its data comes from the API as the seat user may see it)",
        "operationId": "console",
        "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}}},
    "/console/{asset}": {"get": {
        "summary": "The console's scripts and style sheet", "operationId": "consoleAsset",
        "parameters": [{"name": "asset", "in": "path", "required": True,
                        "schema": {"type": "string", "enum": sorted(ASSETS)}}],
        "responses": {"200": {"description": "the file"}, "404": _error("not-found")}}},
    "/console/vendor/sip.js/{path}": {"get": {
        "summary": "The browser SIP library (SIP.js, pinned by version and sha512; ES modules of its lib/)",
        "operationId": "consoleSipLibrary",
        "parameters": [{"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "an ES module"}, "404": _error("not-found"),
                      "503": _error("vendor-refused: the packaged tarball is not the pinned one")}}},
    "/api/seats/{seat_id}/phone": {"get": {
        "summary": "The seat's browser phone: SIP credentials and WebSocket address (the seat's own user only)",
        "operationId": "getSeatPhone",
        "parameters": [{"name": "seat_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json("the phone", _ref("SeatPhone")), "403": _error("forbidden (another seat's)"),
                      "404": _error("no-such-seat"),
                      "409": _error("not-a-browser-phone: the seat answers on a SIP phone")}}},
}
