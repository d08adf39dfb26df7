"""The hotspot rule, pure: counts in the window against the baseline, and the alerts they make.

The window is the last ``window_minutes`` before ``now``; the baseline is the same wall-clock window
of each of the previous ``baseline_days`` days in the site's zone (:func:`windows`: a window at
00:20 reaches back over midnight, a day after a DST change is still the same local hours). A key is
hot (:func:`detect`) when its count in the window reaches ``min_count`` and ``factor`` times its
baseline mean (the total over the baseline days divided by their number, days without any counting
as 0). With no baseline at all (mean 0) the floor ``min_count`` alone decides and the ratio is None
(never a division by zero); ``min_count`` also keeps 0 -> 2 from being a hotspot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    start: dt.datetime   # inclusive
    end: dt.datetime     # exclusive


@dataclass(frozen=True)
class Item:
    """One order (or call) in the window: when, under which key, its id."""

    at: dt.datetime
    key: str
    ref: str


@dataclass(frozen=True)
class Rule:
    factor: float
    min_count: int
    baseline_days: int


@dataclass(frozen=True)
class Finding:
    """A hot key with the numbers that make it hot."""

    dimension: str
    key: str
    count: int
    baseline_total: int
    baseline_days: int
    baseline_mean: float
    ratio: float | None          # count / mean; None without a baseline
    threshold: float             # max(min_count, factor x mean)
    window: Window
    first_ref: str
    last_ref: str

    def to_dict(self) -> dict[str, object]:
        return {"dimension": self.dimension, "key": self.key, "count": self.count,
                "baseline_total": self.baseline_total, "baseline_days": self.baseline_days,
                "baseline_mean": self.baseline_mean, "ratio": self.ratio, "threshold": self.threshold,
                "window_start": self.window.start.isoformat(), "window_end": self.window.end.isoformat(),
                "first_ref": self.first_ref, "last_ref": self.last_ref}


def windows(now: dt.datetime, minutes: int, days: int, tz: ZoneInfo) -> tuple[Window, list[Window]]:
    """The current window ending at ``now`` and the same local window on each of the ``days``
    previous days (yesterday first), in UTC."""
    if now.tzinfo is None:
        raise ValueError(f"naive time {now.isoformat()}: the window needs a zone")
    local = now.astimezone(tz)
    span = dt.timedelta(minutes=minutes)

    def of(end_local: dt.datetime) -> Window:
        # Wall-clock arithmetic in the zone, then UTC: the same local hours on a DST day.
        return Window((end_local - span).astimezone(dt.UTC), end_local.astimezone(dt.UTC))

    current = Window((now - span).astimezone(dt.UTC), now.astimezone(dt.UTC))
    return current, [of(local - dt.timedelta(days=d)) for d in range(1, days + 1)]


def is_hot(count: int, baseline_total: int, rule: Rule) -> bool:
    """``count >= min_count`` and ``count >= factor x total / days`` (no division: exact at the edge)."""
    return count >= rule.min_count and count * rule.baseline_days >= rule.factor * baseline_total


def detect(dimension: str, items: Iterable[Item], baseline: Mapping[str, int], window: Window,
           rule: Rule) -> list[Finding]:
    """The hot keys of ``items`` (the window's, any order) against ``baseline`` (key -> total over
    the baseline days), highest ratio first (no baseline before any ratio), then count, then key."""
    by_key: dict[str, list[Item]] = {}
    for item in items:
        by_key.setdefault(item.key, []).append(item)
    found: list[Finding] = []
    for key, group in by_key.items():
        total = max(0, baseline.get(key, 0))
        if not is_hot(len(group), total, rule):
            continue
        group.sort(key=lambda i: (i.at, i.ref))
        mean = total / rule.baseline_days
        found.append(Finding(
            dimension=dimension, key=key, count=len(group), baseline_total=total, baseline_days=rule.baseline_days,
            baseline_mean=round(mean, 2), ratio=round(len(group) / mean, 2) if mean > 0 else None,
            threshold=round(max(float(rule.min_count), rule.factor * mean), 2), window=window,
            first_ref=group[0].ref, last_ref=group[-1].ref))
    found.sort(key=lambda f: (f.ratio is not None, -(f.ratio or 0.0), -f.count, f.key))
    return found
