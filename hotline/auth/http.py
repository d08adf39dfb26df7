"""``POST /api/login``, ``POST /api/logout``, ``GET /api/me`` (a unit user's also names its unit).

Login answers the token in the body (for scripts: ``Authorization: Bearer <token>``) and sets
it as an HttpOnly, SameSite=Strict cookie (for the wallboard in a browser). A failed login is
audited (``login.failed``: the user name tried, the client address and the reason; never the
password); attempts refused while locked out are not, so a flood cannot fill the audit log."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web

from hotline.http.body import parse_json_body
from hotline.http.responses import json_response
from hotline.audit.services import AuditEntry, AuditService
from hotline.auth.middleware import COOKIE, principal_of
from hotline.auth.schemas import LoginBody
from hotline.auth.services import AuthService
from hotline.exceptions import BadCredentials, InvalidRequest

log = logging.getLogger(__name__)

MAX_NAME = 64   # the audit log's user column


def add_routes(app: web.Application, auth: AuthService, audit: AuditService | None = None,
               unit_names: Mapping[str, str] | None = None) -> None:
    """``unit_names``: unit id -> name (``orders.units``), for a unit user's ``/api/me``."""
    names = dict(unit_names or {})

    async def audit_failure(name: str, address: str | None, exc: BadCredentials) -> None:
        if audit is None:
            return
        detail: dict[str, object] = {"address": address, "reason": exc.error_id}
        if exc.locked:
            detail["locked"] = exc.locked
        try:
            await audit.record(AuditEntry(user=name[:MAX_NAME], role="none", action="login.failed", target=None,
                                          detail=detail, status=exc.http_status))
        except Exception:
            log.exception("audit write failed for a failed login of %r from %s", name[:MAX_NAME], address)

    async def login(request: web.Request) -> web.Response:
        if not auth.enabled:
            raise InvalidRequest("users", "no users are configured: the API is open, there is nothing to log in to")
        body = parse_json_body(LoginBody, await request.read(), secret_fields=frozenset({"password"}))
        try:
            token, principal = await auth.login(body.name, body.password, request.remote)
        except BadCredentials as exc:
            await audit_failure(body.name, request.remote, exc)
            raise
        response = json_response({"token": token, "role": principal.role.value, "seat": principal.seat,
                                  "name": principal.name, "expires": principal.expires})
        response.set_cookie(COOKIE, token, max_age=auth.ttl, path="/", httponly=True, samesite="Strict",
                            secure=request.secure)
        return response

    async def logout(request: web.Request) -> web.Response:
        principal = principal_of(request)
        if principal is not None:
            auth.logout(principal)
        response = json_response({"logged_out": principal is not None})
        response.del_cookie(COOKIE, path="/")
        return response

    async def me(request: web.Request) -> web.Response:
        principal = principal_of(request)
        if principal is None:   # no users: the API is open
            return json_response({"name": None, "role": "admin", "seat": None, "expires": None, "open": True})
        me = {**principal.to_dict(), "open": False}
        if principal.unit is not None:
            me["unit_name"] = names.get(principal.unit, principal.unit)
        return json_response(me)

    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/api/me", me)
