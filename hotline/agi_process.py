"""The FastAGI server in its own process.

The dialplan waits on FastAGI for every call, while the controller's main process
parses thousands of AMI events a second under load. In one process they would share
the GIL; in two, the kernel schedules them apart, so FastAGI latency does not depend
on the AMI event volume (measured in bench/). The child needs nothing but the site
config: routing decisions are pure functions of it.

The child reports readiness (or the error that stopped it) and then, every half
second, its latency percentiles over a pipe. It exits when the parent does.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import os
import signal
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from hotline.exceptions import HotlineError

log = logging.getLogger(__name__)

REPORT_EVERY_S = 0.5


def _snapshot(server: Any) -> dict[str, Any]:
    st = server.stats
    out: dict[str, Any] = {"commands": st.commands.count, "connections": st.connections.count,
                           "port": server.bound_port}
    if st.commands.count:
        out["command_p50_ms"] = round(st.commands.percentile(50) * 1000, 3)
        out["command_p99_ms"] = round(st.commands.percentile(99) * 1000, 3)
    return out


SEED_TIMEOUT_S = 15.0


async def _seed(recent: Any, store_url: str, window_s: float) -> None:
    """Fill the repeat-caller memory from the store's records of the last window. Read-only; a
    dead or slow database is logged and skipped: FastAGI goes on with its memory of arrivals."""
    from hotline.store.recent import recent_callers

    if not store_url or window_s <= 0:
        return
    now = time.time()
    since = datetime.fromtimestamp(now - window_s, tz=UTC)
    try:
        arrivals = await asyncio.wait_for(asyncio.to_thread(recent_callers, store_url, since), SEED_TIMEOUT_S)
    except (HotlineError, TimeoutError) as exc:
        log.warning("repeat callers: store not read (%s); going on with memory only", exc or "timeout")
        return
    log.info("repeat callers: %d number(s) seeded from the store", recent.seed(arrivals, time.time()))


def _child(site_data: dict[str, Any], host: str, port: int, read_timeout: float, conn: Connection,
           store_url: str = "") -> None:
    from agi_scripts.routes import build_router, recent_callers_for
    from agi_scripts.server import FastAgiServer
    from hotline.config import parse_site

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    try:  # every call waits on us: ahead of the controller and of bulk work when CPU is short
        os.setpriority(os.PRIO_PROCESS, 0, -10)
    except OSError:
        pass  # not root: the normal priority
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s fastagi: %(message)s")
    parent = os.getppid()

    async def main() -> None:
        site = parse_site(site_data, "<controller>")
        recent = recent_callers_for(site)
        server = FastAgiServer(build_router(site, recent=recent), host, port, read_timeout=read_timeout)
        try:
            await server.start()
        except OSError as exc:
            conn.send({"error": f"cannot listen on {host}:{port}: {exc}"})
            return
        conn.send({"ready": True, **_snapshot(server)})
        seeding = asyncio.create_task(_seed(recent, store_url, recent.window_s))
        try:
            while os.getppid() == parent:
                await asyncio.sleep(REPORT_EVERY_S)
                conn.send(_snapshot(server))
        except (BrokenPipeError, EOFError, OSError):
            pass
        finally:
            seeding.cancel()
            await server.stop()

    asyncio.run(main())


class AgiProcess:
    def __init__(self, site_data: dict[str, Any], host: str, port: int, read_timeout: float,
                 store_url: str = "") -> None:
        ctx = mp.get_context("spawn")  # a clean interpreter: no threads or loops inherited
        self._conn, child_conn = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(site_data, host, port, read_timeout, child_conn, store_url),
                                 name="hotline-fastagi", daemon=True)
        self._child_conn = child_conn
        self._last: dict[str, Any] = {}
        self.error: str | None = None

    def start(self, timeout: float = 20.0) -> None:
        self._proc.start()
        self._child_conn.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._conn.poll(0.1):
                msg = self._conn.recv()
                if "error" in msg:
                    self.error = msg["error"]
                    raise HotlineError(f"FastAGI: {self.error}")
                self._last = msg
                return
            if not self._proc.is_alive():
                self.error = f"exited with code {self._proc.exitcode}"
                raise HotlineError(f"FastAGI process {self.error} while starting")
        raise HotlineError(f"FastAGI did not start within {timeout:.0f} s")

    @property
    def port(self) -> int | None:
        return self._last.get("port")

    def _drain(self) -> None:
        try:
            while self._conn.poll():
                self._last = self._conn.recv()
        except (EOFError, OSError):
            pass

    def status(self) -> dict[str, Any]:
        self._drain()
        alive = self._proc.is_alive()
        out = {"ok": alive and self.error is None, "pid": self._proc.pid, **{k: v for k, v in self._last.items()
                                                                            if k != "ready"}}
        if not alive:
            out["error"] = self.error or f"exited with code {self._proc.exitcode}"
        return out

    def stop(self) -> None:
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(2)
        self._conn.close()
