"""Which hub message moves the seat's change stream (hotline.pop.events.pick), table-tested: with
several nodes, a seat busy on another node's call is seen here without the call; that node's view
(``peer_seat``) brings the call and ends it, and this node's call-less view does not hide it."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.pop.events import pick


def view(state: str, call_id: str | None, node: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"seat_id": "1001", "state": state, "call_id": call_id, "since": 1.0}
    return {**out, "node": node} if node else out


@pytest.mark.parametrize(("kind", "data", "shown_from", "expected"), [
    ("seat", view("ringing", "a-1.1"), None, (("ringing", "a-1.1"), None)),            # this node's call
    ("seat", view("idle", None), None, (("idle", None), None)),
    ("peer_seat", view("talking", "node-b-1.2", "node-b"), None, (("talking", "node-b-1.2"), "node-b")),
    ("seat", view("talking", None), "node-b", None),          # busy here without the call: the peer's stays
    ("seat", view("ringing", "a-1.3"), "node-b", (("ringing", "a-1.3"), None)),   # a call here takes over
    ("peer_seat", view("wrapup", None, "node-b"), "node-b", (("wrapup", None), None)),   # the peer's call ended
    ("peer_seat", view("idle", None, "node-c"), "node-b", None),   # another peer's idle view says nothing
    ("peer_seat", view("idle", None, "node-b"), None, None),       # nor does any peer's when none is shown
    ("queue", view("idle", None), None, None),
])
def test_pick(kind: str, data: dict[str, Any], shown_from: str | None,
              expected: tuple[tuple[str, str | None], str | None] | None) -> None:
    got = pick(kind, data, shown_from)
    assert (None if got is None else ((got[0]["state"], got[0]["call_id"]), got[1])) == expected
