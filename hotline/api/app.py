"""The aiohttp application: wiring, ``/status``, ``/openapi.json`` and error handling.

Feature routes live next to their feature (``calls_http``,
``hotline.work_orders.http``) and get their dependencies passed in by
:func:`build_app`, the only place that knows them all.

Every error leaves as JSON ``{"error_id", "message", "details"}``: a
:class:`HotlineError` with its own id and HTTP status, a route or method that
does not exist as ``no-such-route`` / ``method-not-allowed``, and anything
unexpected as ``internal-error`` (traceback in the log, never in the body).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from hotline.api import calls_http, control_http
from hotline.calls.control_http import LiveCalls
from hotline.api.openapi import OPENAPI
from hotline.http.responses import json_response
from hotline.audit import http as audit_http
from hotline.audit.disclosure import DISCLOSURE, Disclosure
from hotline.audit.middleware import audit_middleware
from hotline.audit.services import AuditService
from hotline.auth import http as auth_http
from hotline.auth.middleware import auth_middleware
from hotline.auth.services import AuthService
from hotline.auth.webguard import web_guard
from hotline.calls.control import CallControl
from hotline.callbacks import http as callbacks_http
from hotline.callbacks.services import CallbackService
from hotline.config.site import SiteConfig
from hotline.directory import http as directory_http
from hotline.directory.services import DirectoryService
from hotline.exceptions import HotlineError
from hotline.live.hub import LiveHub
from hotline.seats import http as seats_http
from hotline.seats.services import SeatService
from hotline.store import Store
from hotline.metrics import http as metrics_http
from hotline.metrics.prom import PromMetrics
from hotline.metrics.services import MetricsService
from hotline.spy import http as spy_http
from hotline.spy.services import Sender, SpyService
from hotline.wallboard import http as wallboard_http
from hotline.work_orders import http as work_orders_http
from hotline.work_orders.services import WorkOrderService

log = logging.getLogger(__name__)

StatusProvider = Callable[[], Awaitable[dict[str, Any]] | dict[str, Any]]
"""Returns the health of the components the composition root owns, e.g.
``{"ami": {"ok": True, ...}, "fastagi": {"ok": False, "error": "..."}}``."""


@dataclass(frozen=True)
class ApiServices:
    """What the API needs from the rest of the process."""

    store: Store
    status: StatusProvider
    control: CallControl | None = None          # transfers and three-way calls (needs AMI)
    live_calls: LiveCalls | None = None          # conversations in progress (the call tracker)
    site: SiteConfig | None = None               # the directory (departments, numbers); None: empty
    seats: SeatService | None = None             # seat login/pause and live queues (needs AMI)
    live: LiveHub | None = None                  # the live state: seat routes and the wallboard
    auth: AuthService | None = None              # users and tokens; None or no users: the API is open
    ami_send: Sender | None = None               # AMI actions (listen/whisper/barge)
    callbacks: CallbackService | None = None     # queue callback and callbacks seats take (issue #3)
    database_status: Callable[[], dict[str, Any]] | None = None  # a StoreProbe's: never waits on the DB
    prom: PromMetrics | None = None              # /metrics: the controller feeds its call counters; None: a new one


SERVICES = web.AppKey("services", ApiServices)

_EMPTY_SITE = SiteConfig(trunks=[{"name": "none", "host": "127.0.0.1"}])  # type: ignore[list-item]

_PING_TIMEOUT_S = 5.0

_HTTP_ERROR_IDS = {404: "no-such-route", 405: "method-not-allowed", 413: "request-too-large"}


def build_app(services: ApiServices) -> web.Application:
    auth = services.auth or AuthService([], secrets.token_bytes(32))
    audit = AuditService(services.store)
    api = (services.site or _EMPTY_SITE).api
    guard = web_guard(open_api=lambda: not auth.enabled, bind=api.bind, allowed_hosts=api.allowed_hosts)
    # Outermost first: errors become JSON, then Host/Origin/Content-Type, then who is calling, then
    # the audit of what they did.
    app = web.Application(middlewares=[_error_middleware, guard, auth_middleware(auth), audit_middleware(audit)])
    app[SERVICES] = services
    app[DISCLOSURE] = Disclosure(audit, services.store.confidential_calls)
    app.router.add_get("/status", _status)
    app.router.add_get("/openapi.json", _openapi)
    control_http.add_routes(app, services.control, services.live_calls)  # first: /api/calls/live
    calls_http.add_routes(app, services.store)
    work_orders_http.add_routes(app, WorkOrderService(services.store))
    directory_http.add_routes(app, DirectoryService(services.site))
    metrics_http.add_routes(app, MetricsService(services.store, services.site), services.status,
                            services.prom or prom_metrics(services.site, services.live))
    if services.seats is not None and services.live is not None:
        seats_http.add_routes(app, services.seats, services.live)
    callbacks_http.add_routes(app, services.callbacks or CallbackService(services.site or _EMPTY_SITE,
                                                                         services.store, None))
    auth_http.add_routes(app, auth, audit)
    app.on_cleanup.append(lambda _: _close(auth))
    audit_http.add_routes(app, audit)
    spy_http.add_routes(app, SpyService(services.site, services.ami_send))
    wallboard_http.add_routes(app, services.live, services.site)
    return app


def prom_metrics(site: SiteConfig | None, live: LiveHub | None) -> PromMetrics:
    """A registry of its own, labelled ``site`` (``site.id``) and ``node``; seats by state from the live hub."""
    seats = (lambda: list(live.seats.values())) if live is not None else None
    return PromMetrics(site.site.id if site is not None else "hotline", seats=seats)


async def _close(auth: AuthService) -> None:
    auth.close()


async def _status(request: web.Request) -> web.Response:
    """Every component's health; 503 as soon as one is not ok, so a probe needs no parsing."""
    services = request.app[SERVICES]
    provided = services.status()
    components = dict(await provided if inspect.isawaitable(provided) else provided)
    if services.database_status is not None:
        components["database"] = services.database_status()
    else:  # no probe (tests, tools): ask now, but never wait on a hung database
        try:
            components["database"] = {"ok": await asyncio.wait_for(asyncio.to_thread(services.store.ping),
                                                                    _PING_TIMEOUT_S)}
        except TimeoutError:
            components["database"] = {"ok": False, "error": f"no answer within {_PING_TIMEOUT_S} s"}
    healthy = all(component.get("ok") is True for component in components.values())
    return json_response(components, status=200 if healthy else 503)


async def _openapi(request: web.Request) -> web.Response:
    return json_response(OPENAPI)


@web.middleware
async def _error_middleware(request: web.Request,
                            handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                            ) -> web.StreamResponse:
    try:
        return await handler(request)
    except HotlineError as exc:
        return json_response(exc.to_dict(), status=exc.http_status, headers=exc.headers() or None)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        body = {"error_id": _HTTP_ERROR_IDS.get(exc.status, "http-error"), "message": exc.reason,
                "details": {"method": request.method, "path": request.path}}
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return json_response(body, status=exc.status, headers=allow)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return json_response({"error_id": "internal-error", "message": "internal error, see the server log",
                              "details": {}}, status=500)
