"""The hotline queue with queue callback on (key 1), for the tests that need it: test_callbacks.py
and the call-shape catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import yaml

from .rig import Stack


@contextmanager
def queue_callback_site(stack: Stack, attempts: int, retry_after: int, ring: int) -> Iterator[Stack]:
    """The hotline queue gets ``callback`` (key 1); the site as it was, and every seat logged in,
    afterwards."""
    previous = stack.site_file.read_text(encoding="utf-8")
    data = yaml.safe_load(previous)
    for q in data["queues"]:
        if q["name"] == "hotline":
            q["callback"] = {"key": "1", "attempts": attempts, "retry_after": retry_after, "ring_seconds": ring}
    stack.apply_site_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    stack.cli("queue reload parameters hotline")
    try:
        yield stack
    finally:
        stack.end_all_calls()   # callers and callback placeholders the tests left in the queue
        stack.apply_site_text(previous)
        stack.cli("queue reload parameters hotline")
        stack.seats_ready()   # every seat logged in and available before the next test calls
