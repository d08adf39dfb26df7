"""The disk service of the controller: samples free space and runs the janitor, off the loop.

One asyncio task wakes every ``retention.disk_check_seconds``; the ``statvfs`` calls and the
janitor's file work run in worker threads (a slow or hung file system never blocks the event
loop, and ``/status`` reads the last sample). The alarm's changes are logged once each.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

from hotline import asterisk_runtime
from hotline.config.paths import Paths
from hotline.config.site import Retention
from hotline.exceptions import AsteriskRuntimeError

from . import space
from .janitor import Janitor, rules

log = logging.getLogger(__name__)
AMI_WAIT = 60.0   # seconds the janitor waits for the AMI login before it rotates Asterisk's logs


class DiskService:
    def __init__(self, retention: Retention, volumes: dict[str, Path], janitor: Janitor | None,
                 live_ids: Callable[[], set[str]] = set, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._r = retention
        self._volumes = volumes
        self.janitor = janitor
        self._live_ids = live_ids
        self._monotonic = monotonic
        self._samples: list[space.Sample] = []
        self._checked_at: float | None = None
        self._alarm: str | None = None
        self._next_janitor = 0.0
        self.loop: asyncio.AbstractEventLoop | None = None   # run()'s: the janitor's thread sends AMI on it

    @classmethod
    def for_site(cls, retention: Retention, paths: Paths, live_ids: Callable[[], set[str]] = set,
                 ami_send: Callable[[dict[str, str]], Awaitable[Any]] | None = None,
                 ami_ready: asyncio.Event | None = None) -> "DiskService":
        """The volumes and rules of this state directory and its Asterisk runtime (if installed).
        ``ami_send``: Asterisk's logs are rotated with the AMI action LoggerRotate (class
        ``reporting``), which the service account may send; without it, with ``asterisk -rx``
        (in a chroot that needs root, which the installed controller is not). ``ami_ready``: set
        once AMI is logged in (the first janitor run comes at start-up, before the login)."""
        volumes: dict[str, Path] = {"state": paths.state_dir}
        recordings = cel_log = log_dir = cdr_log = None
        rotate: Callable[[], object] | None = None
        try:
            runtime = asterisk_runtime.load(paths)
        except AsteriskRuntimeError:
            pass
        else:
            recordings, cel_log, log_dir = runtime.recordings_dir, runtime.cel_log, runtime.log_dir
            cdr_log = runtime.cdr_log
            volumes.update(recordings=recordings, cel_log=cel_log.parent, asterisk_logs=log_dir)
            if ami_send is None:
                rotate = lambda: runtime.cli("logger rotate", timeout=10)  # noqa: E731
            else:
                async def rotate_over_ami() -> object:
                    if ami_ready is not None:
                        await asyncio.wait_for(ami_ready.wait(), AMI_WAIT)
                    return await ami_send({"Action": "LoggerRotate"})

                def rotate() -> object:   # from the janitor's worker thread
                    if service.loop is None:
                        raise AsteriskRuntimeError("LoggerRotate: the disk service is not running")
                    return asyncio.run_coroutine_threadsafe(rotate_over_ami(), service.loop).result(AMI_WAIT + 15)
        janitor = Janitor(retention, rules(retention, state_dir=paths.state_dir, journal_name=paths.journal_path.name,
                                           recordings_dir=recordings, cel_log=cel_log, asterisk_log_dir=log_dir,
                                           cdr_log=cdr_log),
                          asterisk_log_dir=log_dir, rotate_asterisk_logs=rotate)
        service = cls(retention, volumes, janitor, live_ids)
        return service

    # -- the loop's side -------------------------------------------------------------
    async def check(self) -> dict[str, Any]:
        """Sample every volume now (in a worker thread)."""
        samples = await asyncio.to_thread(self._sample_all)
        self._samples, self._checked_at = samples, self._monotonic()
        self._log_change()
        return self.status()

    async def run(self) -> None:
        """Forever: sample every ``disk_check_seconds``, clean every ``janitor_every_minutes``."""
        self.loop = asyncio.get_running_loop()
        while True:
            try:
                await self.check()
                if self.janitor is not None and self._monotonic() >= self._next_janitor:
                    self._next_janitor = self._monotonic() + self._r.janitor_every_minutes * 60
                    keep = self._live_ids()   # on the loop: the call tracker is not thread-safe
                    await asyncio.to_thread(self.janitor.run, keep)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("disk check failed")
            await asyncio.sleep(self._r.disk_check_seconds)

    def status(self) -> dict[str, Any]:
        out = space.summary(self._samples, self._r)
        out["checked_seconds_ago"] = (None if self._checked_at is None
                                      else round(self._monotonic() - self._checked_at, 1))
        out["janitor"] = self.janitor.status() if self.janitor else None
        return out

    # -- helpers -----------------------------------------------------------------------
    def _sample_all(self) -> list[space.Sample]:
        return [space.sample(role, path, self._r) for role, path in self._volumes.items()]

    def _log_change(self) -> None:
        alarm = space.summary(self._samples, self._r)
        if alarm["alarm"] == self._alarm:
            return
        if alarm["alarm"] is None:
            log.warning("disk alarm cleared: every volume has space again")
        else:
            (log.error if alarm["alarm"] == "critical" else log.warning)("disk alarm %s: %s", alarm["alarm"],
                                                                          alarm["reason"])
        self._alarm = alarm["alarm"]  # type: ignore[assignment]
