"""The OpenAPI part of the duty-phone routes, merged into ``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.duty_probes.model import RESULTS, SKIP_REASONS, Status
from hotline.http.oas import error as _error, json_content as _json, query as _q, ref as _ref

_STR_NULL = {"type": ["string", "null"]}

SCHEMAS: dict[str, Any] = {
    "DutyProbe": {"type": "object", "required": ["id", "unit", "window", "day", "status", "attempts", "tries"],
                  "properties": {
                      "id": {"type": "integer"}, "unit": {"type": "string"},
                      "window": {"type": "string", "description": "duty_probes.windows[].name"},
                      "day": {"type": "string", "description": "the site-time day the window starts on"},
                      "slot": {"type": "integer"},
                      "number": {**_STR_NULL, "description": "the duty phone dialled, masked"},
                      "status": {"enum": [s.value for s in Status],
                                 "description": "unreachable: every try failed, one 不通 event"},
                      "skip_reason": {"enum": [*SKIP_REASONS, None]},
                      "attempts": {"type": "integer"}, "max_attempts": {"type": "integer"},
                      "due_at": {"type": "string", "description": "the drawn time of the first try (site time)"},
                      "next_at": _STR_NULL, "ended_at": _STR_NULL,
                      "last_result": {"enum": [*RESULTS, None]},
                      "postponed": {"type": "integer", "description": "times put off: the unit's number was in "
                                                                      "a call with 12345"},
                      "tries": {"type": "array", "items": {"type": "object", "description":
                                "call_id (the try's call record, extra.direction duty_probe), attempt, result, at"}}}},
    "DutyProbeUnit": {"type": "object",
                      "required": ["unit", "probes", "tries", "answered", "unreachable", "events", "items"],
                      "properties": {
                          "unit": {"type": "string"},
                          "phones": {"type": "array", "items": {"type": "string"}, "description": "masked"},
                          "probes": {"type": "integer"}, "tries": {"type": "integer"},
                          "answered": {"type": "integer"},
                          "unreachable": {"type": "integer", "description": "不通 events (3 failed tries each)"},
                          "events": {"type": "array", "items": {"type": "object", "description":
                                     "a 不通 event: probe, at (when the last failure was recorded), number "
                                     "(masked), tries (call ids)"}},
                          "refused_phones": {"type": "array", "items": _ref("Error"), "description":
                                             "duty phones the outbound rule refuses (duty-phone-not-allowed, "
                                             "details.field names the config field): never dialled"},
                          "items": {"type": "array", "items": _ref("DutyProbe")}}},
    "DutyProbeMonth": {"type": "object", "required": ["month", "units"],
                       "properties": {"month": {"type": "string"}, "timezone": {"type": "string"},
                                      "units": {"type": "array", "items": _ref("DutyProbeUnit")}}},
}

PATHS: dict[str, Any] = {
    "/api/duty-probes": {"get": {
        "summary": "Duty-phone dial tests of a month, per unit: tries, answered probes, 不通 events with their "
                   "times (supervisors; a unit user its own unit only)",
        "parameters": [_q("month", "YYYY-MM, site time (default: this month)",
                          {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}),
                       _q("unit", "one unit (orders.units[].id); a unit user: its own", {"type": "string"})],
        "responses": {"200": _json("the month's results", _ref("DutyProbeMonth")),
                      "400": _error("invalid-month (e.g. 2026-13), invalid-request"),
                      "403": _error("not-your-unit: another unit's, or a seat's or department's read"),
                      "404": _error("no-such-unit")}}},
}
