"""What the FastAGI server measures (the sample ring itself is :mod:`hotline.latency`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline.latency import LatencyStats

__all__ = ["AgiStats", "LatencyStats"]


@dataclass
class AgiStats:
    """What the FastAGI server measures: each command round trip (write to parsed
    response) and each completed connection (accept to close)."""

    commands: LatencyStats = field(default_factory=LatencyStats)
    connections: LatencyStats = field(default_factory=LatencyStats)
