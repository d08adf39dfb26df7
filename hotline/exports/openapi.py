"""OpenAPI pieces of an export: the ``format`` parameter and the file responses."""

from __future__ import annotations

from typing import Any

from hotline.exports.tables import MEDIA_TYPES
from hotline.http.oas import query

FORMAT = query("format", "csv or xlsx: the whole search as a file (every page; Content-Disposition names it)",
               {"type": "string", "enum": list(MEDIA_TYPES)})


def file_content(description: str) -> dict[str, Any]:
    """The ``content`` of a 200 answered as CSV or XLSX (with ``format``)."""
    return {"text/csv": {"schema": {"type": "string", "description": f"{description}: UTF-8 with BOM, RFC 4180"}},
            MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary", "description": description}}}
