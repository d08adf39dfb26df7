"""The auth middleware: who is calling, and may they.

No users configured: every request passes (the API is as open as before). With users, a
request under ``/api/`` needs a token (``Authorization: Bearer`` or the ``hotline_token``
cookie) except the ``PUBLIC`` routes; ``/status``, ``/openapi.json``, ``/metrics`` and the
wallboard's static page stay open (the page itself holds no data). Then the route's minimum
role (:mod:`hotline.auth.roles`) and the own-seat rule are checked.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from hotline.auth import roles
from hotline.auth.services import AuthService
from hotline.config.site import Role
from hotline.exceptions import Forbidden
from hotline.principal import PRINCIPAL, principal_of, route_path

__all__ = ["COOKIE", "PRINCIPAL", "auth_middleware", "principal_of", "route_path", "token_of"]

COOKIE = "hotline_token"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def token_of(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE) or None


def auth_middleware(auth: AuthService) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not auth.enabled or not request.path.startswith("/api/"):
            return await handler(request)
        path = route_path(request)
        if path is not None and (request.method, path) in roles.PUBLIC:
            return await handler(request)
        principal = auth.authenticate(token_of(request))   # auth-required before anything else, 404s too
        request[PRINCIPAL] = principal
        if path is None:
            return await handler(request)   # no such route / method: the handler raises it
        needed = roles.required_role(request.method, path)
        if not roles.allows(principal.role, needed):
            raise Forbidden(f"{request.method} {path} needs the role {needed.value!r} (you are "
                            f"{principal.role.value!r})", needed=needed.value, role=principal.role.value)
        seat_id = request.match_info.get("seat_id")
        if seat_id is not None and not roles.may_act_on_seat(principal.role, principal.seat, seat_id):
            raise Forbidden(f"a seat user acts on its own seat only ({principal.seat!r}, not {seat_id!r}); "
                            "other seats need the role 'supervisor'", needed="supervisor",
                            role=principal.role.value, seat_id=seat_id)
        field = roles.BODY_SEAT_FIELD.get((request.method, path))
        if field is not None and principal.role == Role.seat:
            named = _body_field(await request.read(), field)
            if named is not None and named != principal.seat:
                raise Forbidden(f"a seat user acts for its own seat only ({field}: {principal.seat!r}, not "
                                f"{named!r}); other seats need the role 'supervisor'", needed="supervisor",
                                role=principal.role.value, field=field)
        return await handler(request)

    return middleware


def _body_field(body: bytes, field: str) -> object | None:
    """``field`` of a JSON object body; None when absent or not JSON (the handler reports that)."""
    try:
        parsed = json.loads(body or b"null")
    except ValueError:
        return None
    return parsed.get(field) if isinstance(parsed, dict) else None
