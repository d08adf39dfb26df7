"""Errors of the callback routes: :class:`hotline.exceptions.HotlineError` subclasses with stable ids
(the API turns them into JSON in one place, ``hotline.api.app``)::

    NotFound
    └── NoSuchCallback    no-such-callback   (404)   (an unknown seat: hotline.exceptions.NoSuchSeat)
    CallbackClosed        callback-closed    (409: connected, failed or cancelled)
    CallbackExists        callback-exists    (409: the call has a callback task already)
    NotAbandoned          not-abandoned      (409: only abandoned calls get an abandoned-kind task)
    SeatBusy              seat-busy          (409: not registered, or on a call)
    NoCallerNumber        no-caller-number   (422: anonymous or not a dialable number)
"""

from __future__ import annotations

from hotline.exceptions import HotlineError, NotFound


class NoSuchCallback(NotFound):
    error_id = "no-such-callback"

    def __init__(self, task_id: object) -> None:
        super().__init__(f"no callback task with id {task_id!r}", callback_id=str(task_id))


class CallbackClosed(HotlineError):
    error_id = "callback-closed"
    http_status = 409

    def __init__(self, task_id: int, status: str) -> None:
        super().__init__(f"callback task {task_id} is {status}", callback_id=task_id, status=status)


class CallbackExists(HotlineError):
    error_id = "callback-exists"
    http_status = 409

    def __init__(self, call_id: str, task_id: int, status: str) -> None:
        super().__init__(f"call {call_id!r} already has callback task {task_id} ({status})",
                         call_id=call_id, callback_id=task_id, status=status)


class NotAbandoned(HotlineError):
    error_id = "not-abandoned"
    http_status = 409

    def __init__(self, call_id: str, outcome: str) -> None:
        super().__init__(f"call {call_id!r} was not abandoned (outcome {outcome})", call_id=call_id, outcome=outcome)


class SeatBusy(HotlineError):
    error_id = "seat-busy"
    http_status = 409

    def __init__(self, seat: str, state: str) -> None:
        super().__init__(f"seat {seat} cannot take a callback now (device state {state})", seat=seat, state=state)


class NoCallerNumber(HotlineError):
    error_id = "no-caller-number"
    http_status = 422

    def __init__(self, call_id: str) -> None:
        super().__init__(f"call {call_id!r} has no caller number that can be dialled back", call_id=call_id)
