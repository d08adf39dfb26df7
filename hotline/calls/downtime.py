"""When the controller lost Asterisk: the times its AMI connection dropped while logged in.

Asterisk killed (-9, a crash) closes its AMI socket at once, so the drop is the best time we
have of its death: a call it cut was up until then (CEL says nothing between the call's last
event and the death; a call talking steadily has no event after its answer). The times are
kept in the state directory (``asterisk.lost``, the newest :data:`KEEP`), so the reconciler of a
restarted controller closes a cut call at the same time as the live path did.

The calls of an Asterisk that died are closed when it comes back (the controller's re-sync). One
that stays dead (a node behind the SIP edge: the edge sends its callers elsewhere, and nobody may
restart it for hours) would leave its calls unrecorded and shown as live until then:
:meth:`AsteriskLosses.close_when_dead` closes them once the AMI connection has been lost for
:data:`DEAD_AFTER_S` and no Asterisk process runs. A hung Asterisk (its process there) is left
alone: its calls may still be talking.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

KEEP = 32
DEAD_AFTER_S = 3.0   # AMI lost and no Asterisk process this long: its calls are over


class AsteriskLosses:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._times = self._load()

    def _load(self) -> list[float]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return sorted(float(t) for t in raw)[-KEEP:] if isinstance(raw, list) else []
        except FileNotFoundError:
            return []
        except (OSError, ValueError, TypeError):
            log.warning("%s is unreadable: the times Asterisk was lost before are forgotten", self.path)
            return []

    def note(self, at: float) -> None:
        """The AMI connection was lost at ``at`` (epoch seconds). Never raises."""
        with self._lock:
            self._times = sorted([*self._times, at])[-KEEP:]
            tmp = self.path.with_name(self.path.name + ".tmp")
            try:
                tmp.write_text(json.dumps(self._times), encoding="utf-8")
                os.replace(tmp, self.path)
            except OSError:
                log.exception("could not keep the time Asterisk was lost in %s", self.path)

    def between(self, after: float, before: float) -> float | None:
        """The last loss at or after ``after`` (a cut call's last event) and before ``before``
        (the new Asterisk's start), or None when the controller did not see it go."""
        with self._lock:
            found = [t for t in self._times if after <= t < before]
        return found[-1] if found else None

    def last(self) -> float | None:
        with self._lock:
            return self._times[-1] if self._times else None

    async def close_when_dead(self, connected: Callable[[], bool], started_at: Callable[[], float | None],
                              cut: Callable[[float], int], every: float = 1.0,
                              dead_after: float = DEAD_AFTER_S) -> None:
        """Until cancelled: after each loss of the AMI connection, once it has lasted
        ``dead_after`` (:data:`DEAD_AFTER_S`) with no Asterisk process running (``started_at`` None), ``cut(now)``
        closes every call in progress (at the loss, by :meth:`between`), once per loss. Never
        raises but on cancellation."""
        closed_for: float | None = None
        while True:
            await asyncio.sleep(every)
            try:
                lost = self.last()
                if connected() or lost is None or lost == closed_for or time.time() - lost < dead_after:
                    continue
                if started_at() is not None:
                    continue   # Asterisk runs (hung, or back and not logged in yet)
                closed_for = lost
                closed = cut(time.time())
                if closed:
                    log.warning("Asterisk is dead and not back: its %d call(s) in progress closed as cut", closed)
            except Exception:
                log.exception("closing the calls of a dead Asterisk failed; retrying")
