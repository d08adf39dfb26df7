"""The composition root: the one place that builds every long-lived object.

Threads and loops, and why:
* the main asyncio loop runs the AMI client, the call tracker and the HTTP API;
* a thread follows Asterisk's CEL JSON log (the source of call records) and hands the
  events to the tracker on the loop;
* the FastAGI server runs on its own loop in its own thread, so its latency does
  not depend on the AMI event volume (the dialplan waits on it for every call);
* the record journal's writer is a thread (blocking database I/O);
* reconciliation from the CEL log runs in worker threads.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from aiohttp import web

from hotline import asterisk_runtime
from hotline.agi_process import AgiProcess
from hotline.ami import AmiClient
from hotline.ami import actions as ami_actions
from hotline.api.app import ApiServices, build_app
from hotline.auth.services import AuthService
from hotline.calls.cel import CelEvent
from hotline.calls.celpos import CelPosition
from hotline.calls.control import CallControl
from hotline.callbacks.intents import IntentFile
from hotline.callbacks.services import CallbackService
from hotline.calls.model import CallRecord
from hotline.calls.services import CallTracker, Reconciler, directory_for
from hotline.calls.tail import CelTail
from hotline.config.paths import Paths
from hotline.config.site import SiteConfig
from hotline.exceptions import AsteriskRuntimeError, StoreError
from hotline.live.hub import LiveHub
from hotline.seats.services import SEAT_EVENTS, SeatService
from hotline.seats.statelog import SeatStateLog
from hotline.metrics.services import MetricsService
from hotline.store import Store
from hotline.store.journal import RecordJournal

log = logging.getLogger(__name__)

# The live tail reads the same CEL log, so this pass is only a safety net (calls whose
# events the tail handed over partially are reconciled at once, not on this timer).
RECONCILE_EVERY_S = 300.0
KPI_EVERY_S = 10.0



def store_url(site: SiteConfig, paths: Paths) -> str:
    return site.store.url or f"sqlite:///{paths.sqlite_path}"


class _OffsetFile:
    """The reconciler's position in the CEL log, kept beside the state (not in the database,
    which may be the thing that is down): the offset and the identity of the file it is in
    (:class:`~hotline.calls.celpos.CelPosition`); a bare number (the older format) is read too."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> CelPosition:
        try:
            return CelPosition.from_text(self.path.read_text())
        except FileNotFoundError:
            return CelPosition(0)
        except (OSError, ValueError) as exc:
            log.warning("CEL position %s unreadable (%s): reading the CEL log from the start", self.path, exc)
            return CelPosition(0)

    def save(self, position: CelPosition | int) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(CelPosition.coerce(position).to_json() + "\n")
        tmp.replace(self.path)


