"""The one order over a seat pool's nodes (issue 14, item 2; hotline/seats/order.py): the best
waiting caller of the other nodes per queue, told to this node's Asterisk as a global variable
(changes at once, renewed while it lasts, cleared when nobody waits elsewhere), and a waiting
caller's rank read from the queue events (``ChanVariable: HOTLINE_RANK=...``)."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.seats.order import RENEW_S, PoolOrder, best_ranks, gate_value
from hotline.seats.snapshot import entry_from, rank_of
from hotline.spine.plan import PRIORITY_WEIGHT


def entry(since: float, priority: int = 0, rank: float | None = None) -> dict[str, Any]:
    return {"call_id": "x", "since": since, "priority": priority, **({"rank": rank} if rank is not None else {})}


@pytest.mark.parametrize(("case", "peers", "best"), [
    ("nobody waits elsewhere", {}, {}),
    ("the oldest of every other node",
     {"node-b": {"hotline": {"entries": [entry(20.0), entry(12.0)]}},
      "node-c": {"hotline": {"entries": [entry(15.0)]}, "haimen": {"entries": [entry(30.0)]}}},
     {"hotline": 12.0, "haimen": 30.0}),
    ("a priority outranks any wait",
     {"node-b": {"hotline": {"entries": [entry(10.0), entry(50.0, priority=2)]}}},
     {"hotline": 50.0 - 2 * PRIORITY_WEIGHT}),
    ("the dialplan's own rank wins over since and priority",
     {"node-b": {"hotline": {"entries": [entry(10.0, rank=5.5)]}}}, {"hotline": 5.5}),
    ("unusable entries are skipped",
     {"node-b": {"hotline": {"entries": [{"since": "soon"}, {"priority": 1}, entry(40.0)]}}}, {"hotline": 40.0}),
    ("a queue with nobody waiting is no gate", {"node-b": {"hotline": {"entries": []}}}, {}),
])
def test_best_ranks(case: str, peers: dict[str, Any], best: dict[str, float]) -> None:
    assert best_ranks(peers) == best, case


def test_gate_value() -> None:
    assert gate_value(None, 1796000000.9) == ""
    assert gate_value(1795999000.1234, 1796000000.9) == "1795999000.123/1796000000"


class Asterisk:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self.down = False

    async def send(self, action: dict[str, str]) -> Any:
        if self.down:
            raise ConnectionError("AMI down")
        self.sent.append(action)
        return {"Response": "Success"}

    def said(self) -> list[tuple[str, str]]:
        out = [(a["Variable"], a["Value"]) for a in self.sent]
        self.sent.clear()
        return out


async def test_gates_follow_the_other_nodes_callers() -> None:
    peers: dict[str, dict[str, dict[str, Any]]] = {}
    now = [1796000000.0]
    ami = Asterisk()
    order = PoolOrder(lambda: peers, ami.send, clock=lambda: now[0])
    assert await order.step() == 0 and ami.said() == []          # nothing to say yet
    peers["node-b"] = {"hotline": {"entries": [entry(1795999990.0)]}}
    await order.step()
    assert ami.said() == [("HOTLINE_GATE_hotline", "1795999990.000/1796000000")]
    now[0] += 1
    await order.step()
    assert ami.said() == []                                       # unchanged: not said again
    peers["node-b"]["hotline"]["entries"].insert(0, entry(1795999980.0))
    await order.step()
    assert ami.said() == [("HOTLINE_GATE_hotline", "1795999980.000/1796000001")]
    now[0] += RENEW_S
    await order.step()
    assert ami.said() == [("HOTLINE_GATE_hotline", f"1795999980.000/{int(now[0])}")]   # renewed
    peers["node-b"]["hotline"]["entries"] = []
    await order.step()
    assert ami.said() == [("HOTLINE_GATE_hotline", "")]           # nobody waits elsewhere: cleared
    now[0] += 60
    await order.step()
    assert ami.said() == []                                       # a clear gate needs no renewal


async def test_an_ami_failure_is_retried_at_the_next_round() -> None:
    peers = {"node-b": {"hotline": {"entries": [entry(1795999990.0)]}}}
    ami = Asterisk()
    order = PoolOrder(lambda: peers, ami.send, clock=lambda: 1796000000.0)
    ami.down = True
    with pytest.raises(ConnectionError):
        await order.step()
    ami.down = False
    await order.step()
    assert ami.said() == [("HOTLINE_GATE_hotline", "1795999990.000/1796000000")]


@pytest.mark.parametrize(("header", "rank"), [
    ("HOTLINE_RANK=1796000000.123", 1796000000.123),
    ("HOTLINE_RANK=1776000000.5", 1776000000.5),
    ("HOTLINE_RANK=", None),
    ("HOTLINE_RANK=nan", None),
    ("HOTLINE_RANK=inf", None),
    ("HOTLINE_RANK=12; DROP", None),
    ("OTHER=5", None),
    ("", None),
])
def test_a_waiting_callers_rank_from_the_queue_event(header: str, rank: float | None) -> None:
    h = {"Uniqueid": "node-a-1796000000.1", "Linkedid": "node-a-1796000000.1", "Position": "1",
         **({"ChanVariable": header} if header else {})}
    assert rank_of(h) == rank
    assert entry_from(h, since=1.0).rank == rank
