"""A browser seat that loses its network in the middle of a conversation (issue 13 item 2): its
caller is not left with a silent line until an RTP timeout. Chromium is frozen (SIGSTOP: it answers
nothing and closes nothing, as when its network goes) while talking with a sipp caller; Asterisk's
qualify finds the contact unreachable, the controller redirects the caller back into the hotline
queue (hotline-requeue, first in line) and logs the browser seat out; the next seat to log in
answers the same caller, and exactly one record lands, naming the lost seat in
``extra.requeued_from``. Its own module: the frozen page is of no use afterwards.

No test here reads /status: the flow is watched on the calls, the seat and the record alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .browser import FAKE_AUDIO, chromium
from .rig import SEATS, Stack, http_json, wait_for
from .test_console_webrtc import (SEAT, _browser_hears_and_speaks, _end, _new_caller, _open_console, _ring_and_answer,
                                  answered_by, frozen_browser, next_seat_answers)


@pytest.fixture(scope="module")
def page(stack: Stack) -> Iterator[Any]:
    """Chromium on /console as the browser seat's user, the seat logged in and alone in the queue."""
    for seat in SEATS:
        stack.logout_seat_cli(seat)
    try:
        for driver in chromium(*FAKE_AUDIO):
            _open_console(driver, stack)
            yield driver
    finally:
        stack.end_all_calls()
        code, body = http_json("POST", f"{stack.api}/api/seats/{SEAT}/logout")
        for seat in SEATS:
            stack.login_seat(seat)
        assert code == 200 or body["error_id"] == "seat-not-logged-in", body


def test_a_browser_lost_mid_call_sends_its_caller_back_to_the_queue_and_the_next_seat_answers(
        stack: Stack, page: Any) -> None:
    caller = _new_caller()
    call = _ring_and_answer(page, stack, caller)
    try:
        _browser_hears_and_speaks(page)   # a real conversation before the network goes
        first = wait_for("the call live with the browser seat", lambda: answered_by(stack, caller, SEAT))
        with frozen_browser(page):
            live = next_seat_answers(stack, call, caller)
            assert live["call_id"] == first["call_id"]   # the same conversation, not a new call
            stack.cli(f"channel request hangup {live['control']['caller_channel']}")
            record = stack.record_for(caller, timeout=30)
    finally:
        _end(call)
    assert record["outcome"] == "answered" and record["seat"] == SEAT, record
    assert record["extra"]["requeued_from"] == [SEAT], record["extra"]
    assert len([c for c in stack.calls() if c["caller_number"] == caller]) == 1
