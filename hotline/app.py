"""The composition root: the one place that builds every long-lived object.

Threads and loops, and why:
* the main asyncio loop runs the AMI client, the call tracker and the HTTP API;
* the FastAGI server runs on its own loop in its own thread, so its latency does
  not depend on the AMI event volume (the dialplan waits on it for every call);
* the record journal's writer is a thread (blocking database I/O);
* reconciliation from the CEL log runs in worker threads.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from agi_scripts.routes import build_router
from agi_scripts.server import FastAgiServer
from hotline import asterisk_runtime
from hotline.ami import AmiClient
from hotline.ami import actions as ami_actions
from hotline.api.app import ApiServices, build_app
from hotline.calls.services import CallTracker, Reconciler, directory_for
from hotline.config.paths import Paths
from hotline.config.site import SiteConfig
from hotline.exceptions import AsteriskRuntimeError, StoreError
from hotline.store import Store
from hotline.store.journal import RecordJournal

log = logging.getLogger(__name__)

RECONCILE_EVERY_S = 30.0


def store_url(site: SiteConfig, paths: Paths) -> str:
    return site.store.url or f"sqlite:///{paths.sqlite_path}"


class _OffsetFile:
    """The reconciler's position in the CEL log, kept beside the state (not in the database,
    which may be the thing that is down)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> int:
        try:
            return int(self.path.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def save(self, offset: int) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"{offset}\n")
        tmp.replace(self.path)


class AgiThread:
    """The FastAGI server on a dedicated event loop in its own thread."""

    def __init__(self, server: FastAgiServer) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fastagi", daemon=True)
        self.error: str | None = None

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self.server.start(), self._loop)
        try:
            fut.result(timeout)
        except Exception as exc:
            self.error = str(exc)
            raise

    def stop(self) -> None:
        if self._thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(5)
            except Exception:
                log.exception("FastAGI: stop failed")
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        self._loop.close()

    def status(self) -> dict[str, Any]:
        st = self.server.stats
        out: dict[str, Any] = {"ok": self.error is None and self._thread.is_alive(), "port": self.server.bound_port
                               if self.error is None else None, "commands": st.commands.count}
        if self.error:
            out["error"] = self.error
        if st.commands.count:
            out["command_p50_ms"] = round(st.commands.percentile(50) * 1000, 3)
            out["command_p99_ms"] = round(st.commands.percentile(99) * 1000, 3)
        return out


@dataclass
class Controller:
    site: SiteConfig
    paths: Paths
    store: Store = field(init=False)
    journal: RecordJournal = field(init=False)
    tracker: CallTracker = field(init=False)
    reconciler: Reconciler | None = field(init=False, default=None)
    ami: AmiClient = field(init=False)
    agi: AgiThread = field(init=False)
    api_runner: web.AppRunner | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        site, paths = self.site, self.paths
        paths.ensure()
        self.store = Store(store_url(site, paths), timezone=site.site.timezone)
        self.journal = RecordJournal(paths.journal_path, self.store)
        directory = directory_for(site)
        self.tracker = CallTracker(directory, self.journal.submit, on_partial=self._partial_seen)
        try:
            runtime = asterisk_runtime.load(paths)
            offsets = _OffsetFile(paths.state_dir / "cel.offset")
            self.reconciler = Reconciler(runtime.cel_log, directory, self.journal.submit,
                                         offsets.load, offsets.save)
        except AsteriskRuntimeError:
            log.warning("no local Asterisk runtime: calls missed while down will not be reconciled")
        ami = site.asterisk.ami
        self.ami = AmiClient(ami.bind if ami.bind not in ("0.0.0.0", "::") else "127.0.0.1", ami.port,
                             ami.username, paths.ami_secret(), on_login=self._resync)
        self.ami.on("CEL", self.tracker.on_ami_event)
        fa = site.asterisk.fastagi
        self.agi = AgiThread(FastAgiServer(build_router(site), fa.bind, fa.port,
                                           read_timeout=fa.timeout_ms / 1000))
        self._tasks: list[asyncio.Task[Any]] = []
        self._store_ready = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        self.agi.start()  # first: the dialplan needs it for every call
        self.journal.start()
        self._tasks.append(asyncio.create_task(self._prepare_store()))
        await self.reconcile()  # calls that ended while we were down
        await self.ami.start()
        self._tasks.append(asyncio.create_task(self._periodic_reconcile()))
        app = build_app(ApiServices(store=self.store, status=self.status))
        self.api_runner = web.AppRunner(app, access_log=None)
        await self.api_runner.setup()
        api = self.site.api
        await web.TCPSite(self.api_runner, api.bind, api.port).start()
        log.info("controller up: API http://%s:%s, FastAGI %s:%s, AMI %s:%s", api.bind, api.port,
                 self.site.asterisk.fastagi.bind, self.agi.server.bound_port, self.ami.host, self.ami.port)

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await self.ami.stop()
        if self.api_runner:
            await self.api_runner.cleanup()
        self.agi.stop()
        await self.reconcile()
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

    async def _periodic_reconcile(self) -> None:
        while True:
            await asyncio.sleep(RECONCILE_EVERY_S)
            await self.reconcile()

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
        await self.reconcile()

    def status(self) -> dict[str, Any]:
        return {
            "ami": self.ami.status(),
            "fastagi": self.agi.status(),
            "journal": {"ok": True, "pending": self.journal.pending()},
            "calls": {"ok": True, "live": self.tracker.live_count, "completed": self.tracker.completed,
                      "reconciled": self.reconciler.records if self.reconciler else 0},
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
