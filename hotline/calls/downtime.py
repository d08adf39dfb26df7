"""When the controller lost Asterisk: the times its AMI connection dropped while logged in.

Asterisk killed (-9, a crash) closes its AMI socket at once, so the drop is the best time we
have of its death: a call it cut was up until then (CEL says nothing between the call's last
event and the death; a call talking steadily has no event after its answer). The times are
kept in the state directory (``asterisk.lost``, the newest :data:`KEEP`), so the reconciler of a
restarted controller closes a cut call at the same time as the live path did.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)

KEEP = 32


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
