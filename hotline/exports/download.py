"""A table as a download: ``Content-Disposition`` with a Chinese file name done right (RFC 6266 with
RFC 5987 ``filename*``), CSV streamed a page at a time, XLSX built a page at a time in a
temporary file and then streamed from it. The rows come from an async iterator of pages, so no
export ever holds more than one page of rows in memory (the XLSX writer spills to disk).

The first page is read before the response starts: a bad query is still a JSON error with its
stable id; an error after the first byte ends the download short (the client sees a truncated
file, never a silently complete one: CSV is chunked, XLSX has its length).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from urllib.parse import quote

from aiohttp import web

from hotline.exceptions import InvalidRequest
from hotline.exports.tables import FORMATS, MEDIA_TYPES, Row, XlsxSheet, csv_rows

CHUNK = 64 * 1024
Pages = AsyncIterator[Sequence[Row]]
Fetch = Callable[[int, int], Awaitable[Sequence[Row]]]


def export_format(value: str) -> str:
    """The ``format`` query parameter of an export: csv or xlsx."""
    if value not in FORMATS:
        raise InvalidRequest("format", f"one of {', '.join(FORMATS)}", value)
    return value


def content_disposition(filename: str, fallback: str) -> str:
    """``attachment`` with ``filename`` (any Unicode, percent-encoded UTF-8 in ``filename*``) and
    ``fallback`` (plain ASCII, for old clients) as the quoted ``filename``."""
    plain = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else "_" for c in fallback)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def send_table(request: web.Request, *, fmt: str, filename: str, fallback: str, title: str,
                     header: Row, pages: Pages) -> web.StreamResponse:
    """Answer ``request`` with the table as ``fmt`` (csv or xlsx); ``filename`` and ``fallback``
    without the extension."""
    first = await anext(pages, None)
    response = web.StreamResponse(headers={
        "Content-Type": MEDIA_TYPES[fmt], "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
        "Content-Disposition": content_disposition(f"{filename}.{fmt}", f"{fallback}.{fmt}")})
    if fmt == "csv":
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(csv_rows([header], bom=True))
        if first is not None:
            await response.write(csv_rows(first))
            async for page in pages:
                await response.write(csv_rows(page))
        await response.write_eof()
        return response
    sheet = XlsxSheet(title, header)
    if first is not None:
        await asyncio.to_thread(sheet.add, first)
        async for page in pages:
            await asyncio.to_thread(sheet.add, page)
    with await asyncio.to_thread(sheet.finish) as data:
        data.seek(0, 2)
        response.content_length = data.tell()
        data.seek(0)
        await response.prepare(request)
        while chunk := await asyncio.to_thread(data.read, CHUNK):
            await response.write(chunk)
    await response.write_eof()
    return response


async def paged(fetch: Fetch, size: int) -> Pages:
    """Pages of ``size`` rows from ``fetch(offset, size)`` until a short page."""
    offset = 0
    while True:
        page = await fetch(offset, size)
        if page:
            yield page
        if len(page) < size:
            return
        offset += size
