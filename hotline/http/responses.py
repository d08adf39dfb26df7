"""JSON responses shared by every route module of the API."""

from __future__ import annotations

import functools
import json
from typing import Any

from aiohttp import web

# Chinese titles and descriptions stay readable in the body (still valid UTF-8 JSON).
_dumps = functools.partial(json.dumps, ensure_ascii=False)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=_dumps)
