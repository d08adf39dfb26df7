"""Login throttling: lockout per user name and per client address, in bounded memory.

``failures`` failed logins within ``window_s`` lock the user name (or the address) for
``lockout_s``: further attempts answer ``too-many-attempts`` (429, with ``Retry-After``) before
any password is hashed, even with the right password. A successful login clears the user's
failures (not the address's: one seat guessing on a shared address keeps counting). Each table
keeps at most ``max_keys`` entries, dropping the least recently failed one, so a flood of
invented user names costs bounded memory.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from hotline.exceptions import TooManyAttempts


@dataclass
class _Entry:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class _Table:
    def __init__(self, failures: int, window_s: float, lockout_s: float, max_keys: int) -> None:
        self._failures, self._window, self._lockout, self._max = failures, window_s, lockout_s, max_keys
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def retry_after(self, key: str, now: float) -> float:
        entry = self._entries.get(key)
        return entry.locked_until - now if entry is not None and entry.locked_until > now else 0.0

    def fail(self, key: str, now: float) -> bool:
        """Count a failure; True when it locks the key out."""
        entry = self._entries.pop(key, None) or _Entry()
        self._entries[key] = entry   # most recently failed last
        while entry.failures and entry.failures[0] <= now - self._window:
            entry.failures.popleft()
        entry.failures.append(now)
        locks = len(entry.failures) >= self._failures
        if locks:
            entry.locked_until = now + self._lockout
            entry.failures.clear()
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return locks

    def clear(self, key: str) -> None:
        self._entries.pop(key, None)


class LoginThrottle:
    def __init__(self, *, failures: int = 5, window_s: float = 300.0, lockout_s: float = 900.0,
                 address_failures: int = 20, max_keys: int = 4096,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._users = _Table(failures, window_s, lockout_s, max_keys)
        self._addresses = _Table(address_failures, window_s, lockout_s, max_keys)
        self._clock = clock

    def check(self, user: str, address: str | None) -> None:
        """``too-many-attempts`` while the user name or the address is locked out."""
        now = self._clock()
        for kind, table, key in (("user", self._users, user), ("address", self._addresses, address)):
            if key is None:
                continue
            wait = table.retry_after(key, now)
            if wait > 0:
                raise TooManyAttempts(kind, max(1, math.ceil(wait)))

    def failed(self, user: str, address: str | None) -> list[str]:
        """Count a failed login; what it locked out (``user``, ``address``), usually nothing."""
        now = self._clock()
        locked = ["user"] if self._users.fail(user, now) else []
        if address is not None and self._addresses.fail(address, now):
            locked.append("address")
        return locked

    def succeeded(self, user: str) -> None:
        self._users.clear(user)

    def sizes(self) -> tuple[int, int]:
        """(user names, addresses) tracked: never above ``max_keys`` each."""
        return len(self._users), len(self._addresses)
