"""The OpenAPI part of the hotspot routes (``hotline.hotspots.http``), merged into ``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.config.hotspots import HotspotDimension
from hotline.http.oas import error as _error, json_content as _json, path as _path, query as _q, ref as _ref

_TIME = {"type": "string", "format": "date-time"}
_OPT_TIME = {"type": ["string", "null"], "format": "date-time"}
_NUM = {"type": "number"}
_FORBIDDEN = _error("forbidden: supervisors and admins only (a seat, department or unit user)")

SCHEMAS: dict[str, Any] = {
    "HotspotAlert": {"type": "object", "additionalProperties": False, "required": [
        "id", "dimension", "key", "label", "unit", "text", "active", "raised_at", "cleared_at", "window_start",
        "window_end", "count", "baseline_total", "baseline_days", "baseline_mean", "ratio", "threshold",
        "first_ref", "last_ref", "last_count", "peak_count", "last_seen_at", "acked_at", "acked_by"], "properties": {
        "id": {"type": "integer"},
        "dimension": {"enum": [d.value for d in HotspotDimension]},
        "key": {"type": "string", "description": "subject id, area id, subject/area, or the dialled number"},
        "label": {"type": "string", "description": "the key as people name it (供水, 某区, 某区·供水)"},
        "unit": {"enum": ["件", "通"], "description": "件 orders, 通 calls"},
        "text": {"type": "string", "description": "the wallboard's line: 热点预警: 供水 12 件 / 近7日同期均值 1.43"},
        "active": {"type": "boolean", "description": "still hot (false: cleared at cleared_at)"},
        "raised_at": _TIME, "cleared_at": _OPT_TIME,
        "window_start": _TIME, "window_end": _TIME,
        "count": {"type": "integer", "description": "items in the window when raised"},
        "baseline_total": {"type": "integer", "description": "items in the same window of the baseline days"},
        "baseline_days": {"type": "integer"},
        "baseline_mean": _NUM,
        "ratio": {"type": ["number", "null"], "description": "count / baseline_mean; null without a baseline"},
        "threshold": {**_NUM, "description": "max(min_count, factor x baseline_mean)"},
        "first_ref": {"type": "string", "description": "the window's first order id (calls: call id)"},
        "last_ref": {"type": "string"},
        "last_count": {"type": "integer", "description": "the count at the latest round"},
        "peak_count": {"type": "integer"},
        "last_seen_at": _TIME,
        "acked_at": _OPT_TIME, "acked_by": {"type": ["string", "null"]},
    }},
    "HotspotList": {"type": "object", "additionalProperties": False,
                    "required": ["rule", "as_of", "active", "recent"], "properties": {
                        "rule": {"type": "object", "description": "the site's hotspots: section in force"},
                        "as_of": _TIME,
                        "active": {"type": "array", "items": _ref("HotspotAlert")},
                        "recent": {"type": "array", "items": _ref("HotspotAlert"),
                                   "description": "cleared alerts, newest first"}}},
}

PATHS: dict[str, Any] = {
    "/api/hotspots": {"get": {
        "summary": "Hotspot alerts (热点预警): active ones and the most recent cleared ones (supervisor, admin)",
        "operationId": "listHotspots",
        "parameters": [_q("limit", "how many cleared alerts (1-500, default 50)",
                          {"type": "integer", "minimum": 1, "maximum": 500})],
        "responses": {"200": _json("the alerts", _ref("HotspotList")),
                      "400": _error("invalid-request (limit)"), "403": _FORBIDDEN}}},
    "/api/hotspots/{alert_id}/ack": {"post": {
        "summary": "Acknowledge a hotspot alert (supervisor, admin; audited); again: unchanged",
        "operationId": "ackHotspot",
        "parameters": [_path("alert_id", {"type": "integer", "minimum": 1})],
        "requestBody": {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": False, "properties": {}}}}},
        "responses": {"200": _json("the alert, acknowledged", _ref("HotspotAlert")),
                      "400": _error("invalid-hotspot-id or invalid-request (a body with fields)"),
                      "403": _FORBIDDEN, "404": _error("no-such-hotspot")}}},
}
