"""LatencyStats: a bounded ring whose percentiles describe the recent samples."""

from __future__ import annotations

import pytest

from hotline.latency import LatencyStats


@pytest.mark.parametrize("p, expected", [(0, 1.0), (1, 1.0), (50, 50.0), (99, 99.0), (99.5, 100.0), (100, 100.0)])
def test_percentile_nearest_rank(p: float, expected: float) -> None:
    stats = LatencyStats()
    for value in reversed(range(1, 101)):
        stats.record(float(value))
    assert stats.percentile(p) == expected
    assert stats.count == 100


def test_ring_keeps_only_recent_samples_but_counts_all() -> None:
    stats = LatencyStats(capacity=3)
    for value in (9.0, 9.0, 1.0, 2.0, 3.0):
        stats.record(value)
    assert stats.count == 5
    assert (stats.percentile(0), stats.percentile(100)) == (1.0, 3.0)


@pytest.mark.parametrize("p", [-1, 100.1])
def test_percentile_out_of_range(p: float) -> None:
    stats = LatencyStats()
    stats.record(0.001)
    with pytest.raises(ValueError):
        stats.percentile(p)


def test_no_samples_is_an_error_not_zero() -> None:
    with pytest.raises(ValueError):
        LatencyStats().percentile(50)


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        LatencyStats(capacity=0)
