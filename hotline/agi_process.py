"""The FastAGI server in its own process, and the supervisor that keeps it answering.

The dialplan waits on FastAGI for every call, while the controller's main process
parses thousands of AMI events a second under load. In one process they would share
the GIL; in two, the kernel schedules them apart, so FastAGI latency does not depend
on the AMI event volume (measured in bench/). The child needs nothing but the site
config: routing decisions are pure functions of it.

Nothing on the call path may wait on a reader (issue #8: the child once reported into a
pipe that only ``GET /status`` drained; 5 minutes without a reader filled the pipe, the
child blocked in its write and every call waited on it). So:

* the child sends exactly one message over the pipe (ready, or the error that stopped
  it) and then closes it;
* after that it reports into a small block of shared memory (``_Board``: a heartbeat
  and its latency figures), which it overwrites every ``report_every`` seconds and which
  never blocks, whoever reads it or not;
* the parent's :meth:`AgiProcess.supervise` (a task on the controller's loop) replaces a
  child that died or whose heartbeat is older than ``stall_after`` (blocked, SIGSTOPped):
  it kills it (SIGKILL) and starts another on the same port. A child that cannot bind
  (the port taken by another process) is retried with backoff; the controller runs on.

Whatever the child does, the dialplan bounds the routing step itself (``hotline-route``
in ``trunk_config/inbound.py``: an absolute timeout around ``AGI()``, fail-open to the
number's queue, CEL mark ``HOTLINE_ROUTING_FALLBACK``), so a call never waits on it for
longer than ``asterisk.fastagi.timeout_ms``.
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
STALL_AFTER_S = 5.0
SEED_TIMEOUT_S = 15.0

# The shared board: one double per slot, written by the child only.
_HEARTBEAT, _COMMANDS, _CONNECTIONS, _P50_MS, _P99_MS, _PORT, _SLOTS = range(7)


class _Board:
    """What the child reports, in shared memory: aligned 8-byte stores, no lock, no reader needed."""

    def __init__(self, ctx: Any) -> None:
        self.values = ctx.RawArray("d", _SLOTS)

    @staticmethod
    def write(values: Any, server: Any) -> None:
        st = server.stats
        values[_COMMANDS] = st.commands.count
        values[_CONNECTIONS] = st.connections.count
        if st.commands.count:
            values[_P50_MS] = round(st.commands.percentile(50) * 1000, 3)
            values[_P99_MS] = round(st.commands.percentile(99) * 1000, 3)
        values[_PORT] = server.bound_port or 0
        values[_HEARTBEAT] = time.monotonic()   # last: the figures above are as fresh as this

    def read(self) -> dict[str, Any]:
        v = list(self.values)
        out: dict[str, Any] = {"commands": int(v[_COMMANDS]), "connections": int(v[_CONNECTIONS]),
                               "port": int(v[_PORT]) or None}
        if v[_COMMANDS]:
            out["command_p50_ms"], out["command_p99_ms"] = v[_P50_MS], v[_P99_MS]
        return out

    def heartbeat_age(self) -> float | None:
        beat = self.values[_HEARTBEAT]
        return None if beat == 0 else max(0.0, time.monotonic() - beat)


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
           board: Any, report_every: float, store_url: str = "", key: str = "") -> None:
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
        server = FastAgiServer(build_router(site, recent=recent, key=key), host, port, read_timeout=read_timeout)
        try:
            await server.start()
        except OSError as exc:
            conn.send({"error": f"cannot listen on {host}:{port}: {exc}"})
            conn.close()
            return
        _Board.write(board, server)
        conn.send({"ready": True})
        conn.close()   # the one message: from here on nothing we do can block on the parent
        seeding = asyncio.create_task(_seed(recent, store_url, recent.window_s))
        try:
            while os.getppid() == parent:
                await asyncio.sleep(report_every)
                _Board.write(board, server)
        finally:
            seeding.cancel()
            await server.stop()

    asyncio.run(main())


class AgiProcess:
    """The FastAGI child and its supervision. ``start`` and ``restart`` block (call them off the
    loop once the controller runs); ``status`` never blocks and never reads a pipe."""

    def __init__(self, site_data: dict[str, Any], host: str, port: int, read_timeout: float,
                 store_url: str = "", *, report_every: float = REPORT_EVERY_S,
                 stall_after: float = STALL_AFTER_S, key: str = "") -> None:
        self._ctx = mp.get_context("spawn")  # a clean interpreter: no threads or loops inherited
        self._args = (site_data, host, port, read_timeout)
        self._store_url = store_url
        self._key = key   # signs the routes (agi_scripts/signature.py)
        self.report_every = report_every
        self.stall_after = stall_after
        self._proc: Any = None
        self._board: _Board | None = None
        self.error: str | None = None
        self.restarts = 0
        self.last_restart: dict[str, Any] | None = None
        self._stopping = False
        self._ready = False   # the current child listens (it said so)

    # -- one child --------------------------------------------------------------------
    def start(self, timeout: float = 20.0) -> None:
        """Start a child and wait until it listens; raises HotlineError (and keeps the reason in
        ``error``) when it cannot."""
        conn, child_conn = self._ctx.Pipe(duplex=False)
        board = _Board(self._ctx)
        proc = self._ctx.Process(target=_child, args=(*self._args, child_conn, board.values, self.report_every,
                                                      self._store_url, self._key), name="hotline-fastagi", daemon=True)
        self._ready = False
        proc.start()
        child_conn.close()
        self._proc, self._board = proc, board
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if conn.poll(0.1):
                    try:
                        msg = conn.recv()
                    except EOFError:
                        msg = {"error": f"exited with code {proc.exitcode} while starting"}
                    if "error" in msg:
                        self.error = msg["error"]
                        self._reap()
                        raise HotlineError(f"FastAGI: {self.error}")
                    self.error = None
                    self._ready = True
                    return
                if not proc.is_alive():
                    self.error = f"exited with code {proc.exitcode} while starting"
                    raise HotlineError(f"FastAGI process {self.error}")
            self.error = f"did not start within {timeout:.0f} s"
            self._reap()
            raise HotlineError(f"FastAGI {self.error}")
        finally:
            conn.close()

    def _reap(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.is_alive():
            proc.kill()   # SIGKILL also ends a SIGSTOPped process
        proc.join(5)

    def restart(self, reason: str) -> None:
        """Replace the child (SIGKILL, then a new one on the same port)."""
        log.error("FastAGI process %s: replacing it", reason)
        self._reap()
        self.restarts += 1
        self.last_restart = {"at": datetime.now(UTC).isoformat(), "reason": reason}
        self.start()

    def health(self) -> str | None:
        """Why the child needs replacing, or None while it is alive and making progress."""
        if self._proc is None:
            return self.error or "not started"
        if not self._proc.is_alive():
            return (self.error if not self._ready and self.error else None) or f"exited with code {self._proc.exitcode}"
        if not self._ready:
            return self.error or "starting"
        age = self._board.heartbeat_age() if self._board else None
        if age is not None and age > self.stall_after:
            return f"stalled: no progress for {age:.1f} s"
        return None

    async def supervise(self, check_every: float = 0.5) -> None:
        """Forever: replace a child that died or stalled; retry a failed start with backoff."""
        backoff = 1.0
        while not self._stopping:
            await asyncio.sleep(check_every)
            why = self.health()
            if why is None or self._stopping:
                backoff = 1.0
                continue
            try:
                await asyncio.to_thread(self.restart, why)
                backoff = 1.0
            except HotlineError as exc:
                log.error("FastAGI could not be restarted (%s); retrying in %.0f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    # -- what the controller shows -----------------------------------------------------
    @property
    def port(self) -> int | None:
        return self._board.read()["port"] if self._board else None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def status(self) -> dict[str, Any]:
        why = self.health()
        out: dict[str, Any] = {"ok": why is None, "pid": self.pid, "restarts": self.restarts,
                               **(self._board.read() if self._board else {})}
        age = self._board.heartbeat_age() if self._board else None
        if age is not None:
            out["heartbeat_age_s"] = round(age, 3)
        if self.last_restart:
            out["last_restart"] = self.last_restart
        if why is not None:
            out["error"] = why
        return out

    def stop(self) -> None:
        self._stopping = True
        proc = self._proc
        if proc is not None and proc.is_alive():
            proc.terminate()
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(2)
