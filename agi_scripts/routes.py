"""The FastAGI route table of the hotline.

``inbound`` runs once per incoming call, before Queue(): the dialplan reads the
channel variables it sets and falls back to the default queue when they are
missing. ``parallel`` runs before a parallel number rings its department: it says
whether the department is open now (``HOTLINE_DEPT_OPEN``); without an answer the
dialplan rings the department anyway. ``health`` is for readiness checks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from hotline.config import SiteConfig
from hotline.spine import marks
from hotline.spine.numbers import ANONYMOUS, caller_number, compact
from hotline.spine.numbers import MAX_CHARS as MAX_NUMBER_CHARS

from .decide import RouteDecision, decide_route, department_open
from .repeat import RecentCallers
from .server import AgiSession, Router
from .signature import NONCE_PARAM, SIGNATURE_VAR, route_signature

log = logging.getLogger(__name__)

Decide = Callable[..., RouteDecision]   # (site, dialled, caller, *, repeat) -> RouteDecision
Clock = Callable[[], datetime]

__all__ = ["ANONYMOUS", "MAX_NUMBER_CHARS", "build_router", "recent_callers_for", "sanitise_caller"]

# The caller's number as digits with an optional leading ``+``, or ``anonymous``: the spine's
# caller-number rule (hotline.spine.numbers).
sanitise_caller = caller_number


def _utcnow() -> datetime:
    return datetime.now(UTC)


def recent_callers_for(site: SiteConfig) -> RecentCallers:
    return RecentCallers(window_s=site.repeat_caller.within_hours * 3600.0)


def build_router(site: SiteConfig, decide: Decide | None = None, clock: Clock | None = None,
                 recent: RecentCallers | None = None, key: str = "") -> Router:
    """The routes, bound to ``site``. ``decide`` replaces :func:`decide_route` (tests, policy
    changes); ``clock`` (an aware datetime) replaces the system clock for office hours and the
    repeat-caller memory (tests); ``recent`` is that memory (seeded from the store by the process);
    ``key`` signs every route (agi_scripts/signature.py: the dialplan uses only signed routes)."""
    choose = decide or decide_route
    now = clock or _utcnow
    callers = recent if recent is not None else recent_callers_for(site)

    async def answer(session: AgiSession, values: dict[str, str]) -> None:
        """Set the route's variables, then its signature (last: the dialplan checks it after)."""
        for name, value in values.items():
            await session.set_variable(name, value)
        await session.set_variable(SIGNATURE_VAR, route_signature(key, session.params.get(NONCE_PARAM, ""), values))

    async def inbound(session: AgiSession) -> None:
        caller = caller_number(session.env.get("agi_callerid", ""))
        # The dialplan passes the number as dialled; agi_extension may already have
        # been rewritten (s, a Goto target), so it is only the fallback.
        raw_dialled = session.params.get("dialled") or session.env.get("agi_extension", "")
        repeat = callers.arrive(caller, now().timestamp())
        decision = choose(site, compact(raw_dialled) or "", caller, repeat=repeat)
        log.debug("inbound %s: %s -> %s", session.env.get("agi_uniqueid"), raw_dialled, decision)
        await session.set_variable(marks.CALLER, caller)
        values = {marks.ROUTE_PRIORITY: str(decision.priority)}
        if decision.priority_reason:
            values[marks.ROUTE_PRIORITY_REASON] = decision.priority_reason
        values[marks.ROUTE_QUEUE] = decision.queue
        await answer(session, values)

    async def parallel(session: AgiSession) -> None:
        caller = caller_number(session.env.get("agi_callerid", ""))
        raw_dialled = session.params.get("dialled") or session.env.get("agi_extension", "")
        is_open = department_open(site, compact(raw_dialled) or "", now())
        log.debug("parallel %s: %s -> %s", session.env.get("agi_uniqueid"), raw_dialled,
                  "open" if is_open else "closed")
        await session.set_variable(marks.CALLER, caller)
        # The dialplan skips the department only on an explicit, signed "0".
        await answer(session, {marks.DEPT_OPEN: "1" if is_open else "0"})

    async def health(session: AgiSession) -> None:
        await session.set_variable(marks.AGI_OK, "1")

    router = Router()
    router.add("inbound", inbound)
    router.add("parallel", parallel)
    router.add("health", health)
    return router
