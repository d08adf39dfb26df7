"""The composition root: the one place that builds every long-lived object.

Threads and loops, and why:
* the main asyncio loop runs the AMI client, the call tracker and the HTTP API;
* a thread follows Asterisk's CEL JSON log (the source of call records), its events to the tracker;
* the FastAGI server runs in its own process (``hotline/agi_process.py``), so its latency does not
  depend on the AMI event volume; a supervisor task replaces it when it dies or stops making progress;
* the record journal's writer is a thread (blocking database I/O), supervised (``_supervise_journal``);
  the record feeder, a thread, appends live records to the journal, held while appends fail;
* a probe thread asks the database whether it answers (``/status`` never waits); ``controller.lock`` guards the state;
* reconciliation from the CEL log runs in worker threads; a pass appends its records to the
  journal (fsynced) before it saves its CEL offset (``_save_reconciled_offset``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from aiohttp import web

from hotline import asterisk_runtime
from hotline.agi_process import AgiProcess
from hotline.ami import AmiClient, actions as ami_actions
from hotline.api.app import MAX_FIELD, MAX_LINE, build_app
from hotline.auth.services import AuthService
from hotline.calls.cel import CelEvent
from hotline.calls.celpos import CelPosition
from hotline.calls.control import CallControl
from hotline.calls.downtime import AsteriskLosses
from hotline.compose import build_services
from hotline.callbacks.intents import IntentFile
from hotline.callbacks.services import CallbackService
from hotline.records.call import CallRecord
from hotline.calls.services import CallTracker, Reconciler, directory_for
from hotline.calls.tail import CelTail
from hotline.config.paths import Paths
from hotline.config.site import SiteConfig
from hotline.disk.services import DiskService
from hotline.exceptions import AsteriskRuntimeError, HotlineError, StoreError
from hotline.filemodes import write_durably
from hotline.live.hub import LiveHub
from hotline.seats.services import SEAT_EVENTS
from hotline.seats.statelog import SeatStateLog
from hotline.store import Store
from hotline.statelock import StateDirLock
from hotline.store.feeder import RecordFeeder
from hotline.store.journal import RecordJournal
from hotline.store.probe import StoreProbe
from hotline.work_orders import testclock

log = logging.getLogger(__name__)

# The live tail reads the same CEL log, so this pass is only a safety net (calls whose
# events the tail handed over partially are reconciled at once, not on this timer).
RECONCILE_EVERY_S = 300.0
KPI_EVERY_S = 10.0
JOURNAL_CHECK_EVERY_S = 5.0


def store_url(site: SiteConfig, paths: Paths) -> str:
    return site.store.url or f"sqlite:///{paths.sqlite_path}"


class _OffsetFile:
    """The reconciler's position in the CEL log, kept beside the state (not in the database,
    which may be the thing that is down): the offset and the identity of the file it is in
    (:class:`~hotline.calls.celpos.CelPosition`); a bare number (the older format) is read too."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> CelPosition:
        """Nothing read yet when there is no file; an unreadable file raises (the pass is retried
        later) instead of replaying the whole log. A bare number (the older format) is an offset."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return CelPosition(0)
        try:
            return CelPosition.from_text(text)
        except ValueError:
            log.error("%s holds %r, not a CEL position: reading the CEL log from the start", self.path, text[:80])
            return CelPosition(0)

    def save(self, position: CelPosition | int) -> None:
        """Durably (fsynced, atomic): after a power cut it is the old or the new position."""
        write_durably(self.path, (CelPosition.coerce(position).to_json() + "\n").encode())


@dataclass
class Controller:
    site: SiteConfig
    paths: Paths
    store: Store = field(init=False)
    journal: RecordJournal = field(init=False)
    tracker: CallTracker = field(init=False)
    reconciler: Reconciler | None = field(init=False, default=None)
    ami: AmiClient = field(init=False)
    agi: AgiProcess = field(init=False)
    feeder: RecordFeeder = field(init=False)
    api_runner: web.AppRunner | None = field(init=False, default=None)
    control: CallControl = field(init=False)
    callbacks: CallbackService = field(init=False)

    def __post_init__(self) -> None:
        site, paths = self.site, self.paths
        paths.ensure()
        self.state_lock = StateDirLock(paths.state_dir)
        self.state_lock.acquire()  # first: a second controller must not touch the journal
        self.store = Store(store_url(site, paths), timezone=site.site.timezone)
        self.journal = RecordJournal(paths.journal_path, self.store)
        self.feeder = RecordFeeder(self.journal)
        self.db_probe = StoreProbe(self.store.ping_error)
        self._reconcile_batch: list[CallRecord] = []  # one reconcile pass's records (under its lock)
        directory = directory_for(site)
        self.tracker = CallTracker(directory, self._submit, on_partial=self._partial_seen)
        self.tail: CelTail | None = None
        self._asterisk_started: Callable[[], float | None] = lambda: None
        self._offsets = _OffsetFile(paths.state_dir / "cel.offset")
        # when the AMI connection dropped: a call an Asterisk restart cut is closed then
        self.asterisk_lost = AsteriskLosses(paths.state_dir / "asterisk.lost")
        self.tracker.lost_at = self.asterisk_lost.between
        recordings_dir = paths.state_dir / "recordings"   # as hotline.deploy without a runtime
        accounts: tuple[Path, Path] | None = None          # Asterisk's queue_log and CDR log (hotline.reconcile)
        try:
            runtime = asterisk_runtime.load(paths)
            recordings_dir = runtime.recordings_dir   # GET /api/calls/{id}/recording (hotline.recordings)
            accounts = (runtime.queue_log, runtime.cdr_log)
            self._asterisk_started = runtime.started_at
            self.reconciler = Reconciler(runtime.cel_log, directory, self._reconciled,
                                         self._offsets.load, self._save_reconciled_offset,
                                         started_at=runtime.started_at, lost_at=self.asterisk_lost.between)
            self.tail = CelTail(runtime.cel_log, self._from_tail)
        except AsteriskRuntimeError:
            log.warning("no local Asterisk runtime (hotline asterisk install): no CEL log to record calls from")
        ami = site.asterisk.ami
        self.ami = AmiClient(ami.bind if ami.bind not in ("0.0.0.0", "::") else "127.0.0.1", ami.port,
                             ami.username, paths.ami_secret(), on_login=self._resync,
                             on_lost=self.asterisk_lost.note)
        self.hub = LiveHub(site.redis.url, site=site.site.id, node=site.site.node)
        self.seat_log = SeatStateLog(self.store)
        self.order_clock = testclock.from_env(os.environ)   # tests only (refused under systemd)
        kpi_clock = testclock.from_env(os.environ, testclock.KPI_ENV)   # tests only, likewise
        # Every service, once: the same objects follow the events here and serve the API.
        self.services = build_services(
            site, self.store, ami_send=self.ami.send, hub=self.hub, tracker=self.tracker, directory=directory,
            auth=AuthService.for_state_dir(site.users, paths.state_dir), status=self.status,
            database_status=self.database_status, seat_log=self.seat_log,
            intents=IntentFile(paths.state_dir / "callbacks.pending.json"), order_clock=self.order_clock,
            kpi_clock=kpi_clock, recordings_dir=recordings_dir, asterisk_accounts=accounts)
        self.control = self.services.control
        self.tracker.subscribe(self.control.on_event)
        self.seats = self.services.seats
        self.prom = self.services.prom   # /metrics: every record written is counted once
        for name in SEAT_EVENTS:   # the seats' states; a freed seat wakes its next caller (hotline.seats.nudge)
            self.ami.on(name, self.seats.on_ami_event)
            self.ami.on(name, self.services.nudge.on_ami_event)
        self.callbacks = self.services.callbacks
        self.tracker.subscribe(self.callbacks.on_event)
        self.outbox = self.services.outbox   # order events to the order system's webhooks
        fa = site.asterisk.fastagi
        self.agi = AgiProcess(site.model_dump(mode="json"), fa.bind, fa.port, read_timeout=fa.timeout_ms / 1000,
                              store_url=store_url(site, paths),   # repeat callers: seeded read-only
                              report_every=fa.report_ms / 1000, stall_after=fa.stall_after_ms / 1000,
                              key=paths.agi_key())
        self._tasks: list[asyncio.Task[Any]] = []
        self._store_ready = asyncio.Event()
        self._reconciled_count = 0  # records written by the reconciler (not the ones the live path had)
        # Free space alarm and retention (hotline/disk): recordings of live calls are never deleted.
        self.disk = DiskService.for_site(site.retention, paths,
                                         lambda: {str(c["call_id"]) for c in self.tracker.live_calls()},
                                         ami_send=self.ami.send, ami_ready=self.ami.logged_in)  # LoggerRotate

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        try:
            self.agi.start()  # first: the dialplan routes every call through it
        except HotlineError as exc:  # e.g. its port taken: calls fail open; the supervisor retries
            log.error("%s; calls fail open to their queues until it starts", exc.message)
        self._tasks.append(asyncio.create_task(self.agi.supervise()))
        await self.disk.check()
        for part in (self.journal, self.feeder, self.db_probe, self.seat_log):
            part.start()
        self._tasks.append(asyncio.create_task(self._supervise_journal()))
        self._tasks.append(asyncio.create_task(self._prepare_store()))
        await self.reconcile()  # calls that ended while we were down
        self._loop = asyncio.get_running_loop()
        self.callbacks.start()
        self.services.revisits.start()
        self.services.duty_probes.start()
        self.outbox.start()
        if self.tail is not None:
            # From where the reconciler stopped: the calls still in progress are read whole.
            self.tail.start(self._offsets.load())
            self._tasks.append(asyncio.create_task(self.asterisk_lost.close_when_dead(   # one that stays dead
                lambda: self.ami.connected, self._asterisk_started, self.tracker.cut_before)))
        await self.hub.start()
        self.seats.publish_all()
        await self.ami.start()
        self._tasks += [asyncio.create_task(job.run()) for job in (
            self.services.pool, self.services.pool_order, self.services.node_loss, self.services.relay) if job]
        self._tasks += [asyncio.create_task(c) for c in (self._periodic_reconcile(), self._publish_kpis(),
                                                         self.disk.run())]
        sweep_every = testclock.SWEEP_SECONDS if self.order_clock else 300.0
        self._tasks.append(asyncio.create_task(self.services.work_orders.supervise(sweep_every)))  # 督办 sweep
        revisit_every = testclock.SWEEP_SECONDS if self.order_clock else 5.0
        self._tasks += [asyncio.create_task(periodic) for periodic in (   # 回访 calls, duty-phone tests, 热点预警
            self.services.revisits.run(revisit_every), self.services.duty_probes.run(revisit_every),
            self.services.hotspots.run(revisit_every if self.order_clock else None))]   # else its every_seconds
        app = build_app(self.services)
        self.api_runner = web.AppRunner(app, access_log=None, max_line_size=MAX_LINE, max_field_size=MAX_FIELD)
        await self.api_runner.setup()
        api = self.site.api
        await web.TCPSite(self.api_runner, api.bind, api.port).start()
        log.info("controller up: API http://%s:%s, FastAGI %s:%s, AMI %s:%s", api.bind, api.port,
                 self.site.asterisk.fastagi.bind, self.agi.port, self.ami.host, self.ami.port)

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await self.control.stop()
        self.seats.stop()
        self.services.nudge.stop()
        await self.callbacks.stop()
        await self.services.revisits.stop()
        await self.services.duty_probes.stop()
        await self.outbox.stop()
        if self.tail is not None:
            self.tail.stop()
        await self.ami.stop()
        if self.api_runner:
            await self.api_runner.cleanup()
        await self.hub.stop()
        self.agi.stop()
        await self.reconcile()
        self.feeder.stop()
        self.seat_log.stop()
        self.journal.stop()
        self.db_probe.stop()
        self.store.close()
        self.state_lock.release()

    def database_status(self) -> dict[str, Any]:   # migrated: the schema is up to date (else store-unavailable)
        return {**self.db_probe.status(), "migrated": self._store_ready.is_set()}

    async def _prepare_store(self) -> None:
        delay = 0.5
        while True:
            try:
                await asyncio.to_thread(self.store.upgrade)
                self._store_ready.set()
                return
            except StoreError as exc:
                log.warning("database not ready (%s); records stay in the journal; retrying", exc.message)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def reconcile(self) -> int:
        if self.reconciler is None:
            return 0
        try:
            return await asyncio.to_thread(self.reconciler.run)
        except Exception:  # a failing pass is retried by the next one; start-up must go on
            log.exception("reconcile from the CEL log failed")
            return 0

    async def _publish_kpis(self) -> None:
        """Today's KPIs and the rolling 24 h answer rate for the wallboard, every KPI_EVERY_S."""
        metrics = self.services.metrics
        while True:
            try:
                self.hub.update_kpi(await asyncio.to_thread(metrics.today))
            except StoreError as exc:
                log.warning("wallboard KPIs not refreshed: %s", exc.message)
            except Exception:
                log.exception("wallboard KPIs not refreshed")
            await asyncio.sleep(KPI_EVERY_S)

    async def _periodic_reconcile(self) -> None:
        while True:   # a safety net: the live path records calls
            await asyncio.sleep(RECONCILE_EVERY_S)
            await self.reconcile()

    def _from_tail(self, events: list[CelEvent]) -> None:
        """From the tail's thread: hand the events to the tracker on the loop."""
        self._loop.call_soon_threadsafe(self._track, events)

    def _track(self, events: list[CelEvent]) -> None:
        for event in events:
            try:
                self.tracker.add(event)
            except Exception:  # one bad event must not stop the ones after it
                log.exception("tracking CEL event %s of %s failed", event.name, event.linkedid)

    def _submit(self, record: CallRecord) -> None:
        """Every record written (live or reconciled): to the journal, and to the callback service
        (callback requests and tries end there, also those made while the controller was down)."""
        self.feeder.submit(record)
        self.callbacks.on_record(record)
        self.services.revisits.on_record(record)   # a 回访 try's record ends the try
        self.services.duty_probes.on_record(record)   # so does a duty-phone test's
        self.prom.observe(record)

    def _reconciled(self, record: CallRecord) -> None:
        """From a worker thread: the live path already wrote what it saw whole, if its record
        is durable in the journal (a record still held by the feeder is written here too)."""
        if not (self.tracker.recorded_live(record.call_id) and self.feeder.durable(record.call_id)):
            self._reconcile_batch.append(record)

    def _save_reconciled_offset(self, offset: CelPosition) -> None:
        """From the reconciler, before it moves its CEL offset: the pass's records go to the
        journal synchronously (one fsync) first. If the append fails this raises, the offset
        stays where it was and the next pass reads the same calls again."""
        batch, self._reconcile_batch = self._reconcile_batch, []
        if batch:
            self.journal.submit_many(batch)
            self.feeder.settled([r.call_id for r in batch])
            self._reconciled_count += len(batch)
            for record in batch:
                self.callbacks.on_record(record)
                self.services.revisits.on_record(record)
                self.services.duty_probes.on_record(record)
                self.prom.observe(record)
        self._offsets.save(offset)

    async def _supervise_journal(self) -> None:
        """The journal writer never dies silently: a dead one is started again."""
        while True:
            await asyncio.sleep(JOURNAL_CHECK_EVERY_S)
            self.journal.ensure_writer()

    def _partial_seen(self, linkedid: str) -> None:
        # The CEL log may be written a moment after AMI delivered the event.
        async def later() -> None:
            for delay in (0.3, 1.0, 3.0):
                await asyncio.sleep(delay)
                if await self.reconcile():
                    return
        self._tasks.append(asyncio.ensure_future(later()))

    async def _resync(self) -> None:
        """After every (re)login: learn what is live now, and recover what ended during the gap."""
        resp = await self.ami.send(ami_actions.core_show_channels())
        count = len([m for m in resp if m.get("Event") == "CoreShowChannel"]) if isinstance(resp, list) else 0
        log.info("AMI re-sync: %d live channel(s)", count)
        started = self._asterisk_started()
        if started is not None:   # calls cut by an Asterisk restart: closed with their own outcome
            self.tracker.cut_before(started)
        await self.seats.resync()
        self.services.nudge.reseed(self.seats.queues.values())   # the callers who joined while AMI was away
        await self.reconcile()

    def status(self) -> dict[str, Any]:
        return {
            "ami": self.ami.status(),
            "fastagi": self.agi.status(),
            "journal": {**self.journal.status(), "held": self.feeder.held(), "dropped": self.feeder.dropped},
            "cel_tail": self.tail.status() if self.tail else {"ok": False, "error": "no local Asterisk runtime"},
            "calls": {"ok": True, "live": self.tracker.live_count, "completed": self.tracker.completed,
                      "node_loss": self.services.node_loss.status() if self.services.node_loss else None,
                      "reconciled": self._reconciled_count,
                      "cut_by_restart": self.tracker.cut + (self.reconciler.cut if self.reconciler else 0)},
            "callbacks": {"ok": True, **self.callbacks.status()},
            "outbox": self.outbox.status(),
            "revisits": self.services.revisits.status(), "duty_probes": self.services.duty_probes.status(),
            "hotspots": self.services.hotspots.status(),
            # Redis down is "degraded", not down: calls and seat state go on without it.
            "live": {**self.hub.status(), "ok": True, "degraded": not self.hub.status()["ok"]},
            "disk": self.disk.status(),   # ok false only when critical: then /status is 503
            "seats": {"ok": True, **self.seats.stats,   # events, auto_paused, resyncs, requeued (browser phones)
                      "unreachable_logouts": self.seats.reach.logouts, "unreachable": self.seats.reach.pending(),
                      "state_log_pending": self.seat_log.pending(), "state_log_dropped": self.seat_log.stats["dropped"],
                      "pool": self.services.pool.status() if self.services.pool else None,   # one seat pool
                      "wake": self.services.nudge.status()},   # callers woken by a freed seat
        }


def run(site: SiteConfig, paths: Paths) -> int:
    async def main() -> None:
        controller = Controller(site, paths)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await controller.start()
        (paths.state_dir / "controller.ready").write_text("ready\n")
        try:
            await stop.wait()
        finally:
            (paths.state_dir / "controller.ready").unlink(missing_ok=True)
            await controller.stop()

    asyncio.run(main())
    return 0
