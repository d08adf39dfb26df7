"""The OpenAPI part of the unit portal's page (``hotline.portal.http``), merged into
``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import error as _error
from hotline.portal.http import ASSETS

SCHEMAS: dict[str, Any] = {}

PATHS: dict[str, Any] = {
    "/portal": {"get": {
        "summary": "The unit portal (承办单位门户; static; its data comes from /api/work-orders as the unit "
                   "user may see it)", "operationId": "portal",
        "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}}},
    "/portal/{asset}": {"get": {
        "summary": "The portal's script and style sheet", "operationId": "portalAsset",
        "parameters": [{"name": "asset", "in": "path", "required": True,
                        "schema": {"type": "string", "enum": sorted(ASSETS)}}],
        "responses": {"200": {"description": "the file"}, "404": _error("not-found")}}},
}
