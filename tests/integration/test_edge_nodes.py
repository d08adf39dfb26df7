"""Several nodes, one store (issue 14, items 3 and 4): Kamailio in front of two Asterisk nodes,
each with the site's generated configuration and its own controller, one PostgreSQL and one Redis
for both (tests/integration/edge_product.py); real SIP calls to 12345 from sipp through the edge,
two seat phones registered at the edge.

In file order on one rig: a seat logged in on one node is in every node's queue; paused on one
node, paused on all, and every node's waiting callers on either node's board; calls spread over
both nodes land once each in the one store, their ids naming their node, answered by seats of the
one pool whatever node their caller is on, and the KPIs are the same on either node; a node's
Asterisk killed during traffic (its calls end and get their record from its controller, new calls
go on), brought back; a whole node (Asterisk and controller) killed during traffic (its cut calls'
records come when it comes back, none twice); a controller alone killed during traffic (its node's
calls go on; their records come when it is back, none twice). Every assertion reads the store, the nodes' CEL or
their Asterisk; no test waits on /status (only the controller's readiness does).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from .edge_product import DIVERTED_110, NODE_LOST_AFTER_S, ProductRig
from .edge_rig import REPO_SIPP, rig_tag, seat_ids, sweep_stale, wait_for, why_not
from .servers import need_postgres, need_redis

pytestmark = pytest.mark.skipif(why_not() is not None, reason=why_not() or "")

TALK_MS = 3000   # seat 1001's phone talks this long, then hangs up; 1002's half as long again


@pytest.fixture(scope="module")
def rig(request: pytest.FixtureRequest) -> Iterator[ProductRig]:
    need_postgres()
    need_redis()
    failed = request.session.testsfailed
    workdir = Path(tempfile.mkdtemp(prefix="hotline-edge-nodes-"))
    workdir.chmod(0o755)   # the kamailio account reaches its run directory in it
    sweep_stale()
    r = ProductRig(tag=rig_tag(), workdir=workdir, seats=2)
    phones: list[subprocess.Popen[str]] = []
    try:
        r.build_network()
        r.start_store()
        r.start_nodes()
        r.start_edge()
        wait_for(lambda: r.in_rotation() == {"node-a", "node-b"}, 20, "both nodes in rotation")
        # Seats of unequal pace: with equal ones, callers arriving a, b, a, b (the edge's round robin)
        # and a freed seat woken at once, each seat would take one node's callers only.
        phones = [r.seat_phone(seat, 5091 + i, TALK_MS + i * TALK_MS // 2) for i, seat in enumerate(seat_ids(2))]
        yield r
    finally:
        for phone in phones:
            phone.kill()
            phone.wait(timeout=10)
        r.close()
    if request.session.testsfailed == failed:   # kept when a test failed: its logs tell why
        shutil.rmtree(workdir, ignore_errors=True)


Sipp = subprocess.Popen[str] | subprocess.CompletedProcess[str]


def _calls(rig: ProductRig, caller: str, count: int, *, hold_ms: int, rate: float, port: int, background: bool = False,
           extra: tuple[str, ...] = (), numbered: bool = False, service: str = "12345") -> Sipp:
    """``count`` callers from ``caller`` (``numbered``: ``caller`` followed by the call's number,
    1, 2, ...: no caller repeats, so none is a repeat caller with a raised priority)."""
    scenario = rig.workdir / f"caller-{hold_ms}{'-numbered' if numbered else ''}.xml"
    text = (REPO_SIPP / "edge_caller.xml").read_text().replace("HOLD_MS", str(hold_ms))
    scenario.write_text(text.replace("[caller]", "[caller][call_number]") if numbered else text)
    return rig.sipp(scenario, calls=count, rate=rate, caller=caller, port=port, background=background, extra=extra,
                    service=service)


def _sipp_ok(result: subprocess.Popen[str] | subprocess.CompletedProcess[str], calls: int) -> None:
    out = result.stdout if isinstance(result, subprocess.CompletedProcess) else Path(str(result.args)).read_text()
    assert result.returncode == 0, out[-3000:]
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("Successful call"))
    assert int(line.split("|")[2].split()[0]) == calls, out[-3000:]


def _of(rig: ProductRig, caller: str) -> list[dict[str, Any]]:
    return [r for r in rig.records() if r["caller_number"].endswith(caller)]


def _brief(records: list[dict[str, Any]]) -> list[tuple[str, str, str | None, str]]:
    return [(r["call_id"], r["outcome"], r["seat"], f"{r['arrived_at']:%H:%M:%S.%f}") for r in records]


def _node_of(record: dict[str, Any]) -> str:
    return next(n for n in ("node-a", "node-b") if str(record["call_id"]).startswith(f"{n}-"))


def _cut_by(record: dict[str, Any]) -> str | None:
    extra = record.get("extra") or {}
    return extra.get("cut_by") if isinstance(extra, dict) else None


def _final(rig: ProductRig, caller: str, count: int) -> list[dict[str, Any]] | None:
    """``caller``'s records once there are ``count``, all ended, none a guess of another node's
    (a node that came back writes its own over those)."""
    rs = _of(rig, caller)
    return rs if len(rs) >= count and all(r["ended_at"] and _cut_by(r) != "node_lost" for r in rs) else None


def _trunk_calls(rig: ProductRig, node: str, caller: str) -> set[str]:
    """The calls ``node``'s Asterisk took from ``caller`` (CEL CHAN_START), by Linkedid."""
    return {str(e["linkedid"]) for e in rig.nodes[node].calls() if str(e.get("num", "")).endswith(caller)}


