"""hotline/redis_session.py: a pub/sub read whose timeout swallows a cancel still stops its loop
(redis-py's read timeout can: the seat pool's stop once waited forever in a CI run)."""

from __future__ import annotations

import asyncio

import pytest

from hotline.redis_session import next_message


class SwallowingPubSub:
    """A get_message whose read timeout expires as the cancel arrives and returns None for both,
    as redis-py's can (once: a second cancel goes through); ``reads`` counts the calls."""

    def __init__(self) -> None:
        self.reads = 0
        self.swallowed = False
        self.started = asyncio.Event()

    async def get_message(self, *, ignore_subscribe_messages: bool, timeout: float) -> dict[str, object] | None:
        assert ignore_subscribe_messages
        self.reads += 1
        self.started.set()
        try:
            await asyncio.sleep(timeout)
        except asyncio.CancelledError:
            if self.swallowed:
                raise
            self.swallowed = True
            return None   # the cancel swallowed; the task stays "cancelling"
        return None


async def poll_forever(pubsub: SwallowingPubSub) -> None:
    while True:
        await next_message(pubsub, 0.05)


async def test_a_swallowed_cancel_stops_the_loop() -> None:
    pubsub = SwallowingPubSub()
    task = asyncio.create_task(poll_forever(pubsub))
    await pubsub.started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5)   # without the check: TimeoutError after 5 s of polling
    assert pubsub.reads == 1


async def test_messages_and_timeouts_pass_through() -> None:
    class Queue:
        def __init__(self, items: list[dict[str, object] | None]) -> None:
            self.items = items

        async def get_message(self, *, ignore_subscribe_messages: bool, timeout: float) -> dict[str, object] | None:
            return self.items.pop(0)

    pubsub = Queue([{"data": "x"}, None])
    assert await next_message(pubsub, 1.0) == {"data": "x"}
    assert await next_message(pubsub, 1.0) is None
