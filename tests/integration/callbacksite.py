"""The hotline queue with queue callback on (key 1), for the tests that need it: test_callbacks.py
and the call-shape catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import yaml

from hotline.callbacks.model import OPEN, InvalidTransition, Step
from hotline.callbacks.store import CallbackStore
from hotline.store import Store

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
        cancel_open_callbacks(stack)
        stack.apply_site_text(previous)
        stack.cli("queue reload parameters hotline")
        stack.seats_ready()   # every seat logged in and available before the next test calls


def cancel_open_callbacks(stack: Stack) -> None:
    """Close the callback tasks these tests left open: the controller keeps a promised callback's
    retry (its ``retry_after``, across restarts), and a retry placed during a later module's test
    would take the seat that test expects for its own caller."""
    store = Store(f"sqlite:///{stack.paths.sqlite_path}")
    try:
        tasks = CallbackStore(store)
        for task in tasks.list(limit=500):
            if task.status in OPEN:
                try:
                    tasks.apply(task.id, Step.cancel)
                except InvalidTransition:   # closed by the controller meanwhile
                    pass
    finally:
        store.close()
