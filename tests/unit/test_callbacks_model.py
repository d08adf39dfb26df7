"""Callback tasks: the state machine as a table, numbers, CEL payloads (hotline.callbacks.model)."""

from __future__ import annotations

import pytest

from hotline.callbacks.model import (
    InvalidTransition,
    Request,
    Status,
    Step,
    TaskState,
    advance,
    callback_account,
    callback_of,
    dialable,
    mask_number,
    parse_request,
    step_for_result,
)

R, D, C, F, X = Status.requested, Status.dialling, Status.connected, Status.failed, Status.cancelled


@pytest.mark.parametrize(("status", "attempts", "max_attempts", "step", "expected"), [
    (R, 0, 3, Step.dial, (D, 0)),
    (D, 0, 3, Step.answered, (C, 1)),
    (D, 0, 3, Step.try_failed, (R, 1)),
    (D, 2, 3, Step.try_failed, (F, 3)),          # the last try failed
    (D, 0, 1, Step.try_failed, (F, 1)),
    (D, 1, 3, Step.seat_missed, (R, 1)),         # the citizen was not dialled: no try used
    (R, 1, 3, Step.answered, (C, 2)),            # rebuilt from the log: the dialling step was not seen
    (R, 2, 3, Step.try_failed, (F, 3)),
    (R, 0, 3, Step.cancel, (X, 0)),
    (D, 0, 3, Step.cancel, (X, 0)),
])
def test_transitions(status: Status, attempts: int, max_attempts: int, step: Step,
                     expected: tuple[Status, int]) -> None:
    after = advance(TaskState(status, attempts, max_attempts), step)
    assert (after.status, after.attempts) == expected
    assert after.max_attempts == max_attempts


@pytest.mark.parametrize(("status", "step"), [
    (D, Step.dial),                               # already dialling: a second seat cannot take it
    *((s, step) for s in (C, F, X) for step in Step),  # closed tasks never move
])
def test_invalid_transitions(status: Status, step: Step) -> None:
    with pytest.raises(InvalidTransition):
        advance(TaskState(status, 1, 3), step)


@pytest.mark.parametrize(("number", "ok"), [
    ("13800138000", True), ("12345", True), ("1" * 20, True),
    ("1234", False), ("1" * 21, False), ("anonymous", False), ("+8613800138000", False), ("", False),
    (None, False), ("138 0013 8000", False),
])
def test_dialable(number: str | None, ok: bool) -> None:
    assert dialable(number) is ok


@pytest.mark.parametrize(("number", "masked"), [
    ("13800138000", "138****8000"), ("051383531111", "051*****1111"), ("12345", "***45"),
    ("123", "***"), ("anonymous", "anonymous"),
])
def test_mask_number(number: str, masked: str) -> None:
    assert mask_number(number) == masked


@pytest.mark.parametrize(("payload", "expected"), [
    ("13800138000|hotline|key", Request("13800138000", "hotline", "key")),
    ("13800138000|renshe|max_wait", Request("13800138000", "renshe", "max_wait")),
    ("13800138000|hotline", Request("13800138000", "hotline", "other")),
    ("13800138000|BAD QUEUE|key", Request("13800138000", None, "key")),
    ("anonymous|hotline|key", None),
    ("", None),
])
def test_parse_request(payload: str, expected: Request | None) -> None:
    assert parse_request(payload) == expected


def test_account_round_trip_and_refusal() -> None:
    assert callback_of(callback_account("1700000000.12")) == "1700000000.12"
    assert callback_of("leg-1700000000.12-110") is None
    assert callback_of("cb-x") is None
    with pytest.raises(ValueError):
        callback_account("1700000000.12,evil")


@pytest.mark.parametrize(("status", "step"), [("ANSWER", Step.answered), ("answer", Step.answered),
                                             ("NOANSWER", Step.try_failed), ("BUSY", Step.try_failed),
                                             ("", Step.try_failed)])
def test_step_for_result(status: str, step: Step) -> None:
    assert step_for_result(status) is step
