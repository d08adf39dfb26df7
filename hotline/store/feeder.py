"""Taking call records off the event loop into the journal, and holding them while it fails.

A thread appends the queued records to the journal in batches, one fsync per batch
(group commit). A record leaves memory only once ``submit_many`` returned: when the
append fails (disk full, EIO) the batch stays queued and is retried with backoff until
the disk works again, and the journal's status says why meanwhile.

Memory is bounded: above ``max_held`` queued records the oldest is dropped, counted
(``dropped``) and logged, and its call id is remembered as not durable. The record is
not lost: its events are still in the CEL log after the reconciler's offset, because
the controller's reconciler writes every call this feeder has not made durable itself
(:meth:`RecordFeeder.durable` is false for it) before it moves its offset.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque

from hotline.records.call import CallRecord
from hotline.store.journal import RecordJournal
from hotline.throttle import Throttle

log = logging.getLogger(__name__)

DURABLE_MAX = 100_000  # call ids remembered as appended (the reconciler's skip list)


class RecordFeeder:
    def __init__(self, journal: RecordJournal, max_batch: int = 256, max_held: int = 100_000,
                 first_retry_s: float = 0.1, max_retry_s: float = 5.0) -> None:
        self._journal = journal
        self._max_batch = max_batch
        self._max_held = max_held
        self._first_retry, self._max_retry = first_retry_s, max_retry_s
        self._cond = threading.Condition()
        self._queue: deque[CallRecord] = deque()
        self._inflight: Counter[str] = Counter()     # queued, not appended yet
        self._not_durable: set[str] = set()          # dropped over the cap: the reconciler writes them
        self._durable: set[str] = set()
        self._durable_order: deque[str] = deque()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="record-feeder", daemon=True)
        self._throttle = Throttle(log, every_s=60.0)
        self.errors = 0      # failed appends
        self.dropped = 0     # records dropped over max_held (rebuilt from the CEL log)

    # --- the loop's side ---------------------------------------------------------------
    def submit(self, record: CallRecord) -> None:
        with self._cond:
            if len(self._queue) >= self._max_held:
                old = self._queue.popleft()
                self._forget(old.call_id)
                self._not_durable.add(old.call_id)
                self.dropped += 1
                log.error("journal not writable and %d records held: dropped call %s from memory "
                          "(the reconciler rebuilds it from the CEL log)", self._max_held, old.call_id)
            self._queue.append(record)
            self._inflight[record.call_id] += 1
            self._cond.notify_all()

    def held(self) -> int:
        with self._cond:
            return len(self._queue)

    def durable(self, call_id: str) -> bool:
        """Whether the live record of ``call_id`` is in the journal, with no later one still held."""
        with self._cond:
            return (call_id in self._durable and self._inflight[call_id] == 0
                    and call_id not in self._not_durable)

    def settled(self, call_ids: list[str]) -> None:
        """The reconciler made these calls durable itself."""
        with self._cond:
            self._not_durable.difference_update(call_ids)

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Append what is queued (one more try) and stop; what fails stays rebuildable."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        delay = self._first_retry
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stopping)
                if not self._queue:
                    return
                batch = [self._queue[i] for i in range(min(len(self._queue), self._max_batch))]
            try:
                self._journal.submit_many(batch)
            except OSError as exc:
                with self._cond:
                    self.errors += 1
                    if self._stopping:
                        log.error("journal append failed at stop; %d record(s) not written, the "
                                  "reconciler rebuilds them at the next start: %s", len(self._queue), exc)
                        return
                self._throttle.failed("journal append failed, %d record(s) held in memory and retried: %s",
                                      len(self._queue), exc)
                with self._cond:
                    self._cond.wait_for(lambda: self._stopping, delay)
                delay = min(delay * 2, self._max_retry)
                continue
            delay = self._first_retry
            self._throttle.recovered("journal appends work again")
            with self._cond:
                for record in batch:
                    # the cap may have dropped some of the batch meanwhile: only pop what is ours
                    if self._queue and self._queue[0] is record:
                        self._queue.popleft()
                        self._inflight[record.call_id] -= 1
                        if self._inflight[record.call_id] <= 0:
                            del self._inflight[record.call_id]
                    self._not_durable.discard(record.call_id)
                    self._remember(record.call_id)

    def _forget(self, call_id: str) -> None:
        self._inflight[call_id] -= 1
        if self._inflight[call_id] <= 0:
            del self._inflight[call_id]

    def _remember(self, call_id: str) -> None:
        if call_id not in self._durable:
            self._durable.add(call_id)
            self._durable_order.append(call_id)
            if len(self._durable_order) > DURABLE_MAX:
                self._durable.discard(self._durable_order.popleft())
