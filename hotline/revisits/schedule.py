"""When 回访 tries are placed: the quiet hours, the cap on calls at once, lost tries. Pure.

The service's tick (:meth:`hotline.revisits.services.RevisitService.tick`) asks :func:`to_dial`
which pending tasks to dial now, given the injected clock's ``now``: none outside the hours (a
task due then waits for the next opening: nothing is ever dialled early or outside), at most
``max_concurrent`` tries in progress (``dialling``) at once, the longest-waiting first (by
``next_at``, then id). :func:`lost` names tries whose record never came (Asterisk refused the
Originate, the controller was down through the whole try and the CEL log lost it): after
``ring + LOST_AFTER`` they count as a failed try, so one lost call never holds a line forever
(the service first asks Asterisk: a try whose channel is still live, e.g. talking to a seat, is
not lost).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from hotline.config.site import RevisitHours
from hotline.revisits.model import Status, Task

LOST_AFTER = dt.timedelta(minutes=15)
"""How long after its ring time a try may take to end (the survey) before it counts as lost, unless
Asterisk still has its channel (a conversation with a seat)."""


def in_hours(now: dt.datetime, hours: RevisitHours, tz: ZoneInfo) -> bool:
    local = now.astimezone(tz).time()
    return hours.start <= local < hours.end


def next_opening(now: dt.datetime, hours: RevisitHours, tz: ZoneInfo) -> dt.datetime:
    """``now`` when inside the hours, else the next start of the window (site time, as UTC-aware)."""
    local = now.astimezone(tz)
    if in_hours(now, hours, tz):
        return now
    day = local.date() if local.time() < hours.start else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, hours.start, tzinfo=tz)


def to_dial(tasks: Sequence[Task], now: dt.datetime, *, hours: RevisitHours, tz: ZoneInfo,
            max_concurrent: int) -> list[Task]:
    """The pending tasks to dial now, in order."""
    if not in_hours(now, hours, tz):
        return []
    busy = sum(1 for t in tasks if t.status is Status.dialling)
    free = max(max_concurrent - busy, 0)
    due = [t for t in tasks if t.status is Status.pending and (t.next_at is None or t.next_at <= now)]
    due.sort(key=lambda t: (t.next_at or t.created_at, t.id))
    return due[:free]


def lost(tasks: Sequence[Task], now: dt.datetime, ring: dt.timedelta) -> list[Task]:
    """Tries in progress for longer than ``ring + LOST_AFTER``."""
    return [t for t in tasks if t.status is Status.dialling and t.dialled_at is not None
            and now - t.dialled_at > ring + LOST_AFTER]
