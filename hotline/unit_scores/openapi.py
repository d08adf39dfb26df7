"""The OpenAPI part of the unit-score routes, merged into ``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import error as _error, json_content as _json, query as _q, ref as _ref
from hotline.unit_scores.rules import EXEMPTABLE, RULES
from hotline.unit_scores.store import ATTENDANCE

_UNIT = {"name": "unit", "in": "path", "required": True, "description": "a member unit's id (orders.units)",
         "schema": {"type": "string"}}
_MONTH = _q("month", "the site's local month, YYYY-MM (default: the last month over); a month not begun is "
                     "invalid-month", {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"})
_NUM = {"type": "number"}
_BAD_MONTH = _error("invalid-month (2026-13, not YYYY-MM, a month not begun) or invalid-request")
_READ_ERRORS = {"400": _BAD_MONTH, "403": _error("not-your-unit: a unit user asking for another unit; seats and "
                                                 "departments (no unit)"),
                "404": _error("no-such-unit")}


def _body(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": required, "additionalProperties": False, "properties": properties}}}}


def _file(media: str, what: str) -> dict[str, Any]:
    return {"description": what, "content": {media: {"schema": {"type": "string", "format": "binary"}}}}


_HEADER = {
    "month": {"type": "string"}, "timezone": {"type": "string"}, "start": {"type": "string"},
    "end": {"type": "string"}, "as_of": {"type": "string", "description": "when computed (inputs as they stood)"},
    "provisional": {"type": "boolean", "description": "the month is not over: the score may still change"},
    "working_days": {"type": ["integer", "null"], "description": "working days of the month (the order calendar)"},
    "units_ranked": {"type": "integer"},
    "rule_table": {"type": "array", "items": {"type": "object"}, "description": "each rule's id, name, max and source"},
    "ranking": {"type": "object", "description": "bottom and months of the 约谈 flag"},
}
_SCORE = {
    "unit": {"type": "string"}, "name": {"type": "string"}, "total": _NUM,
    "rank": {"type": "integer", "description": "1 = best; equal totals share the better rank"},
    "bottom": {"type": "boolean", "description": "in the bottom ranking.bottom this month"},
    "interview": {"type": "boolean", "description": "约谈: in the bottom for ranking.months months in a row"},
    "bottom_months": {"type": "array", "items": {"type": "string"}},
    "complete": {"type": "boolean", "description": "every rule had its input (none missing or unavailable)"},
    "missing": {"type": "array", "items": {"enum": [r for r, _ in RULES]}},
    "rules": {"type": "array", "items": _ref("UnitScoreRule")},
    "adjustments": {"type": "array", "items": {"type": "object", "required": ["id", "name", "points", "inputs"],
                                               "properties": {"id": {"enum": ["bonus", "rotation"]},
                                                              "name": {"type": "string"}, "points": _NUM,
                                                              "inputs": {"type": "object"}}}},
}

SCHEMAS: dict[str, Any] = {
    "UnitScoreRule": {"type": "object", "required": ["id", "name", "max", "points", "status", "source", "inputs"],
                      "additionalProperties": False, "properties": {
                          "id": {"enum": [r for r, _ in RULES]}, "name": {"type": "string"}, "max": _NUM,
                          "points": _NUM,
                          "status": {"enum": ["measured", "manual", "missing", "unavailable"],
                                     "description": "manual: entered by a supervisor; missing: not entered; "
                                                    "unavailable: no source (0 points)"},
                          "source": {"type": "string"}, "inputs": {"type": "object"}}},
    "UnitScore": {"type": "object", "required": list(_SCORE), "additionalProperties": False, "properties": _SCORE},
    "UnitScoreList": {"type": "object", "required": [*_HEADER, "items"], "additionalProperties": False,
                      "properties": {**_HEADER, "items": {"type": "array", "items": _ref("UnitScore")}}},
    "UnitScoreDetail": {"type": "object", "required": [*_HEADER, *_SCORE, "exemptions", "attendance"],
                        "additionalProperties": False,
                        "properties": {**_HEADER, **_SCORE,
                                       "exemptions": {"type": "array", "items": {"type": "object"}},
                                       "attendance": {"type": "array", "items": {"type": "object"}}}},
}

PATHS: dict[str, Any] = {
    "/api/unit-scores": {"get": {
        "summary": "Every member unit's score of a month, ranked (a unit user: its own entry)",
        "parameters": [_MONTH],
        "responses": {"200": _json("the month's scores", _ref("UnitScoreList")), "400": _BAD_MONTH,
                      "403": _error("not-your-unit: seats and departments (no unit)")}}},
    "/api/unit-scores/{unit}": {"get": {
        "summary": "One unit's score with each rule's inputs, its exemptions and 轮值 attendance",
        "parameters": [_UNIT, _MONTH],
        "responses": {"200": _json("the unit's month", _ref("UnitScoreDetail")), **_READ_ERRORS}}},
    "/api/unit-scores/{unit}/report.xlsx": {"get": {
        "summary": "The unit's monthly report as an XLSX workbook", "parameters": [_UNIT, _MONTH],
        "responses": {"200": _file("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLSX"),
                      **_READ_ERRORS}}},
    "/api/unit-scores/{unit}/report.pdf": {"get": {
        "summary": "The unit's monthly report as a PDF (Chinese)", "parameters": [_UNIT, _MONTH],
        "responses": {"200": _file("application/pdf", "PDF"), **_READ_ERRORS,
                      "503": _error("report-font-missing: no CJK font installed")}}},
    "/api/unit-scores/{unit}/knowledge-base": {"post": {
        "summary": "The 知识库 points of a unit's month (manual input until the product has a knowledge base; "
                   "the latest entered counts)",
        "parameters": [_UNIT],
        "requestBody": _body(["month", "points"], {"month": {"type": "string"}, "points": _NUM,
                                                   "note": {"type": "string", "maxLength": 500}}),
        "responses": {"201": _json("recorded", {"type": "object"}), "400": _BAD_MONTH,
                      "404": _error("no-such-unit")}}},
    "/api/unit-scores/{unit}/exemptions": {"post": {
        "summary": "An order not counted against the unit in a rule (客观因素、依法不能办理), with its reason",
        "parameters": [_UNIT],
        "requestBody": _body(["month", "rule", "work_order_id", "reason"], {
            "month": {"type": "string"}, "rule": {"enum": list(EXEMPTABLE)}, "work_order_id": {"type": "string"},
            "reason": {"type": "string", "minLength": 1, "maxLength": 500}}),
        "responses": {"201": _json("recorded", {"type": "object"}), "400": _BAD_MONTH,
                      "404": _error("no-such-unit or no-such-work-order"),
                      "409": _error("exemption-exists")}}},
    "/api/unit-scores/{unit}/attendance": {"post": {
        "summary": "轮值 attendance of a unit on a day (absent: the rotation_absence deduction in that month; "
                   "the latest entered per day counts)",
        "parameters": [_UNIT],
        "requestBody": _body(["date", "status"], {"date": {"type": "string", "format": "date"},
                                                  "status": {"enum": list(ATTENDANCE)},
                                                  "note": {"type": "string", "maxLength": 500}}),
        "responses": {"201": _json("recorded", {"type": "object"}), "400": _error("invalid-request"),
                      "404": _error("no-such-unit")}}},
}