def test_a_seat_logged_in_on_one_node_is_in_every_nodes_queue(rig: ProductRig) -> None:
    for seat in seat_ids(2):
        code, body = rig.api("node-a", "POST", f"/api/seats/{seat}/login")
        assert code in (200, 204), (code, body)
    for node in rig.nodes:   # node-b hears of it through Redis: its controller adds the members
        wait_for(lambda n=node: all(f"PJSIP/{s}" in rig.queue_members(n) for s in seat_ids(2)), 20,
                 f"both seats in {node}'s queue")   # type: ignore[misc]


def _waiting(rig: ProductRig, node: str) -> list[tuple[str, str]]:
    """The callers waiting in queue hotline as node's live view (the wallboard's) shows them: (node, call)."""
    code, live = rig.api(node, "GET", "/api/live")
    assert code == 200, live
    queue = next((q for q in live["queues"] if q["name"] == "hotline"), {"entries": []})
    return [(e.get("node", node), e["call_id"]) for e in queue["entries"]]


def test_every_nodes_waiting_callers_are_on_either_nodes_board_and_pauses_are_shared(rig: ProductRig) -> None:
    """Both seats paused on node-b (the pool pauses them on node-a too); callers wait on both
    nodes; each node's live view (the wallboard's) lists all of them, oldest first; unpaused on
    node-a, the seats take every caller."""
    for seat in seat_ids(2):
        code, body = rig.api("node-b", "POST", f"/api/seats/{seat}/pause", {"reason": "break"})
        assert code == 200, (code, body)
    for node in rig.nodes:
        wait_for(lambda n=node: rig.queue_members(n).count("paused") >= 2, 20,
                 f"both seats paused in {node}'s queue")   # type: ignore[misc]
    caller = "13900140006"
    calls = _calls(rig, caller, 4, hold_ms=60000, rate=4, port=5075, background=True)
    try:
        for node in rig.nodes:
            shown = wait_for(lambda n=node: (w := _waiting(rig, n)) and len(w) == 4 and w, 30,
                             f"4 waiting callers on {node}'s board")   # type: ignore[misc]
            assert {n for n, _ in shown} == {"node-a", "node-b"}, shown
            assert {c for _, c in shown} == {c for n in rig.nodes for c in _trunk_calls(rig, n, caller)}, shown
        # Call control the same on either node: each lists both nodes' calls, and a request about
        # a call of the other node is answered by that node's controller (hotline.calls.relay).
        for node in rig.nodes:
            code, live = rig.api(node, "GET", "/api/calls/live")
            assert code == 200, (code, live)
            mine = {i["call_id"] for i in live["items"] if i["caller_number"].endswith(caller[-4:])}
            assert mine == {c for n in rig.nodes for c in _trunk_calls(rig, n, caller)}, (node, live)
        other = next(iter(_trunk_calls(rig, "node-b", caller)))
        code, refused = rig.api("node-a", "POST", f"/api/calls/{other}/transfer", {"target": seat_ids(2)[0]})
        assert code == 409 and refused["error_id"] == "call-not-live", (code, refused)
        assert refused["details"]["node"] == "node-b" and "not answered by a seat" in refused["message"], refused
    finally:
        for seat in seat_ids(2):
            code, body = rig.api("node-a", "POST", f"/api/seats/{seat}/unpause", {})
            assert code == 200, (code, body)
    assert isinstance(calls, subprocess.Popen)
    calls.wait(timeout=120)
    _sipp_ok(calls, 4)
    records = wait_for(lambda: (rs := _of(rig, caller)) and len(rs) >= 4 and all(r["ended_at"] for r in rs) and rs,
                       60, "4 records")
    assert {r["outcome"] for r in records} == {"answered"}, _brief(records)
    for node in rig.nodes:
        assert _waiting(rig, node) == []


