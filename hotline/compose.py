"""Builds every service of the controller process once, from its adapters.

:class:`hotline.app.Controller` (the composition root) owns the adapters with a lifecycle — the
AMI client, the call tracker fed by the CEL tail, the live hub, the store, the user and token
service — and hands them to :func:`build_services`; the services built here are the ones the
controller subscribes to its events and the very same ones the HTTP API serves
(:class:`hotline.api.app.ApiServices`, nothing optional, no fallbacks). Tests call
:func:`build_services` with fakes at the same seams (an AMI ``send``, an in-memory hub).
"""

from __future__ import annotations

import dataclasses

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from hotline.ami.port import AmiPort, AmiSend
from hotline.api.app import ApiServices, StatusProvider
from hotline.audit.services import AuditService
from hotline.background import Duty
from hotline.auth.services import AuthService
from hotline.callbacks.intents import IntentFile
from hotline.callbacks.services import CallbackService
from hotline.calls.assemble import Directory
from hotline.calls.control import CallControl
from hotline.calls.node_loss import NodeLoss
from hotline.calls.relay import ControlRelay, live_items
from hotline.calls.services import CallTracker
from hotline.config.site import SiteConfig
from hotline.directory.services import DirectoryService
from hotline.duty_probes.services import DutyProbeService
from hotline.hotspots.services import HotspotService
from hotline.knowledge.services import KnowledgeService
from hotline.live.hub import LiveHub
from hotline.metrics.prom import PromMetrics
from hotline.metrics.services import MetricsService
from hotline.outbox.services import OutboxService
from hotline.pop.services import PopService, live_records
from hotline.recordings.services import RecordingService
from hotline.reconcile.services import ReconcileService
from hotline.revisits.services import RevisitService
from hotline.seats.browser_loss import BrowserAwareSeats
from hotline.seats.nudge import QueueNudge
from hotline.seats.order import PoolOrder
from hotline.seats.pool import PooledStateLog, SeatPool
from hotline.seats.services import StateLog
from hotline.spy.services import SpyService
from hotline.store import Store
from hotline.store.leases import DutyLeases
from hotline.store.open_calls import OpenCalls
from hotline.unit_scores.services import UnitScoreService
from hotline.work_orders.services import WorkOrderService
from queue_manager.seats import asterisk_wrapuptime

log = logging.getLogger(__name__)
DUTY_TTL_S = 30.0      # a site-wide round's lease (rounds every 5 s): another controller takes over after this
SWEEP_TTL_S = 900.0    # the 督办 sweep's (every 300 s)


def build_services(site: SiteConfig, store: Store, *, ami_send: AmiSend, hub: LiveHub, tracker: CallTracker,
                   directory: Directory, auth: AuthService, status: StatusProvider,
                   database_status: Callable[[], dict[str, Any]], seat_log: StateLog | None = None,
                   intents: IntentFile | None = None,
                   order_clock: Callable[[], datetime] | None = None,
                   kpi_clock: Callable[[], datetime] | None = None,
                   recordings_dir: Path | None = None,
                   asterisk_accounts: tuple[Path, Path] | None = None) -> ApiServices:
    """``seat_log`` (the seat state log) and ``intents`` (the callbacks' pending-intents file) are
    the controller's durable side files: a test without a state directory leaves them out;
    ``order_clock`` the work-order service's clock (None: the real one; see
    :mod:`hotline.work_orders.testclock`); ``kpi_clock`` the KPI service's (the rolling 24 h window;
    None: the real one); ``recordings_dir`` where Asterisk writes recordings
    (None: no recording is served); ``asterisk_accounts`` Asterisk's queue_log and CDR log (the
    reconciliation report; None: no local Asterisk)."""
    ami = AmiPort(ami_send)
    outbox = OutboxService(site.integration, site.site.id, store)
    work_orders = WorkOrderService(store, orders=site.orders, timezone=site.site.timezone, outbox=outbox,
                                   inbound_units={s.name: s.units for s in site.integration.systems}, now=order_clock)
    outbox.inbound_hook = work_orders.inbound   # an order system's change: its unit's lifecycle action
    audit = AuditService(store)
    duty_probes = DutyProbeService(site, store, ami, audit, now=work_orders.now)   # the order service's clock
    pooled_log = pooled_state_log(site, store, seat_log)   # a seat pool: one writer of the state log
    seats = BrowserAwareSeats(site, ami, hub, state_log=pooled_log or seat_log)   # browser phones lost: logged out
    if pooled_log is not None:
        pooled_log.seats = seats
    knowledge = KnowledgeService(site, store, now=work_orders.now)
    services = ApiServices(
        site=site, store=store, status=status, database_status=database_status, auth=auth,
        audit=audit,
        control=CallControl(site, tracker, ami, directory),
        live_calls=tracker.live_calls,
        seats=seats,
        live=hub,
        callbacks=CallbackService(site, store, ami, intents=intents),
        spy=SpyService(site, ami),
        prom=prom_metrics(site, hub),
        metrics=MetricsService(store, site, clock=kpi_clock),
        directory=DirectoryService(site),
        work_orders=work_orders,
        outbox=outbox,
        recordings=RecordingService(store, recordings_dir),
        reconcile=ReconcileService(store, site, queue_log=asterisk_accounts[0] if asterisk_accounts else None,
                                   cdr_log=asterisk_accounts[1] if asterisk_accounts else None),
        revisits=RevisitService(site, store, ami, work_orders, audit),   # its clock: the order service's
        duty_probes=duty_probes,
        # 电话接通率: the dial tests' 不通 events; 知识库: the entries' update times
        unit_scores=UnitScoreService(site, store, work_orders, probes=duty_probes, knowledge=knowledge),
        knowledge=knowledge,
        pop=PopService(site, seats, store, live_records(tracker, directory)),   # the seat's screen pop
        hotspots=HotspotService(site, store, now=work_orders.now, publish=hub.update_hotspots),   # 热点预警
        nudge=QueueNudge(ami_send, {q.name: asterisk_wrapuptime(q.wrapup) for q in site.queues}),
    )
    share_duties(services)
    if site.edge is not None and site.site.node is not None:   # a node lost for good: others close its calls
        services = dataclasses.replace(services, node_loss=NodeLoss(tracker, OpenCalls(store, site.site.node),
                                                                    directory, site.edge.node_lost_after_s))
    return seat_pool(services, pooled_log, hub, ami_send)


