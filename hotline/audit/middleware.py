"""The audit middleware: records a request after its handler ran, with the status it got.

It sits inside the auth middleware (it needs the principal) and outside the handlers; an error
the handler raised is recorded with its HTTP status and raised on to the error middleware. A
failed audit write is logged and never fails the request.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from hotline.audit.services import AuditEntry, AuditService, action_name, body_detail, should_audit, target_of
from hotline.principal import principal_of, route_path
from hotline.exceptions import HotlineError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def audit_middleware(audit: AuditService) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        principal = principal_of(request)
        route = route_path(request)
        seat_id = request.match_info.get("seat_id") if route else None
        if principal is None or route is None or not should_audit(request.method, request.path, principal.role,
                                                                  principal.seat, seat_id):
            return await handler(request)
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except HotlineError as exc:
            status = exc.http_status
            raise
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            try:
                body = await request.read() if request.can_read_body or request.body_exists else b""
                entry = AuditEntry(user=principal.name, role=principal.role.value,
                                   action=action_name(request.method, route),
                                   target=target_of(dict(request.match_info)),
                                   detail=body_detail(body, dict(request.query)), status=status)
                await audit.record(entry)
            except Exception:
                log.exception("audit write failed for %s %s by %s (the request went on)", request.method,
                              request.path, principal.name)

    return middleware