def _held_offers(rig: ProductRig, node: str) -> list[str]:
    """The seat channels of ``node`` hung up before they rang (a pre-dial hold: no ANSWER, no
    ringing state, ended within a moment)."""
    started: dict[str, float] = {}
    held = []
    for e in rig.nodes[node].events():
        if not str(e.get("channame", "")).startswith("PJSIP/100"):
            continue
        if e.get("eventtype") == "CHAN_START":
            started[e["uniqueid"]] = float(e["eventtime"])
        elif e.get("eventtype") in ("ANSWER", "BRIDGE_ENTER"):
            started.pop(e["uniqueid"], None)
        elif e.get("eventtype") == "CHAN_END" and e["uniqueid"] in started:
            if float(e["eventtime"]) - started.pop(e["uniqueid"]) < 0.2:
                held.append(e["uniqueid"])
    return held


def test_a_freed_seat_goes_to_the_first_caller_of_the_one_order_whatever_node(rig: ProductRig) -> None:
    """One seat on (1002 paused on node-a: paused everywhere). Caller 1 takes it (it talks 3 s);
    caller 2 (12345) waits on the other node; caller 3, a moment later, a call diverted from 110
    (priority 20), waits on caller 1's node. When the seat frees, caller 3 comes first (its
    priority), then caller 2, though caller 2's node has the freed seat free first: each node's
    controller tells its Asterisk the best waiting caller of the other nodes (hotline/seats/order.py),
    and an offer for a caller behind it is held back."""
    code, body = rig.api("node-a", "POST", "/api/seats/1002/pause", {"reason": "break"})
    assert code == 200, (code, body)
    for node in rig.nodes:
        wait_for(lambda n=node: any("PJSIP/1002" in line and "paused" in line
                                    for line in rig.queue_members(n).splitlines()), 20,
                 f"seat 1002 paused in {node}'s queue")   # type: ignore[misc]
    caller = "1390014070"   # 13900140701, 13900140702; the diverted caller 13900140799

    def arrived() -> int:
        return sum(1 for n in rig.nodes for e in rig.nodes[n].calls() if caller in str(e.get("num", "")))
    try:
        two = _calls(rig, caller, 2, hold_ms=60000, rate=2, port=5076, extra=("-rp", "3000"), numbered=True,
                     background=True)   # 1.5 s apart
        wait_for(lambda: arrived() >= 2, 20, "callers 1 and 2")
        third = _calls(rig, f"{caller}99", 1, hold_ms=60000, rate=1, port=5077, service=DIVERTED_110, background=True)
        for proc, count in ((two, 2), (third, 1)):
            assert isinstance(proc, subprocess.Popen)
            proc.wait(timeout=120)
            _sipp_ok(proc, count)
    finally:
        code, body = rig.api("node-a", "POST", "/api/seats/1002/unpause", {})
        assert code == 200, (code, body)
    records = wait_for(lambda: (rs := [r for r in rig.records() if caller in r["caller_number"]]) and len(rs) >= 3
                       and all(r["ended_at"] for r in rs) and rs, 60, "3 records")
    assert {(r["outcome"], r["seat"]) for r in records} == {("answered", "1001")}, _brief(records)
    first, second, diverted = sorted(records, key=lambda r: r["arrived_at"])
    assert diverted["caller_number"].endswith("99") and _node_of(second) != _node_of(diverted), _brief(records)
    held = {n: len(_held_offers(rig, n)) for n in rig.nodes}
    print(f"edge nodes: offers of a seat held back for another node's caller: {held}")
    served = [r["call_id"] for r in sorted(records, key=lambda r: r["answered_at"])]
    assert served == [first["call_id"], diverted["call_id"], second["call_id"]], (
        _brief(records), [(r["call_id"], f"{r['answered_at']:%H:%M:%S.%f}") for r in records])


