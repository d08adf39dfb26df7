"""The OpenAPI part of the pages' shared script (``hotline.pages.http``), merged into
``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import error as _error
from hotline.pages.http import ASSETS

SCHEMAS: dict[str, Any] = {}

PATHS: dict[str, Any] = {
    "/pages/{asset}": {"get": {
        "summary": "The script the web pages share (the wallboard's and the unit portal's session and API "
                   "helpers; static)", "operationId": "pageAsset",
        "parameters": [{"name": "asset", "in": "path", "required": True,
                        "schema": {"type": "string", "enum": sorted(ASSETS)}}],
        "responses": {"200": {"description": "the file"}, "404": _error("not-found")}}},
}
