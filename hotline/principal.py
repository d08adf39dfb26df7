"""Who made a request, as the HTTP features read it: the :class:`Principal` and the matched route.

The auth middleware (:mod:`hotline.auth.middleware`) proves a token and puts its principal on
the request; the features that name the caller (audit, disclosure, spy, wallboard, call
control) read it with :func:`principal_of`, and name the route with :func:`route_path`. Kept
below both auth and audit, so that neither imports the other for it (auth's login route writes
an audit entry; the audit middleware names the principal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from hotline.config.site import Role


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user of the site config, with the token that proved it."""

    name: str
    role: Role
    seat: str | None
    token_id: str
    expires: int
    unit: str | None = None    # a unit user's unit (users[].unit)

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "role": self.role.value, "seat": self.seat, "expires": self.expires}
        if self.unit is not None:
            out["unit"] = self.unit
        return out


PRINCIPAL = web.RequestKey("principal", Principal)   # absent when the API is open


def principal_of(request: web.Request) -> Principal | None:
    return request.get(PRINCIPAL)


def route_path(request: web.Request) -> str | None:
    """The matched route's canonical path (``/api/seats/{seat_id}/pause``), None when no route matched."""
    info = request.match_info
    if info.http_exception is not None:
        return None
    resource = info.route.resource
    return resource.canonical if resource is not None else None
