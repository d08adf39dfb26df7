"""Password hashing in its own small, bounded thread pool.

PBKDF2 with 600 000 iterations costs a core for a fraction of a second. Logins run it on
``workers`` threads of their own (never the event loop's default executor, which the reconciler
and the store use), and at most ``queue`` more wait for a thread: beyond that a login is refused
at once with ``login-busy`` (503, ``Retry-After``) instead of queueing, so a flood of bogus logins
cannot stall the API or the rest of the controller.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from hotline.exceptions import LoginBusy

T = TypeVar("T")


class HashPool:
    def __init__(self, workers: int = 2, queue: int = 8) -> None:
        self._workers = workers
        self._limit = workers + queue
        self._busy = 0                     # running + waiting, released when the work ends
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    @property
    def busy(self) -> int:
        return self._busy

    def _release(self, _: Future[Any]) -> None:
        with self._lock:
            self._busy -= 1

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        with self._lock:
            if self._busy >= self._limit:
                raise LoginBusy(self._limit)
            self._busy += 1
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="hotline-hash")
        try:
            future = self._pool.submit(fn, *args)
        except BaseException:
            with self._lock:
                self._busy -= 1
            raise
        future.add_done_callback(self._release)   # the thread is busy until the hash ends, even if we stop waiting
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
