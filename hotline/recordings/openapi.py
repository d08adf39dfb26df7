"""The OpenAPI part of the recordings route (``hotline.recordings.http``), merged into
``hotline.api.openapi``."""

from __future__ import annotations

from typing import Any

from hotline.http.oas import error as _error, path as _path, query as _query
from hotline.spine.ids import CALL_ID_PLAIN

SCHEMAS: dict[str, Any] = {}

_WAV = {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}
_HEADERS = {
    "Content-Length": {"schema": {"type": "integer"}, "description": "the bytes of this response"},
    "Accept-Ranges": {"schema": {"type": "string", "const": "bytes"}},
    "ETag": {"schema": {"type": "string"}, "description": "size and modification time; for If-Range"},
}


def _header(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "description": description,
            "schema": {"type": "string"}}


PATHS: dict[str, Any] = {
    "/api/calls/{call_id}/recording": {"get": {
        "summary": "A call's recording (WAV), whole or one byte range; every read is audited (read.recording)",
        "description": "A seat: only a call it answered itself, never a confidential one; supervisors and "
                       "admins: any call, a confidential one (a work order about it is caller_confidential) "
                       "only with a reason. Unit and department users never. Each read from the first byte "
                       "writes one audit row read.recording (who, when, call, reason, range) before any byte "
                       "leaves; a range starting later within 60 s of the same reader's audited read of the "
                       "call for the same reason is part of that read. One range per request (what <audio> "
                       "sends); several ranges or another unit: the whole file (200).",
        "operationId": "getCallRecording",
        "parameters": [_path("call_id", {"type": "string", "pattern": f"^{CALL_ID_PLAIN}$"}),
                       _query("reason", "why you listen (audited; required for a confidential call)",
                              {"type": "string", "maxLength": 200}),
                       _header("X-Hotline-Reason", "the reason, as a header instead of ?reason="),
                       _header("Range", "one byte range: bytes=<first>-[<last>] or bytes=-<suffix>"),
                       _header("If-Range", "the ETag or Last-Modified of a part read before")],
        "responses": {
            "200": {"description": "the whole recording (audio/wav)", "content": _WAV, "headers": _HEADERS},
            "206": {"description": "one byte range (Content-Range: bytes first-last/size)", "content": _WAV,
                    "headers": {**_HEADERS, "Content-Range": {"schema": {"type": "string"}}}},
            "400": _error("invalid-request: not a call id (details.field call_id), or a reason over 200 "
                          "characters"),
            "403": _error("forbidden (unit, department: details.needed), not-your-call (a seat, a call it did "
                          "not answer), forbidden (a seat, a confidential call), reason-required (a "
                          "confidential call without a reason)"),
            "404": _error("no-such-call, or no-such-recording (not answered, or the file is gone)"),
            "416": _error("range-not-satisfiable: the range starts past the end (Content-Range: bytes */size)"),
            "500": _error("internal-error: the audit row could not be written, so nothing was sent"),
        }}},
}