class RecordFeeder:
    """Takes records off the event loop: a thread appends them to the journal in batches,
    one fsync per batch (group commit). A record queued here and lost in a crash is not
    lost for good: the CEL log still has its events and the reconciler rebuilds it."""

    def __init__(self, journal: RecordJournal, max_batch: int = 256) -> None:
        self._journal = journal
        self._queue: queue.SimpleQueue[CallRecord | None] = queue.SimpleQueue()
        self._max_batch = max_batch
        self._thread = threading.Thread(target=self._run, name="record-feeder", daemon=True)
        self.errors = 0

    def submit(self, record: CallRecord) -> None:
        self._queue.put(record)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            batch = [] if first is None else [first]
            stopping = first is None
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            if batch:
                try:
                    self._journal.submit_many(batch)
                except OSError:
                    self.errors += len(batch)
                    log.exception("journal append failed for %d record(s); the reconciler will rebuild them",
                                  len(batch))
            if stopping:
                return


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
        self.store = Store(store_url(site, paths), timezone=site.site.timezone)
        self.journal = RecordJournal(paths.journal_path, self.store)
        self.feeder = RecordFeeder(self.journal)
        directory = directory_for(site)
        self.tracker = CallTracker(directory, self._submit, on_partial=self._partial_seen)
        self.tail: CelTail | None = None
        self._asterisk_started: Callable[[], float | None] = lambda: None
        self._offsets = _OffsetFile(paths.state_dir / "cel.offset")
        try:
            runtime = asterisk_runtime.load(paths)
            self._asterisk_started = runtime.started_at
            self.reconciler = Reconciler(runtime.cel_log, directory, self._reconciled,
                                         self._offsets.load, self._offsets.save, started_at=runtime.started_at)
            self.tail = CelTail(runtime.cel_log, self._from_tail)
        except AsteriskRuntimeError:
            log.warning("no local Asterisk runtime (hotline asterisk install): no CEL log to record calls from")
        ami = site.asterisk.ami
        self.ami = AmiClient(ami.bind if ami.bind not in ("0.0.0.0", "::") else "127.0.0.1", ami.port,
                             ami.username, paths.ami_secret(), on_login=self._resync)
        self.control = CallControl(site, self.tracker, self.ami.send, directory)
        self.tracker.subscribe(self.control.on_event)
        self.hub = LiveHub(site.redis.url)
        self.seat_log = SeatStateLog(self.store)
        self.seats = SeatService(site, self.ami.send, self.hub, state_log=self.seat_log)
        for name in SEAT_EVENTS:
            self.ami.on(name, self.seats.on_ami_event)
        self.callbacks = CallbackService(site, self.store, self.ami.send,
                                         intents=IntentFile(paths.state_dir / "callbacks.pending.json"))
        self.tracker.subscribe(self.callbacks.on_event)
        fa = site.asterisk.fastagi
        self.agi = AgiProcess(site.model_dump(mode="json"), fa.bind, fa.port, read_timeout=fa.timeout_ms / 1000,
                              store_url=store_url(site, paths))   # repeat callers: seeded read-only
        self._tasks: list[asyncio.Task[Any]] = []
        self._store_ready = asyncio.Event()
        self._reconciled_count = 0  # records written by the reconciler (not the ones the live path had)

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        self.agi.start()  # first: the dialplan needs it for every call
        self.journal.start()
        self.feeder.start()
        self.seat_log.start()
        self._tasks.append(asyncio.create_task(self._prepare_store()))
        await self.reconcile()  # calls that ended while we were down
        self._loop = asyncio.get_running_loop()
        self.callbacks.start()
        if self.tail is not None:
            # From where the reconciler stopped: the calls still in progress are read whole.
            self.tail.start(self._offsets.load())
        await self.hub.start()
        self.seats.publish_all()
        await self.ami.start()
        self._tasks.append(asyncio.create_task(self._periodic_reconcile()))
        self._tasks.append(asyncio.create_task(self._publish_kpis()))
        auth = AuthService.for_state_dir(self.site.users, self.paths.state_dir)
        app = build_app(ApiServices(store=self.store, status=self.status, control=self.control,
                                    live_calls=self.tracker.live_calls, site=self.site, seats=self.seats,
                                    live=self.hub, callbacks=self.callbacks, auth=auth, ami_send=self.ami.send))
        self.api_runner = web.AppRunner(app, access_log=None)
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
        await self.callbacks.stop()
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
        self.store.close()

    # -- behaviour -----------------------------------------------------------------------
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
        metrics = MetricsService(self.store, self.site)
        while True:
            try:
                self.hub.update_kpi(await asyncio.to_thread(metrics.today))
            except StoreError as exc:
                log.warning("wallboard KPIs not refreshed: %s", exc.message)
            except Exception:
                log.exception("wallboard KPIs not refreshed")
            await asyncio.sleep(KPI_EVERY_S)

    async def _periodic_reconcile(self) -> None:
        while True:
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

    def _reconciled(self, record: CallRecord) -> None:
        """From a worker thread: the live path already wrote what it saw whole."""
        if not self.tracker.recorded_live(record.call_id):
            self._reconciled_count += 1
            self._submit(record)

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
        await self.reconcile()

    def status(self) -> dict[str, Any]:
        return {
            "ami": self.ami.status(),
            "fastagi": self.agi.status(),
            "journal": {"ok": self.feeder.errors == 0, "pending": self.journal.pending(),
                        "append_errors": self.feeder.errors},
            "cel_tail": self.tail.status() if self.tail else {"ok": False, "error": "no local Asterisk runtime"},
            "calls": {"ok": True, "live": self.tracker.live_count, "completed": self.tracker.completed,
                      "reconciled": self._reconciled_count,
                      "cut_by_restart": self.tracker.cut + (self.reconciler.cut if self.reconciler else 0)},
            "callbacks": {"ok": True, **self.callbacks.status()},
            # Redis down is "degraded", not down: calls and seat state go on without it.
            "live": {**self.hub.status(), "ok": True, "degraded": not self.hub.status()["ok"]},
            "seats": {"ok": True, "events": self.seats.stats["events"], "auto_paused": self.seats.stats["auto_paused"],
                      "state_log_pending": self.seat_log.pending(), "state_log_dropped": self.seat_log.stats["dropped"]},
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
