"""Who called recently: the FastAGI process's own memory of arrivals, for repeat-caller priority.

Bounded (at most ``max_numbers`` numbers; the least recently seen go first) and expiring (a number
last seen more than ``window_s`` ago is forgotten). Seeded at start from the store's call records
(:func:`hotline.store.recent.recent_callers`); without a database it works from memory alone.
Times are epoch seconds given by the caller (no clock here), so it is tested without sleeping.
Numbers are remembered by person key (:func:`hotline.spine.numbers.person_key`), the one rule.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from hotline.spine.numbers import person_key

ANONYMOUS = "anonymous"
MAX_NUMBERS = 200_000


class RecentCallers:
    def __init__(self, window_s: float, max_numbers: int = MAX_NUMBERS) -> None:
        self.window_s = window_s
        self.max_numbers = max_numbers
        self._last: OrderedDict[str, float] = OrderedDict()   # number -> last arrival, oldest first

    def __len__(self) -> int:
        return len(self._last)

    def arrive(self, number: str, at: float) -> bool:
        """Note an arrival of ``number`` at ``at``; whether it had called within the window before.
        Anonymous or empty numbers are never remembered and never repeat callers; the same person
        in another form of its number (``013812345678``, ``+8613812345678``) is the same caller."""
        if not number or number == ANONYMOUS or self.window_s <= 0:
            return False
        number = person_key(number)
        self._expire(at)
        before = self._last.get(number)
        self._remember(number, at)
        return before is not None and at - before <= self.window_s

    def seed(self, arrivals: Iterable[tuple[str, float]], now: float) -> int:
        """Add past arrivals (from the store); a later arrival already in memory wins. Returns how
        many numbers were remembered."""
        if self.window_s <= 0:
            return 0
        for number, at in sorted(arrivals, key=lambda a: a[1]):
            if not number or number == ANONYMOUS or now - at > self.window_s or at > now:
                continue
            number = person_key(number)
            if self._last.get(number, float("-inf")) < at:
                self._remember(number, at)
        self._expire(now)
        return len(self._last)

    def _remember(self, number: str, at: float) -> None:
        prev = self._last.get(number)
        if prev is not None and prev > at:
            return
        self._last[number] = at
        self._last.move_to_end(number)
        # seeding inserts in time order, arrivals come in time order: the front is the oldest
        while len(self._last) > self.max_numbers:
            self._last.popitem(last=False)

    def _expire(self, now: float) -> None:
        while self._last:
            number, at = next(iter(self._last.items()))
            if now - at <= self.window_s:
                break
            self._last.popitem(last=False)
