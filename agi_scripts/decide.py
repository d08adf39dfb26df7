"""The routing policy: which queue a call joins and at what priority.

A pure function of the site config and the call's numbers (no I/O, no clock) so
that it can be tested exhaustively and extended (repeat callers, calls diverted
from 110) without touching the FastAGI plumbing.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.config import SiteConfig


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """``queue`` a configured queue name; ``priority`` for Queue() (higher is served
    first); ``reason`` a short tag for logs explaining the choice."""

    queue: str
    priority: int
    reason: str


def decide_route(site: SiteConfig, dialled: str, caller: str) -> RouteDecision:
    """Route a call to ``dialled`` from ``caller`` (sanitised digits or ``anonymous``).

    Today only the dialled number matters, through the same ``site.queue_for``
    the fail-open dialplan uses, so answering and not answering agree. ``caller``
    is part of the signature for the repeat-caller priority to come.
    """
    number = site.number(dialled)
    if number is not None:
        reason = f"{number.mode.value}-number"
    elif dialled == site.site.hotline_number:
        reason = "hotline"
    else:
        reason = "unknown-number"
    return RouteDecision(queue=site.queue_for(dialled), priority=0, reason=reason)
