"""What the records of the controller's outbound tries (回访 calls, duty-phone dial tests) share.
Pure functions.

A try is found by the accountcode the controller gave its Originate (:func:`tried`); a try nobody
answered is told by its hangup cause (:func:`unanswered`): ``busy`` (cause 17), ``no_answer`` (no
answer in the ring time, cancelled, or no cause), ``failed`` (any other cause: unallocated number,
congestion, rejected...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from .cel import CelEvent

T = TypeVar("T")
NO_ANSWER_CAUSES = frozenset({None, 0, 16, 18, 19, 31})
BUSY_CAUSES = frozenset({17})


def tried(events: list[CelEvent], parse: Callable[[str], T | None]) -> T | None:
    """What the first accountcode ``parse`` knows among the events says, or None."""
    for e in events:
        if e.accountcode:
            found = parse(e.accountcode)
            if found is not None:
                return found
    return None


def hangup_cause(event: CelEvent | None) -> int | None:
    """The Q.850 cause of a HANGUP event, or None (no event, or no number in it)."""
    try:
        return int(event.extra.get("hangupcause")) if event is not None else None  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def unanswered(cause: int | None) -> str:
    """``busy``, ``no_answer`` or ``failed``: the result of a try nobody answered."""
    if cause in BUSY_CAUSES:
        return "busy"
    return "no_answer" if cause in NO_ANSWER_CAUSES else "failed"
