"""One Redis connection held by a long-lived loop and made again after any failure: the seat pool
(:mod:`hotline.seats.pool`) and the call-control relay (:mod:`hotline.calls.relay`) share it, so they
share the client's settings and the growing wait between tries."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

Serve = Callable[[Any, Callable[[], None]], Awaitable[None]]


async def hold_connection(url: str, serve: Serve, *, retry: tuple[float, float],
                          lost: Callable[[Exception], None]) -> None:
    """Until cancelled: a client for ``url`` (5 s socket timeout, 2 s to connect, a health check
    every 5 s, replies as text) handed to ``serve(client, up)``, which calls ``up()`` once it is
    connected (the next wait starts again from ``retry[0]``) and raises when the connection fails.
    Then ``lost(exc)``, the client closed, a wait (doubling from ``retry[0]`` up to ``retry[1]``)
    and a new client. A cancel goes through, the client closed."""
    import redis.asyncio as aioredis   # only for a site with Redis

    delay = retry[0]

    def up() -> None:
        nonlocal delay
        delay = retry[0]

    while True:
        client = None
        try:
            client = aioredis.from_url(url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=5,
                                       decode_responses=True)
            await serve(client, up)
        except asyncio.CancelledError:
            raise
        except Exception as exc:   # redis.ConnectionError, TimeoutError, OSError ...
            if _cancelled():   # a swallowed cancel that came out as the client's timeout
                raise asyncio.CancelledError from exc
            lost(exc)
        finally:
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
        await asyncio.sleep(delay)
        delay = min(delay * 2, retry[1])


async def next_message(pubsub: Any, timeout: float) -> dict[str, Any] | None:
    """The next pub/sub message (``None`` after ``timeout`` seconds). redis-py's read timeout can
    swallow a cancel that arrives as it expires (the task stays "cancelling" and a loop around this
    call would poll forever: a stop that never returns); the cancel is raised here instead."""
    msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
    if _cancelled():
        raise asyncio.CancelledError
    return msg  # type: ignore[no-any-return]


def _cancelled() -> bool:
    me = asyncio.current_task()
    return me is not None and me.cancelling() > 0
