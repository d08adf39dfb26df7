"""``GET /api/calls/{call_id}/recording``: a call's recording (WAV), whole or one byte range.

Who may listen is :func:`hotline.recordings.services.check_access`. Every read is audited
before its first byte leaves: one row ``read.recording`` with who (user, role; the open API as
user ``""``, role ``open``), when, which call (``target`` ``call:<id>``), why (``detail.reason``:
``?reason=`` or ``X-Hotline-Reason``, the convention of :mod:`hotline.audit.disclosure`), the
route, the file, the range and the status (200 or 206). A read from the first byte is always a
row; a range starting later (a browser seeking) is part of the read audited just before it
(:class:`~hotline.recordings.services.ReadLog`). If the row cannot be written the read is
refused (500) rather than left unaudited. ``HEAD`` sends the headers only, and is not a read.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from hotline.audit.disclosure import DISCLOSURE, reason_of, viewer_of
from hotline.audit.services import AuditEntry, AuditService
from hotline.principal import route_path
from hotline.recordings.ranges import ByteRange, Validators, requested
from hotline.recordings.services import OpenRecording, ReadLog, Recording, RecordingService, check_access

log = logging.getLogger(__name__)

ACTION = "read.recording"
CONTENT_TYPE = "audio/wav"
CHUNK = 64 * 1024


def add_routes(app: web.Application, recordings: RecordingService, audit: AuditService) -> None:
    reads = ReadLog()

    async def get_recording(request: web.Request) -> web.StreamResponse:
        recording = await asyncio.to_thread(recordings.locate, request.match_info["call_id"])
        viewer, reason = viewer_of(request), reason_of(request)
        confidential = recording.call_id in await request.app[DISCLOSURE].confidential([recording.call_id])
        check_access(viewer, recording, confidential=confidential, reason=reason)
        opened = await asyncio.to_thread(recordings.open, recording)
        try:
            validators = Validators.of(opened.size, opened.mtime_ns)
            part = requested(request.headers.get("Range"), opened.size, if_range=request.headers.get("If-Range"),
                             validators=validators)
            if request.method != "HEAD":
                key = (viewer.name or "", recording.call_id, reason)
                if reads.due(key, from_start=part is None or part.start == 0):
                    await _audit(request, audit, recording, reason, part, opened.size)
                    reads.audited(key)
            return await _send(request, recording, opened, part, validators)
        finally:
            opened.file.close()

    app.router.add_get("/api/calls/{call_id}/recording", get_recording)


async def _audit(request: web.Request, audit: AuditService, recording: Recording, reason: str,
                 part: ByteRange | None, size: int) -> None:
    viewer = viewer_of(request)
    status = 200 if part is None else 206
    detail = {"route": f"{request.method} {route_path(request) or request.path}", "reason": reason,
              "recording": recording.name, "bytes": size if part is None else part.length,
              "range": None if part is None else part.content_range(size)}
    try:
        await audit.record(AuditEntry(user=viewer.name or "", role=viewer.role or "open", action=ACTION,
                                      target=f"call:{recording.call_id}", detail=detail, status=status))
    except Exception:
        log.exception("audit of a recording read by %s failed: the read is refused", viewer.name)
        raise


async def _send(request: web.Request, recording: Recording, opened: OpenRecording, part: ByteRange | None,
                validators: Validators) -> web.StreamResponse:
    start, length = (0, opened.size) if part is None else (part.start, part.length)
    response = web.StreamResponse(status=200 if part is None else 206, headers={
        "Content-Type": CONTENT_TYPE,
        "Accept-Ranges": "bytes",
        "ETag": validators.etag,
        "Last-Modified": validators.last_modified,
        "Cache-Control": "private, no-store",   # a caller's voice: never in a shared or disk cache
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'inline; filename="{recording.name}"',
        **({} if part is None else {"Content-Range": part.content_range(opened.size)}),
    })
    response.content_length = length
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    await asyncio.to_thread(opened.file.seek, start)
    left = length
    while left > 0:
        chunk = await asyncio.to_thread(opened.file.read, min(CHUNK, left))
        if not chunk:   # the file shrank under us (retention): the client sees a short body
            log.warning("recording %s ended %d bytes early", recording.name, left)
            break
        await response.write(chunk)
        left -= len(chunk)
    await response.write_eof()
    return response