def test_calls_through_the_edge_land_once_each_in_the_one_store_with_their_node(rig: ProductRig) -> None:
    caller = "13900140001"
    start = datetime.now(timezone.utc) - timedelta(seconds=5)
    calls = _calls(rig, caller, 12, hold_ms=40000, rate=2, port=5070, background=True)
    assert isinstance(calls, subprocess.Popen)
    # The seat's screen pop on either node shows its call whatever node the call is on.
    popped: set[tuple[str, str]] = set()   # (node asked, node of the call shown)
    while calls.poll() is None and len(popped) < 4:
        for node in rig.nodes:
            for seat in seat_ids(2):
                code, pop = rig.api(node, "GET", f"/api/seats/{seat}/pop")
                assert code == 200, (code, pop)
                if pop["call"] is not None:
                    popped.add((node, _node_of(pop["call"])))
    calls.wait(timeout=120)
    _sipp_ok(calls, 12)
    assert {("node-a", "node-b"), ("node-b", "node-a")} <= popped, popped
    records = wait_for(lambda: (rs := _of(rig, caller)) and len(rs) >= 12 and all(r["ended_at"] for r in rs) and rs,
                       60, "12 records")
    assert len(records) == 12, records                       # once each
    by_node = Counter(_node_of(r) for r in records)
    assert set(by_node) == {"node-a", "node-b"}, by_node     # the edge spread them
    for node in rig.nodes:   # each record names the node whose Asterisk took the call
        assert by_node[node] == len(_trunk_calls(rig, node, caller)), (node, by_node)
    answered = [r for r in records if r["outcome"] == "answered"]
    assert len(answered) == 12, [(r["call_id"], r["outcome"]) for r in records]
    pairs = {(r["seat"], _node_of(r)) for r in answered}
    assert {s for s, _ in pairs} == set(seat_ids(2)), pairs
    assert any({(s, "node-a"), (s, "node-b")} <= pairs for s in seat_ids(2)), pairs   # one seat, callers of both
    # The KPIs come from the one store: the same on either node.
    window = f"?start={start.isoformat()}&end={(datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()}"
    reports = {}
    for node in rig.nodes:
        code, body = rig.api(node, "GET", "/api/metrics" + window.replace("+", "%2B"))
        assert code == 200, body
        body.pop("rolling_24h", None)
        reports[node] = body
    assert reports["node-a"] == reports["node-b"]
    assert "12" in str(reports["node-a"]), reports["node-a"]   # the 12 calls are in it


def test_a_node_whose_asterisk_dies_during_traffic_records_its_calls_and_new_calls_go_on(rig: ProductRig) -> None:
    caller = "13900140002"
    calls = _calls(rig, caller, 10, hold_ms=20000, rate=2, port=5071, background=True)
    wait_for(lambda: len(_trunk_calls(rig, "node-a", caller)) >= 2, 20, "calls on node-a")
    time.sleep(0.5)   # more calls on their way: the kill falls in the middle of the traffic
    rig.nodes["node-a"].kill()   # its controller stays up
    assert isinstance(calls, subprocess.Popen)
    calls.wait(timeout=120)
    _sipp_ok(calls, 10)   # none failed: those on node-a were ended by the edge, the rest went on
    on_a = _trunk_calls(rig, "node-a", caller)
    records = wait_for(lambda: (rs := _of(rig, caller)) and len(rs) >= 10 and all(r["ended_at"] for r in rs) and rs,
                       60, "10 records")
    assert len(records) == 10, records
    assert Counter(_node_of(r) for r in records)["node-a"] == len(on_a), (on_a, records)
    # The node comes back: the edge and its controller take it again.
    rig.start_node("node-a")
    wait_for(lambda: rig.in_rotation() == {"node-a", "node-b"}, 20, "node-a back in rotation")


def test_a_whole_node_killed_during_traffic_loses_no_record_and_writes_none_twice(rig: ProductRig) -> None:
    caller = "13900140003"
    calls = _calls(rig, caller, 10, hold_ms=20000, rate=2, port=5072, background=True)
    wait_for(lambda: len(_trunk_calls(rig, "node-b", caller)) >= 2, 20, "calls on node-b")
    time.sleep(0.5)
    rig.kill_node("node-b")   # Asterisk and controller: nobody on node-b sees its calls end
    assert isinstance(calls, subprocess.Popen)
    calls.wait(timeout=120)
    _sipp_ok(calls, 10)
    on_b = _trunk_calls(rig, "node-b", caller)
    assert on_b
    rig.start_node("node-b")   # its controller reads what its Asterisk logged before it died
    wait_for(lambda: rig.in_rotation() == {"node-a", "node-b"}, 20, "node-b back in rotation")
    records = wait_for(lambda: _final(rig, caller, 10), 90, "10 records of node-b's own")
    assert len(records) == 10, records
    assert Counter(_node_of(r) for r in records)["node-b"] == len(on_b), (on_b, records)


