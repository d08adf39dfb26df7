"""The OpenAPI part of the knowledge-base routes, merged into ``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import error as _error, json_content as _json, path as _path, query as _q, ref as _ref
from hotline.store.knowledge_models import FIELDS

_STR_NULL = {"type": ["string", "null"]}
_DATE_NULL = {"type": ["string", "null"], "format": "date"}
_TEXTS = {name: {"type": "string", "maxLength": 20000, "description": label} for name, label in FIELDS}
_ENTRY_ID = _path("entry_id", {"type": "integer", "minimum": 1})
_UNIT_Q = _q("unit", "only one unit's entries (orders.units[].id)", {"type": "string"})

_ENTRY_BODY = {"type": "object", "required": ["title"], "additionalProperties": False, "properties": {
    "unit": {"type": "string", "description": "orders.units[].id; a unit user's own by default (a supervisor "
                                              "names it); on a change it must stay the entry's"},
    "title": {"type": "string", "minLength": 1, "maxLength": 200, "description": "事项名称"},
    **_TEXTS,
    "valid_from": _DATE_NULL, "valid_until": {**_DATE_NULL, "description": "the last valid day"},
    "version": {"type": "integer", "minimum": 1, "description": "on a change (PUT): the version it was made on"}}}

SCHEMAS: dict[str, Any] = {
    "KnowledgeEntry": {"type": "object", "required": [
        "id", "unit", "title", *_TEXTS, "version", "updated_at", "stale", "expired"], "properties": {
        "id": {"type": "integer"}, "unit": {"type": "string"}, "unit_name": {"type": "string"},
        "title": {"type": "string"}, **_TEXTS,
        "missing": {"type": "array", "items": {"enum": list(_TEXTS)},
                    "description": "the annex's fields left empty"},
        "valid_from": _DATE_NULL, "valid_until": _DATE_NULL,
        "version": {"type": "integer"}, "created_at": {"type": "string"}, "updated_at": {"type": "string"},
        "updated_by": {"type": "string"},
        "fresh_until": {"type": "string", "description": "updated_at + knowledge.fresh_days"},
        "stale": {"type": "boolean", "description": "not updated within knowledge.fresh_days"},
        "expired": {"type": "boolean", "description": "valid_until has passed (site time)"},
        "not_yet_valid": {"type": "boolean"},
        "withdrawn": {"type": "boolean", "description": "a saved version read with version=: it withdrew the entry"},
        "score": {"type": "number", "description": "in a search: the sum of weight × idf of the terms held"}}},
    "KnowledgeList": {"type": "object", "required": ["items", "fresh_days"], "properties": {
        "terms": {"type": "array", "items": {"type": "string"},
                  "description": "in a search: the query's terms used (bigrams of CJK text, words), rarest first"},
        "fresh_days": {"type": "integer"}, "as_of": {"type": "string"},
        "units": {"type": "object", "additionalProperties": {"type": "integer"},
                  "description": "in the stale list: entries per unit"},
        "items": {"type": "array", "items": _ref("KnowledgeEntry")}}},
    "KnowledgeLink": {"type": "object", "required": ["entry_id", "version", "title", "unit", "by", "at"],
                      "properties": {"entry_id": {"type": "integer"}, "version": {"type": "integer"},
                                     "title": {"type": "string", "description": "as it was at that version"},
                                     "unit": {"type": "string"}, "by": {"type": "string"}, "at": {"type": "string"}}},
}

_SEARCH_400 = _error("invalid-request naming the parameter (limit, unit, an unknown one); never for the text "
                     "searched")
_READ_403 = _error("knowledge-read-forbidden: a department user")
_WRITE_403 = _error("not-your-unit: a unit user on another unit's entry, a seat or department writing")


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


PATHS: dict[str, Any] = {
    "/api/knowledge": {
        "get": {"summary": "Search the knowledge base (q: any text, Chinese full text) or list entries, the latest "
                           "update first; stale and expired entries flagged",
                "parameters": [_q("q", "the search text; the answer is a list, empty when nothing matches",
                                  {"type": "string"}), _UNIT_Q,
                               _q("limit", "1..50 (default 10 for a search, 50 for a list)", {"type": "integer"})],
                "responses": {"200": _json("entries", _ref("KnowledgeList")), "400": _SEARCH_400,
                              "403": _READ_403, "404": _error("no-such-unit")}},
        "post": {"summary": "Add an entry (a unit user: its own unit; supervisors: any)",
                 "requestBody": _body(_ENTRY_BODY),
                 "responses": {"201": _json("the entry, version 1", _ref("KnowledgeEntry")),
                               "400": _error("invalid-request naming the field"), "403": _WRITE_403,
                               "404": _error("no-such-unit")}}},
    "/api/knowledge/search": {"post": {
        "summary": "Search with a long text (a caller's words): the same answer as GET /api/knowledge?q=",
        "requestBody": _body({"type": "object", "required": ["q"], "additionalProperties": False, "properties": {
            "q": {"type": "string"}, "unit": {"type": "string"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 50}}}),
        "responses": {"200": _json("entries, best first", _ref("KnowledgeList")), "400": _SEARCH_400,
                      "403": _READ_403, "404": _error("no-such-unit")}}},
    "/api/knowledge/stale": {"get": {
        "summary": "Entries stale (not updated within knowledge.fresh_days) or expired, the oldest update first "
                   "(supervisors)",
        "parameters": [_UNIT_Q],
        "responses": {"200": _json("flagged entries and a count per unit", _ref("KnowledgeList")),
                      "400": _error("invalid-request"), "404": _error("no-such-unit")}}},
    "/api/knowledge/{entry_id}": {
        "get": {"summary": "One entry as it stands, or a saved version as it was (version=)",
                "parameters": [_ENTRY_ID, _q("version", "a saved version", {"type": "integer"})],
                "responses": {"200": _json("the entry", _ref("KnowledgeEntry")), "400": _error("invalid-request"),
                              "403": _READ_403, "404": _error("no-such-knowledge-entry")}},
        "put": {"summary": "Save a new version of an entry (all fields; version: the one it was made on)",
                "parameters": [_ENTRY_ID], "requestBody": _body(_ENTRY_BODY),
                "responses": {"200": _json("the entry, version + 1", _ref("KnowledgeEntry")),
                              "400": _error("invalid-request naming the field"), "403": _WRITE_403,
                              "404": _error("no-such-knowledge-entry"),
                              "409": _error("knowledge-version-conflict: saved by someone else since")}},
        "delete": {"summary": "Withdraw an entry (out of search and lists; orders that used it keep naming it)",
                   "parameters": [_ENTRY_ID],
                   "responses": {"200": _json("withdrawn", {"type": "object"}), "400": _error("invalid-request"),
                                 "403": _WRITE_403, "404": _error("no-such-knowledge-entry")}}},
    "/api/work-orders/{work_order_id}/knowledge": {"post": {
        "summary": "Record that an entry's answer (at the version read) was used on the order's call; shown in "
                   "the order's knowledge list",
        "parameters": [_path("work_order_id")],
        "requestBody": _body({"type": "object", "required": ["entry_id"], "additionalProperties": False,
                              "properties": {"entry_id": {"type": "integer", "minimum": 1},
                                             "version": {"type": "integer", "minimum": 1,
                                                         "description": "default: the entry's current version"}}}),
        "responses": {"201": _json("linked", _ref("KnowledgeLink")),
                      "200": _json("linked already (nothing changed)", _ref("KnowledgeLink")),
                      "400": _error("invalid-request (a version never saved)"),
                      "404": _error("no-such-work-order, no-such-knowledge-entry")}}},
}
