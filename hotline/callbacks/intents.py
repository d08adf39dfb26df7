"""Callback requests not yet stored as tasks, kept on disk (issue 8: every promised callback
becomes a task).

A caller who pressed for a callback was told "we will call you back"; the task is written to
the database, which may be down at that moment. The request is written here first (one small
JSON file beside the state, replaced atomically and fsynced) and removed once its task
exists, so neither a database outage nor a controller restart loses it.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from hotline.filemodes import write_durably

log = logging.getLogger(__name__)


class IntentFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict[str, str | None]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.error("callback intents %s unreadable (%s): set aside as %s.bad", self.path, exc, self.path.name)
            try:
                self.path.replace(self.path.with_name(self.path.name + ".bad"))
            except OSError:
                pass
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, dict[str, str | None]]) -> None:
        write_durably(self.path, json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8"))

    def add(self, call_id: str, number: str, queue: str | None, reason: str) -> None:
        with self._lock:
            data = self._load()
            data[call_id] = {"number": number, "queue": queue, "reason": reason}
            self._write(data)

    def done(self, call_id: str) -> None:
        with self._lock:
            data = self._load()
            if data.pop(call_id, None) is not None:
                self._write(data)

    def pending(self) -> list[tuple[str, str | None, str, str]]:
        """(number, queue, reason, call id) of every request not yet a task."""
        with self._lock:
            return [(str(v.get("number") or ""), v.get("queue"), str(v.get("reason") or "other"), k)
                    for k, v in self._load().items() if isinstance(v, dict) and v.get("number")]
