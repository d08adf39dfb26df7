"""The web guard: the checks every request to ``/api/`` passes before auth.

- Without users (the API is open): the ``Host`` header must name this server: ``localhost``,
  the configured ``api.bind``, an IP address (a browser sends a name it resolved, never a literal
  it was rebound to), or one of ``api.allowed_hosts``. Otherwise ``bad-host`` (403): a web page
  whose name was rebound to 127.0.0.1 cannot read or drive the API (DNS rebinding).
- Every write (POST, PUT, PATCH, DELETE), with users or without: a body must be
  ``application/json`` (``unsupported-media-type``, 415: an HTML form cannot send it cross-site
  without a CORS preflight), and an ``Origin`` header, when the client sends one, must be the
  server the request was sent to (``bad-origin``, 403).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from hotline.exceptions import BadHost, BadOrigin, UnsupportedMediaType

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def split_host(host: str) -> tuple[str, int | None]:
    """``Example.org:8080`` -> (``example.org``, 8080); ``[::1]:80`` -> (``::1``, 80)."""
    parts = urlsplit("//" + host.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    return (parts.hostname or "").rstrip("."), port


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def host_allowed(host: str, allowed: frozenset[str]) -> bool:
    name, _ = split_host(host)
    return bool(name) and (_is_ip(name) or name in allowed)


def origin_matches(origin: str, host: str) -> bool:
    """Is ``Origin`` (``http://name:port``) the same server as ``Host``? A Host without a port
    means the origin scheme's default port (behind a TLS proxy the request itself may be http)."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return False   # "null" (sandboxed pages, file:) and anything odd
    try:
        origin_port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        return False
    name, port = split_host(host)
    return (parts.hostname.rstrip("."), origin_port) == (name, port or _DEFAULT_PORTS[parts.scheme])


def web_guard(*, open_api: Callable[[], bool], bind: str = "127.0.0.1", allowed_hosts: Iterable[str] = ()
              ) -> Middleware:
    """``open_api()`` says whether the API has no users (then the Host check applies)."""
    allowed = frozenset({*LOCAL_NAMES, bind.lower(), *(h.lower().rstrip(".") for h in allowed_hosts)})

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        host = request.headers.get("Host")
        if open_api() and host is not None and not host_allowed(host, allowed):
            raise BadHost(host)
        if request.method in WRITES:
            if request.body_exists and request.content_type != "application/json":
                raise UnsupportedMediaType(request.headers.get("Content-Type", ""))
            origin = request.headers.get("Origin")
            if origin is not None and not origin_matches(origin, host or ""):
                raise BadOrigin(origin, host or "")
        return await handler(request)

    return middleware
