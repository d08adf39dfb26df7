"""The OpenAPI part of the reconciliation report (``hotline.reconcile.http``), merged into
``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import error as _error, json_content as _json, query as _query, ref as _ref

_COUNT = {"type": "object", "required": ["ours", "asterisk", "difference", "explained_difference",
                                         "unexplained_difference"],
          "properties": {k: {"type": "integer"} for k in ("ours", "asterisk", "difference", "explained_difference",
                                                          "unexplained_difference", "ours_short", "ours_kpi")}}
_SIDE = {"type": "object", "properties": {
    **{k: {"type": "boolean"} for k in ("entered", "offered", "answered", "abandoned")},
    "day": {"type": ["string", "null"]}}, "additionalProperties": True}
_CALL = {"type": "object", "required": ["call_id", "rules", "differs", "ours", "asterisk"], "properties": {
    "call_id": {"type": "string"}, "rules": {"type": "array", "items": {"type": "string"}},
    "differs": {"type": "array", "items": {"type": "string"}}, "ours": _SIDE, "asterisk": _SIDE}}
_REPORT = {"type": "object", "required": ["day", "counts", "rules", "calls", "unexplained", "skipped", "sources",
                                          "rule_table"], "properties": {
    "day": {"type": "string", "format": "date"},
    "counts": {"type": "object", "properties": {k: _COUNT for k in ("entered", "offered", "answered", "abandoned")}},
    "rules": {"type": "object", "additionalProperties": {"type": "integer"},
              "description": "calls per rule (unexplained included)"},
    "queue_log_lines": {"type": "object", "additionalProperties": {"type": "integer"}},
    "calls": {"type": "array", "items": _CALL},
    "unexplained": {"type": "array", "items": _CALL, "description": "differences no rule explains, with both "
                                                                    "sides' evidence"},
    "skipped": {"type": "array", "items": {"type": "object", "properties": {
        "source": {"type": "string"}, "line": {"type": "integer"}, "reason": {"type": "string"}}}},
    "sources": {"type": "object"},
    "rule_table": {"type": "array", "items": {"type": "object"}}}}

SCHEMAS: dict[str, Any] = {"ReconciliationReport": _REPORT}
PATHS: dict[str, Any] = {"/api/reconciliation": {"get": {
    "summary": "The reconciliation report of a site-local day: our call records against Asterisk's CDR and "
               "queue_log, every difference explained by a named rule (README, Reconciliation)",
    "operationId": "getReconciliation",
    "parameters": [{**_query("day", "the site-local day YYYY-MM-DD", {"type": "string", "format": "date"}),
                    "required": True}],
    "responses": {"200": _json("counts per side, calls with their rules, the unexplained differences and the "
                               "skipped log lines", _ref("ReconciliationReport")),
                  "400": _error("invalid-request: day missing or not YYYY-MM-DD, or an unknown parameter "
                                "(details.field)")},
}}}
