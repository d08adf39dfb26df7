"""Errors of the 回访 routes: :class:`hotline.exceptions.HotlineError` subclasses with stable ids
(the API turns them into JSON in one place, ``hotline.api.app``)::

    NotFound
    └── NoSuchRevisit     no-such-revisit      (404)
    RevisitClosed         revisit-closed       (409: not in a status that takes this step)
    RevisitClaimed        revisit-claimed      (409: another seat claimed it)
    NumberNotAllowed      number-not-allowed   (422: the outbound rule refuses the number; audited)
"""

from __future__ import annotations

from hotline.exceptions import HotlineError, NotFound
from hotline.privacy import mask_number


class NoSuchRevisit(NotFound):
    error_id = "no-such-revisit"

    def __init__(self, task_id: object) -> None:
        super().__init__(f"no 回访 task with id {task_id!r}", revisit_id=str(task_id))


class RevisitClosed(HotlineError):
    error_id = "revisit-closed"
    http_status = 409

    def __init__(self, task_id: int, status: str, step: str) -> None:
        super().__init__(f"回访 task {task_id} is {status}: it cannot take {step}", revisit_id=task_id,
                         status=status, step=step)


class RevisitClaimed(HotlineError):
    error_id = "revisit-claimed"
    http_status = 409

    def __init__(self, task_id: int, seat: str | None) -> None:
        super().__init__(f"回访 task {task_id} is claimed by {seat}: only that seat or a supervisor may act on it",
                         revisit_id=task_id, seat=seat)


class NumberNotAllowed(HotlineError):
    """The outbound number rule (:mod:`hotline.revisits.rules`) refuses to dial the number; the
    details show it masked (the audit log keeps who asked)."""

    error_id = "number-not-allowed"
    http_status = 422

    def __init__(self, number: str, reason: str, field: str = "number") -> None:
        super().__init__(f"{field}: the outbound rule refuses this number ({reason})", field=field,
                         value=mask_number(number), reason=reason)
