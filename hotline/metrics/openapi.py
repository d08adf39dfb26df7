"""The OpenAPI part of the KPI routes (``hotline.metrics.http``): the report and the Prometheus
exposition, merged into ``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import error as _error, json_content as _json, query as _query, ref as _ref

_KPI_ROW = {"type": "object", "properties": {
    "group": {"type": ["string", "null"]}, "interval_start": {"type": ["string", "null"]},
    **{k: {"type": "integer"} for k in ("offered", "answered", "answered_in_sl", "abandoned", "short_abandons")},
    **{k: {"type": ["number", "null"]} for k in ("answer_rate", "answer_rate_15s", "abandon_rate", "asa_seconds",
                                                "aht_seconds")}}}
_KPI_REPORT = {"type": "object", "properties": {
    "start": {"type": "string"}, "end": {"type": "string"}, "by": {"type": "string"},
    "interval": {"type": ["string", "null"]}, "empty": {"type": "boolean", "description": "no call arrived in "
                                                        "the window (every rate null, never 0)"},
    "rows": {"type": "array", "items": _KPI_ROW, "maxItems": 20000},
    "rolling_24h": {"type": "object"}}}
_METRICS_REPORT = {"get": {
    "summary": "KPIs: answer rate (接通率), 15 s answer rate, abandons, ASA, AHT (formulas in the README)",
    "operationId": "getMetrics",
    "parameters": [
        _query("start", "from (ISO 8601 with UTC offset); default 24 h ago", {"type": "string", "format": "date-time"}),
        _query("end", "to (exclusive); default now", {"type": "string", "format": "date-time"}),
        _query("by", "group by", {"type": "string", "enum": ["all", "queue", "seat", "dialled_number"]}),
        _query("interval", "and by interval", {"type": "string", "enum": ["15min", "hour", "day"]}),
        _query("queue", "only the calls of this queue", {"type": "string"}),
        _query("seat", "only the calls this seat answered (AHT: the seat's own talk)", {"type": "string"}),
        _query("dialled_number", "only the calls to this number (not with seat)", {"type": "string"}),
    ],
    "responses": {"200": _json("KPI rows and the rolling 24 h answer rate", _ref("KpiReport")),
                  "400": _error("invalid-request, metrics-window-inverted, metrics-window-too-long (92 days), "
                                "metrics-bad-group, metrics-bad-interval, unknown-queue, unknown-seat, "
                                "unknown-dialled-number, metrics-filter-unsupported (details.field, details.value)"),
                  "422": _error("metrics-report-too-large: more than 20 000 rows (details.max_rows); narrow it")},
}}
_PROMETHEUS = {"get": {
    "summary": "Prometheus text exposition (prometheus_client): call counters and histograms, live gauges; "
               "ratios are PromQL (README)",
    "operationId": "getPrometheusMetrics",
    "responses": {"200": {"description": "the Prometheus text format",
                          "content": {"text/plain": {"schema": {"type": "string"}}}}},
}}

SCHEMAS: dict[str, Any] = {"KpiReport": _KPI_REPORT}
PATHS: dict[str, Any] = {"/api/metrics": _METRICS_REPORT, "/metrics": _PROMETHEUS}