def pooled(site: SiteConfig) -> bool:
    """Behind the edge with a node name and Redis, this node's seats are in the one seat pool of
    the edge's nodes (:mod:`hotline.seats.pool`)."""
    return site.edge is not None and site.site.node is not None and bool(site.redis.url)


def pooled_state_log(site: SiteConfig, store: Store, seat_log: StateLog | None) -> PooledStateLog | None:
    if not pooled(site) or seat_log is None:
        return None
    assert site.site.node is not None
    return PooledStateLog(seat_log, Duty("seat_state_log", DutyLeases(store, site.site.node).hold, DUTY_TTL_S, log))


def seat_pool(services: ApiServices, state_log: PooledStateLog | None, hub: LiveHub, ami_send: AmiSend) -> ApiServices:
    """The pool's logins and pauses (Redis), and its one order over the nodes (the live hub's view
    of the other nodes' callers told to this node's Asterisk)."""
    site = services.site
    if not pooled(site):
        return services
    assert site.site.node is not None
    pool = SeatPool(services.seats, site.redis.url, site=site.site.id, node=site.site.node, state_log=state_log)
    control = services.control   # a call of another node: its controller acts on it
    relay = ControlRelay(control, lambda: live_items(control, services.live_calls), site.redis.url, site=site.site.id,
                         node=site.site.node, nodes=[n.name for n in site.edge.nodes] if site.edge else [])
    relay.seat_call, services.pop.peer_call = services.pop.live_call, relay.peer_seat_call   # the screen pop
    return dataclasses.replace(services, pool=pool, pool_order=PoolOrder(lambda: hub.peer_queues, ami_send),
                               relay=relay)


def share_duties(services: ApiServices) -> None:
    """With ``site.node`` several controllers may share the store: each site-wide round runs on the
    controller holding its lease (:mod:`hotline.store.leases`), renewed every round and passed on
    ``ttl`` seconds after its holder stopped renewing (a few rounds)."""
    site = services.site
    if site.site.node is None:
        return
    leases = DutyLeases(services.store, site.site.node)
    services.revisits.duty = Duty("revisits", leases.hold, DUTY_TTL_S, log)
    services.duty_probes.duty = Duty("duty_probes", leases.hold, DUTY_TTL_S, log)
    services.hotspots.duty = Duty("hotspots", leases.hold, max(DUTY_TTL_S, 3.0 * site.hotspots.every_seconds), log)
    services.work_orders.duty = Duty("order_sweep", leases.hold, SWEEP_TTL_S, log)


def prom_metrics(site: SiteConfig, live: LiveHub) -> PromMetrics:
    """A registry of its own, labelled ``site`` (``site.id``) and ``node``; seats by state from the live hub."""
    return PromMetrics(site.site.id, seats=lambda: list(live.seats.values()))