def test_a_node_lost_for_good_has_its_calls_closed_by_the_other_node(rig: ProductRig) -> None:
    """node-b dies whole during traffic and does not come back: node-a's controller closes the calls
    node-b had in progress from what node-b kept in the one store (once node-b has been silent for
    edge.node_lost_after_s), each once. Brought back at last, node-b writes its own records over
    those guesses: still one record per call."""
    caller = "13900140008"
    calls = _calls(rig, caller, 10, hold_ms=20000, rate=2, port=5078, background=True)
    wait_for(lambda: len(rig.open_calls("node-b") & _trunk_calls(rig, "node-b", caller)) >= 2, 20,
             "node-b's calls in progress in the store")
    rig.kill_node("node-b")
    killed_at = datetime.now(timezone.utc)
    assert isinstance(calls, subprocess.Popen)
    calls.wait(timeout=120)
    _sipp_ok(calls, 10)
    on_b = _trunk_calls(rig, "node-b", caller)
    assert on_b
    records = wait_for(lambda: (rs := _of(rig, caller)) and len(rs) >= 10 and all(r["ended_at"] for r in rs) and rs,
                       NODE_LOST_AFTER_S + 60, "10 records while node-b stays dead")
    assert len(records) == 10 and len({r["call_id"] for r in records}) == 10, _brief(records)
    of_b = [r for r in records if _node_of(r) == "node-b"]
    assert {r["call_id"] for r in of_b} <= on_b and of_b, (on_b, _brief(records))
    in_progress = [r for r in of_b if _cut_by(r) == "node_lost"]   # those it had not ended before it died
    assert in_progress, _brief(of_b)
    for r in in_progress:   # closed at node-b's last round: before the kill, never after it
        assert r["ended_at"] <= killed_at + timedelta(seconds=1), (r, killed_at)
    assert not rig.controllers["node-b"].alive()
    rig.start_node("node-b")
    wait_for(lambda: rig.in_rotation() == {"node-a", "node-b"}, 20, "node-b back in rotation")
    back = wait_for(lambda: _final(rig, caller, 10), 90, "node-b's own records over the guesses")
    assert sorted(r["call_id"] for r in back) == sorted(r["call_id"] for r in records), _brief(back)


def test_a_controller_killed_during_traffic_loses_no_record_and_writes_none_twice(rig: ProductRig) -> None:
    """node-a's controller dies (SIGKILL) with calls in progress and more arriving; its Asterisk
    goes on (the routing step fails open to the queue). Restarted, it records every call of the
    gap from its Asterisk's CEL log, none twice, none cut."""
    caller = "13900140005"
    calls = _calls(rig, caller, 10, hold_ms=40000, rate=2, port=5074, background=True)
    wait_for(lambda: len(_trunk_calls(rig, "node-a", caller)) >= 2, 20, "calls on node-a")
    rig.controllers["node-a"].kill()
    assert isinstance(calls, subprocess.Popen)
    calls.wait(timeout=120)
    _sipp_ok(calls, 10)
    rig.controllers["node-a"].start()
    rig.wait_controller("node-a")
    records = wait_for(lambda: _final(rig, caller, 10), 90, "10 records of node-a's own")
    assert len(records) == 10, records
    assert Counter(_node_of(r) for r in records)["node-a"] == len(_trunk_calls(rig, "node-a", caller)), records
    assert {r["outcome"] for r in records} == {"answered"}, _brief(records)


def test_after_the_failures_both_nodes_answer_with_the_pool_again(rig: ProductRig) -> None:
    """Both nodes restarted once: their queues have the seats again (the pool's state in Redis)
    and every call is answered, on both nodes."""
    for node in rig.nodes:
        wait_for(lambda n=node: all(f"PJSIP/{s}" in rig.queue_members(n) for s in seat_ids(2)), 30,
                 f"both seats in {node}'s queue again")   # type: ignore[misc]
    caller = "13900140004"
    _sipp_ok(_calls(rig, caller, 8, hold_ms=40000, rate=2, port=5073), 8)
    records = wait_for(lambda: (rs := _of(rig, caller)) and len(rs) >= 8 and all(r["ended_at"] for r in rs) and rs,
                       60, "8 records")
    assert len(records) == 8 and {r["outcome"] for r in records} == {"answered"}, _brief(records)
    assert {_node_of(r) for r in records} == {"node-a", "node-b"}, records
