"""The aiohttp application: wiring, ``/status``, ``/openapi.json`` and error handling.

Feature routes live in their feature's folder (``hotline.calls.http``,
``hotline.work_orders.http``, ...) and use the HTTP kit (``hotline.http``); :func:`build_app`
hands each its services, all built once by the composition root (``hotline.compose``).

Every error leaves as JSON ``{"error_id", "message", "details"}``: a
:class:`HotlineError` with its own id and HTTP status, a route or method that
does not exist as ``no-such-route`` / ``method-not-allowed``, and anything
unexpected as ``internal-error`` (traceback in the log, never in the body).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from hotline.calls import control_http, http as calls_http
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
from hotline.calls.node_loss import NodeLoss
from hotline.calls.relay import ControlRelay
from hotline.callbacks import http as callbacks_http
from hotline.callbacks.services import CallbackService
from hotline.config.site import SiteConfig
from hotline.directory import http as directory_http
from hotline.directory.services import DirectoryService
from hotline.exceptions import HotlineError
from hotline.hotspots import http as hotspots_http
from hotline.hotspots.services import HotspotService
from hotline.knowledge import http as knowledge_http
from hotline.knowledge.services import KnowledgeService
from hotline.live.hub import LiveHub
from hotline.seats import http as seats_http
from hotline.seats.services import SeatService
from hotline.seats.nudge import QueueNudge
from hotline.seats.order import PoolOrder
from hotline.seats.pool import SeatPool
from hotline.store import Store
from hotline.metrics import http as metrics_http
from hotline.metrics.prom import PromMetrics
from hotline.metrics.services import MetricsService
from hotline.reconcile import http as reconcile_http
from hotline.reconcile.services import ReconcileService
from hotline.outbox import http as outbox_http
from hotline.outbox.services import OutboxService
from hotline.pages import http as pages_http
from hotline.pop import http as pop_http
from hotline.pop.services import PopService
from hotline.portal import http as portal_http
from hotline.console import http as console_http
from hotline.recordings import http as recordings_http
from hotline.recordings.services import RecordingService
from hotline.duty_probes import http as duty_probes_http
from hotline.duty_probes.services import DutyProbeService
from hotline.revisits import http as revisits_http
from hotline.revisits.services import RevisitService
from hotline.spy import http as spy_http
from hotline.unit_scores import http as unit_scores_http
from hotline.unit_scores.services import UnitScoreService
from hotline.spy.services import SpyService
from hotline.wallboard import http as wallboard_http
from hotline.work_orders import http as work_orders_http
from hotline.work_orders.services import WorkOrderService

log = logging.getLogger(__name__)

StatusProvider = Callable[[], Awaitable[dict[str, Any]] | dict[str, Any]]
"""Returns the health of the components the composition root owns, e.g.
``{"ami": {"ok": True, ...}, "fastagi": {"ok": False, "error": "..."}}``."""


@dataclass(frozen=True)
class ApiServices:
    """Every service the API serves, fully built by the composition root (``hotline.compose``)."""

    site: SiteConfig
    store: Store
    status: StatusProvider                        # the health of the controller's components
    database_status: Callable[[], dict[str, Any]]  # a StoreProbe's: never waits on the database
    auth: AuthService                             # users and tokens; no users: the API is open
    audit: AuditService
    control: CallControl                          # transfers and three-way calls
    live_calls: LiveCalls                         # conversations in progress (the call tracker)
    seats: SeatService                            # seat login/pause and live queues
    live: LiveHub                                 # the live state: seat routes and the wallboard
    callbacks: CallbackService                    # queue callback and callbacks seats take
    spy: SpyService                               # listen/whisper/barge
    prom: PromMetrics                             # /metrics: the controller feeds its call counters
    metrics: MetricsService
    directory: DirectoryService
    work_orders: WorkOrderService
    outbox: OutboxService                         # order events to the order system, and its changes back
    recordings: RecordingService                  # calls' recordings: who may listen, which file
    reconcile: ReconcileService                   # our records against Asterisk's CDR and queue_log
    revisits: RevisitService                      # 回访 calls of verified orders
    duty_probes: DutyProbeService                 # dial tests of the units' duty phones
    unit_scores: UnitScoreService                 # the monthly unit score (考核)
    pop: PopService                               # the seat's screen pop (issue 13)
    hotspots: HotspotService                      # the hotspot warning (热点预警)
    knowledge: KnowledgeService                   # the knowledge base (知识库)
    nudge: QueueNudge                             # a freed seat wakes its next caller (hotline.seats.nudge)
    pool: SeatPool | None = None                  # one seat pool over the edge's nodes (hotline.seats.pool)
    pool_order: PoolOrder | None = None           # its one order of callers over the nodes (hotline.seats.order)
    node_loss: NodeLoss | None = None             # calls of a node lost for good closed (hotline.calls.node_loss)
    relay: ControlRelay | None = None             # call control of another node's calls (hotline.calls.relay)


SERVICES = web.AppKey("services", ApiServices)

_HTTP_ERROR_IDS = {404: "no-such-route", 405: "method-not-allowed", 413: "request-too-large"}


# The HTTP server's limits (aiohttp's RequestHandler): a request line of up to 256 KiB, so a
# search of 10 KB of any Unicode sent in the query string (up to 12 bytes a character once
# percent-encoded) is answered by its route, not refused with aiohttp's 400 page at 8 KiB.
MAX_LINE, MAX_FIELD = 256 * 1024, 16 * 1024


def build_app(services: ApiServices) -> web.Application:
    auth, audit, api = services.auth, services.audit, services.site.api
    guard = web_guard(open_api=lambda: not auth.enabled, bind=api.bind, allowed_hosts=api.allowed_hosts)
    # Outermost first: errors become JSON, then Host/Origin/Content-Type, then who is calling, then
    # the audit of what they did.
    app = web.Application(middlewares=[_error_middleware, guard, auth_middleware(auth), audit_middleware(audit)])
    app[SERVICES] = services
    app[DISCLOSURE] = Disclosure(audit, services.store.confidential_calls)
    app.router.add_get("/status", _status)
    app.router.add_get("/openapi.json", _openapi)
    control_http.add_routes(app, services.control, services.live_calls, services.relay)  # first: /api/calls/live
    calls_http.add_routes(app, services.store)
    work_orders_http.add_routes(app, services.work_orders)
    directory_http.add_routes(app, services.directory)
    metrics_http.add_routes(app, services.metrics, services.status, services.prom)
    seats_http.add_routes(app, services.seats, services.live)
    callbacks_http.add_routes(app, services.callbacks)
    auth_http.add_routes(app, auth, audit, unit_names={u.id: u.name for u in services.site.orders.units})
    app.on_cleanup.append(lambda _: _close(auth))
    audit_http.add_routes(app, audit)
    spy_http.add_routes(app, services.spy)
    wallboard_http.add_routes(app, services.live, services.site)
    outbox_http.add_routes(app, services.outbox)
    portal_http.add_routes(app, services.site.site.timezone)
    console_http.add_routes(app, services.site)   # the seat console and its browser phone
    recordings_http.add_routes(app, services.recordings, audit)
    pages_http.add_routes(app)   # the script the wallboard and the portal share
    reconcile_http.add_routes(app, services.reconcile)
    revisits_http.add_routes(app, services.revisits)
    duty_probes_http.add_routes(app, services.duty_probes)
    unit_scores_http.add_routes(app, services.unit_scores)
    pop_http.add_routes(app, services.pop, services.live)
    hotspots_http.add_routes(app, services.hotspots)
    knowledge_http.add_routes(app, services.knowledge)
    return app


async def _close(auth: AuthService) -> None:
    auth.close()


async def _status(request: web.Request) -> web.Response:
    """Every component's health; 503 as soon as one is not ok, so a probe needs no parsing."""
    services = request.app[SERVICES]
    provided = services.status()
    components = dict(await provided if inspect.isawaitable(provided) else provided)
    components["database"] = services.database_status()
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
