"""Call recordings: which file is a call's, who may listen to it, and when a read is a new one.

Asterisk records every answered call (``MixMonitor(<recordings>/<linkedid>.wav,b)``, dialplan
``hotline-inbound``) and every voice message (``<linkedid>-message.wav``) into the runtime's
recordings directory; the call record names the file (``recording``). The file served here is
never the request's nor the record's text: the call id is checked against the call-id rule
(:mod:`hotline.spine.ids`: no ``/``, no ``.`` outside ``epoch.seq``), the name is built from it
(``<id>.wav`` or ``<id>-message.wav``, the one the record names) and joined to the configured
directory, and it is opened without following a symbolic link. So no request reaches another file.

Who may listen (:func:`check_access`, the role rules of :mod:`hotline.auth.roles`): the route's
lowest role is ``seat`` (``unit`` and ``department`` users get ``forbidden`` from the auth
middleware); a seat only the calls it answered itself (the record's ``seat``; else
``not-your-call``, as call control), and never a confidential one; supervisors and admins any
call, a confidential one (a work order about it is ``caller_confidential``, the rule of
:mod:`hotline.audit.disclosure`) only with a stated reason (else ``reason-required``).
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from hotline.auth.roles import may_act_on_call
from hotline.config.site import Role
from hotline.exceptions import Forbidden, InvalidRequest, NoSuchRecording, NotYourCall, ReasonRequired
from hotline.privacy import Viewer
from hotline.records.call import CallRecord
from hotline.spine import ids

UNSPECIFIED = "unspecified"   # hotline.audit.disclosure.reason_of: no reason given
LISTENERS = frozenset({"seat", "supervisor", "admin"})


class CallStore(Protocol):
    def get_call(self, call_id: str) -> CallRecord: ...


@dataclass(frozen=True)
class Recording:
    call_id: str
    name: str                 # <call_id>.wav or <call_id>-message.wav
    answered_by: str | None   # the seat that answered the call (the record's seat)


@dataclass
class OpenRecording:
    file: BinaryIO
    size: int
    mtime_ns: int


class RecordingService:
    """``directory``: where Asterisk writes recordings (the runtime's, as the host sees it);
    None when this controller has none (every recording is then ``no-such-recording``)."""

    def __init__(self, store: CallStore, directory: Path | None) -> None:
        self._store = store
        self.directory = directory

    def locate(self, call_id: str) -> Recording:
        """The call's recording as its record names it: ``invalid-request`` for what is not a
        call id, ``no-such-call``, ``no-such-recording`` for a call never recorded (blocking:
        the store)."""
        if not ids.is_call_id(call_id):
            raise InvalidRequest("call_id", "not a call id ([systemname-]epoch.sequence)", call_id)
        record = self._store.get_call(call_id)
        names = (f"{call_id}.wav", f"{call_id}-message.wav")   # built from the checked id only
        name = next((n for n in names if record.recording == n), None)
        if name is None:
            raise NoSuchRecording(call_id, "the call was not recorded (not answered, no voice message)")
        return Recording(call_id=call_id, name=name, answered_by=record.seat)

    def open(self, recording: Recording) -> OpenRecording:
        """The file, opened for reading (blocking); ``no-such-recording`` when it is not there, not
        a regular file, or a symbolic link."""
        if self.directory is None:
            raise NoSuchRecording(recording.call_id, "this controller has no recordings directory")
        if os.sep in recording.name or recording.name.startswith("."):   # unreachable: the id rule
            raise NoSuchRecording(recording.call_id, "not a recording file name")
        path = self.directory / recording.name
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            why = "symbolic link refused" if exc.errno == errno.ELOOP else "file not found (retention or disk)"
            raise NoSuchRecording(recording.call_id, why) from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise NoSuchRecording(recording.call_id, "not a regular file")
        return OpenRecording(os.fdopen(fd, "rb"), info.st_size, info.st_mtime_ns)


def check_access(viewer: Viewer, recording: Recording, *, confidential: bool, reason: str) -> None:
    """Raise unless ``viewer`` may listen to ``recording`` (see the module docstring). The open
    API (no users: the operator's own, as an admin) needs a reason for a confidential call too."""
    role = viewer.role
    if role is not None and role not in LISTENERS:   # the middleware refused them already
        raise Forbidden(f"a {role} user never gets a recording", needed="seat", role=role)
    if role == "seat":
        answered = {recording.answered_by} if recording.answered_by else set()
        if not may_act_on_call(Role.seat, viewer.seat, answered):
            raise NotYourCall(recording.call_id, viewer.seat, sorted(answered))
        if confidential:
            raise Forbidden(f"call {recording.call_id!r} is confidential: its recording is for a supervisor "
                            "with a stated reason", needed="supervisor", role=role, call_id=recording.call_id)
    elif confidential and reason == UNSPECIFIED:
        raise ReasonRequired(recording.call_id)


# A browser's <audio> reads a recording as several range requests (the start, then a part per
# seek). A read from the first byte is a new read and always audited; a range that starts later
# is a part of a read, audited unless the same reader read the same call for the same reason
# within this many seconds (so a bare range request is never unaudited).
REPEAT_WINDOW_S = 60.0
MAX_REMEMBERED = 4096


class ReadLog:
    """Which reads were audited lately: ``(user, call id, reason)`` -> when (bounded)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._recent: OrderedDict[tuple[str, str, str], float] = OrderedDict()

    def due(self, key: tuple[str, str, str], *, from_start: bool) -> bool:
        """Whether this read gets an audit row: from the first byte always; a later part only
        when no read of the same key was audited within the window."""
        seen = self._recent.get(key)
        return from_start or seen is None or self._clock() - seen >= REPEAT_WINDOW_S

    def audited(self, key: tuple[str, str, str]) -> None:
        self._recent[key] = self._clock()
        self._recent.move_to_end(key)
        while len(self._recent) > MAX_REMEMBERED:
            self._recent.popitem(last=False)
