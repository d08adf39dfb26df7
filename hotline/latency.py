"""Latency samples: a fixed-size ring of recent samples (FastAGI round trips, AMI event lag,
CEL tail lag).

A ring (not a growing list, not a running mean) because the server runs for
months: memory must stay flat, and p99 must reflect the recent past, which a
mean hides. Sorting a 10 000-sample copy on demand is cheap next to a benchmark
run and keeps the record path a single append.
"""

from __future__ import annotations

import math
from collections import deque


class LatencyStats:
    """The last ``capacity`` latencies, in seconds, plus the count of all ever recorded."""

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self._samples: deque[float] = deque(maxlen=capacity)
        self._count = 0

    @property
    def count(self) -> int:
        """Samples recorded since creation, including those the ring has dropped."""
        return self._count

    def record(self, seconds: float) -> None:
        self._samples.append(seconds)
        self._count += 1

    def percentile(self, p: float) -> float:
        """The nearest-rank ``p``-th percentile (0..100) of the samples in the ring.

        Raises ValueError when there are no samples: a benchmark that measured
        nothing must fail loudly, not report 0 ms.
        """
        if not 0 <= p <= 100:
            raise ValueError(f"percentile must be within 0..100, got {p}")
        if not self._samples:
            raise ValueError("no latency samples recorded")
        ordered = sorted(self._samples)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1]
