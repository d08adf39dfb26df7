"""The routing policy: which queue a call joins and at what priority, and whether a
department answers its parallel number now.

Pure functions of the site config, the call's numbers and (for office hours) the time
given as an argument (no I/O, no clock), so that they can be tested exhaustively and
extended (repeat callers) without touching the FastAGI plumbing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from hotline.config import SiteConfig
from hotline.spine.numbers import ANONYMOUS
from hotline.spine.plan import rings_department, route_reason
from ivr.hours import is_open


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """``queue`` a configured queue name; ``priority`` for Queue() (higher is served
    first); ``reason`` a short tag for logs explaining the choice."""

    queue: str
    priority: int
    reason: str
    priority_reason: str | None = None   # "repeat_caller" when that raised the priority


REPEAT_CALLER = "repeat_caller"


def decide_route(site: SiteConfig, dialled: str, caller: str, *, repeat: bool = False) -> RouteDecision:
    """Route a call to ``dialled`` from ``caller`` (sanitised digits or ``anonymous``).

    The queue comes from the dialled number, through the same ``site.queue_for``
    the fail-open dialplan uses, so answering and not answering agree. Calls 110
    diverts to 12345 (``diversion_110.numbers``) get the configured priority: the
    dialplan sets the same priority statically, and this value replaces it, so the
    two must agree.

    ``repeat``: ``caller`` called within ``repeat_caller.within_hours`` (the FastAGI process's
    memory of arrivals says so). Such a caller is queued at ``repeat_caller.priority``, never
    below a priority the call has already (110 diversion). Anonymous callers never count.
    """
    reason, priority = route_reason(site, dialled)   # the call plan's number routes
    rc = site.repeat_caller
    priority_reason = None
    if repeat and caller and caller != ANONYMOUS and rc.within_hours > 0 and rc.priority > priority:
        priority, priority_reason = rc.priority, REPEAT_CALLER
    return RouteDecision(queue=site.queue_for(dialled), priority=priority, reason=reason,
                         priority_reason=priority_reason)


def department_open(site: SiteConfig, dialled: str, now: datetime) -> bool:
    """Whether the department owning the parallel number ``dialled`` answers at ``now``
    (its office hours on the Chinese working-day calendar, in the site's timezone).

    Fail-open: a number that is not a parallel number of a known department, or a
    department without hours, counts as open, so the dialplan rings the department
    (and overflows to 12345 when nobody answers) rather than skipping it."""
    number = rings_department(site, dialled)
    if number is None:
        return True
    dept = site.department(number.department)
    if dept is None:
        return True
    return is_open(dept.hours, now, ZoneInfo(site.site.timezone))
