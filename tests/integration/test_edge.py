"""The SIP edge with real hosts (issue 14, items 1 and 4): Kamailio in front of two Asterisk nodes,
each in its own network namespace (tests/integration/edge_rig.py), real SIP calls from sipp.

The tests run in file order on one rig: balanced placement, the caller identity, trunks and
strangers, a node killed during traffic, the node brought back.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

from .edge_rig import (NODES, REPO_SIPP, RESTING_SEAT, RESTING_WRAPUP_S, SEAT, STRANGER_IP, Rig, rig_tag, sweep_stale,
                       wait_for, why_not)

pytestmark = pytest.mark.skipif(why_not() is not None, reason=why_not() or "")


@pytest.fixture(scope="module")
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    failed = request.session.testsfailed
    workdir = Path(tempfile.mkdtemp(prefix="hotline-edge-"))
    workdir.chmod(0o755)   # the kamailio account reaches its run directory in it
    sweep_stale()   # what a killed earlier run left behind
    r = Rig(tag=rig_tag(), workdir=workdir)
    try:
        r.build_network()
        r.start_nodes()
        r.start_edge()
        wait_for(lambda: r.in_rotation() == {"node-a", "node-b"}, 20, "both nodes in rotation")
        yield r
    finally:
        r.close()
    if request.session.testsfailed == failed:   # kept when a test failed: its logs tell why
        shutil.rmtree(workdir, ignore_errors=True)


def _scenario(rig: Rig, hold_ms: int) -> Path:
    path = rig.workdir / f"caller-{hold_ms}.xml"
    path.write_text((REPO_SIPP / "edge_caller.xml").read_text().replace("HOLD_MS", str(hold_ms)))
    return path


def _ok(result: subprocess.CompletedProcess[str] | subprocess.Popen[str], calls: int) -> None:
    out = result.stdout if isinstance(result, subprocess.CompletedProcess) else Path(str(result.args)).read_text()
    assert result.returncode == 0, out[-3000:]
    assert _cumulative(out, "Successful call") == calls, out[-3000:]
    assert _cumulative(out, "Failed call") == 0, out[-3000:]


def _cumulative(out: str, counter: str) -> int:
    for line in out.splitlines():
        if line.strip().startswith(counter):
            return int(line.split("|")[2].split()[0])
    raise AssertionError(f"no {counter!r} in sipp's output:\n{out[-2000:]}")


def _counts(rig: Rig) -> dict[str, int]:
    return {name: len(node.calls()) for name, node in rig.nodes.items()}


def test_calls_are_spread_over_both_nodes(rig: Rig) -> None:
    before = _counts(rig)
    _ok(rig.sipp(_scenario(rig, 300), calls=20, rate=20), 20)
    placed = {n: c - before[n] for n, c in _counts(rig).items()}
    assert sum(placed.values()) == 20, placed
    assert abs(placed["node-a"] - placed["node-b"]) <= 2, placed   # round robin


def test_caller_identity_is_normalised_before_a_node_sees_it(rig: Rig) -> None:
    seen = {name: len(node.calls()) for name, node in rig.nodes.items()}
    # '+86 138-1234-5678' (the space escaped, as a SIP URI carries it) in From and P-Asserted-Identity
    _ok(rig.sipp(_scenario(rig, 200), calls=2, rate=10, caller="+86%20138-1234-5678"), 2)
    _ok(rig.sipp(_scenario(rig, 200), calls=2, rate=10, caller="1380%3Bcmd=evil"), 2)
    new = [c for name, node in rig.nodes.items() for c in node.calls()[seen[name]:]]
    assert sorted(c["num"] for c in new) == ["+8613812345678", "+8613812345678", "anonymous", "anonymous"], new
    # The caller's forged X-Hotline-Trunk was dropped: the node knew the trunk from the edge's own header.
    assert {c["context"] for c in new} == {"from-trunk-carrier"}, new


def _seat_legs(rig: Rig, seat: str = SEAT) -> list[tuple[str, float, float]]:
    """Every answered leg to the seat on any node: (node, answered at, ended at), by answer time."""
    legs = []
    for name, node in rig.nodes.items():
        answered: dict[str, float] = {}
        for e in node.events():
            if not str(e.get("channame", "")).startswith(f"PJSIP/{seat}-"):
                continue
            if e.get("eventtype") == "ANSWER":
                answered[e["uniqueid"]] = float(e["eventtime"])
            elif e.get("eventtype") == "CHAN_END" and e.get("uniqueid") in answered:
                legs.append((name, answered.pop(e["uniqueid"]), float(e["eventtime"])))
    return sorted(legs, key=lambda leg: leg[1])


def _seat_answers(rig: Rig) -> int:
    return sum(1 for node in rig.nodes.values() for e in node.events()
               if e.get("eventtype") == "ANSWER" and str(e.get("channame", "")).startswith(f"PJSIP/{SEAT}-"))


TALK_MS = 6000   # the seat phone talks this long, then hangs up (through the edge)


def _busy_refusals(rig: Rig) -> int:
    assert rig.edge is not None
    return rig.edge.log_file.read_text(errors="replace").count(f"seat {SEAT} is busy")


@pytest.fixture(scope="module")
def seat(rig: Rig) -> Iterator[None]:
    """Seat 1001 registered at the edge and reachable from both nodes; its phone (sipp) answers
    every call after ringing 300 ms and hangs up after TALK_MS (or at the caller's BYE)."""
    phone = rig.seat_phone(SEAT, 5091, TALK_MS)   # registers and takes calls on one address
    try:
        yield None
    finally:
        phone.kill()
        phone.wait(timeout=10)


def test_a_seat_registered_at_the_edge_is_reached_from_every_node(rig: Rig, seat: None) -> None:
    """The edge is the seats' registrar: every node reaches the seat as sip:1001@<edge>."""
    for node in rig.nodes.values():
        contacts = node.runtime.cli(f"pjsip show contacts like {SEAT}", check=False) or ""
        assert f"{SEAT}/sip:{SEAT}@10.214.0.2:5060" in contacts, contacts
    before = {leg[1] for leg in _seat_legs(rig)}
    # Trunk calls to 1001 dial the seat (the rig's dialplan); round robin puts them on both nodes.
    for port in (5077, 5078, 5079, 5080):
        res = rig.sipp(_scenario(rig, 600), calls=1, rate=1, port=port, service=SEAT)
        _ok(res, 1)
    new = wait_for(lambda: [leg for leg in _seat_legs(rig) if leg[1] not in before][3:] and [
        leg for leg in _seat_legs(rig) if leg[1] not in before], 10, "the seat's 4 legs to end")
    assert sorted(leg[0] for leg in new) == ["node-a", "node-a", "node-b", "node-b"], new


def test_an_unregistered_phone_cannot_register_as_someone_elses_seat(rig: Rig) -> None:
    bad = rig.sipp(REPO_SIPP / "register.xml", calls=1, rate=1, source=STRANGER_IP, port=5095,
                   extra=("-key", "user", SEAT, "-key", "contact_port", "5095", "-au", SEAT, "-ap", "wrong-secret-1",
                          "-recv_timeout", "3000"))
    assert isinstance(bad, subprocess.CompletedProcess)
    assert _cumulative(bad.stdout, "Successful call") == 0, bad.stdout[-2000:]
    assert rig.edge is not None
    wait_for(lambda: f"REGISTER of {SEAT} from {STRANGER_IP} refused" in rig.edge.log_file.read_text(
        errors="replace"), 10, "the edge to refuse the wrong password")


def test_one_seat_pool_a_seat_busy_on_one_node_is_not_offered_by_the_other(rig: Rig, seat: None) -> None:
    """Caller 1 reaches the seat through one node's queue; caller 2, a second later, lands on the
    other node (round robin) and waits: the nodes share the seat's device state, so the other
    queue does not ring a seat in use (no 486 needed); when caller 1 hangs up, the seat takes
    caller 2 from the other node."""
    before = {leg[1] for leg in _seat_legs(rig)}
    refusals = _busy_refusals(rig)
    answers = _seat_answers(rig)
    first = rig.sipp(_scenario(rig, 12000), calls=1, rate=1, port=5081, service="pool", background=True)
    wait_for(lambda: _seat_answers(rig) > answers, 15, "the seat to answer caller 1")
    second = rig.sipp(_scenario(rig, 12000), calls=1, rate=1, port=5082, service="pool", background=True)
    for proc in (first, second):
        assert isinstance(proc, subprocess.Popen)
        proc.wait(timeout=60)
        _ok(proc, 1)
    new = wait_for(lambda: [leg for leg in _seat_legs(rig) if leg[1] not in before][1:] and [
        leg for leg in _seat_legs(rig) if leg[1] not in before], 10, "the seat's 2 legs to end")
    assert len(new) == 2, new
    (node1, _, end1), (node2, start2, _) = new
    assert node1 != node2, new            # the seat answered a caller on each node
    assert start2 >= end1, new            # never two calls at once
    assert _busy_refusals(rig) == refusals   # the other node never offered the busy seat


def test_one_seat_pool_two_nodes_offering_one_seat_at_once_give_it_one_call(rig: Rig, seat: None) -> None:
    """Two callers at the same instant, one on each node, one idle seat: whatever the nodes'
    timing, the seat has one call at a time (the edge's lock refuses a second offer), and the
    other caller is served when the first hangs up."""
    before = {leg[1] for leg in _seat_legs(rig)}
    both = rig.sipp(_scenario(rig, 12000), calls=2, rate=100, port=5083, service="pool", background=True)
    assert isinstance(both, subprocess.Popen)
    both.wait(timeout=60)
    _ok(both, 2)
    new = wait_for(lambda: [leg for leg in _seat_legs(rig) if leg[1] not in before][1:] and [
        leg for leg in _seat_legs(rig) if leg[1] not in before], 10, "the seat's 2 legs to end")
    assert len(new) == 2 and {leg[0] for leg in new} == {"node-a", "node-b"}, new
    assert new[1][1] >= new[0][2], new    # the second answer after the first call ended
    print(f"edge: {_busy_refusals(rig)} second offers refused (486) so far")


def test_a_seat_rests_its_wrap_up_on_every_node_after_a_call(rig: Rig) -> None:
    """Seat 1009's queue has a wrap-up: once a call a node offered it has ended, the edge refuses
    every node's offer (486) for that long, whatever node the last call was on; then the seat takes
    calls again (app_queue rests a seat only after its own node's calls)."""
    phone = rig.seat_phone(RESTING_SEAT, 5096, 1000)   # answers, talks 1 s, hangs up
    try:
        before = {leg[1] for leg in _seat_legs(rig, RESTING_SEAT)}
        _ok(rig.sipp(_scenario(rig, 20000), calls=1, rate=1, port=5087, service=RESTING_SEAT), 1)
        [first] = [leg for leg in _seat_legs(rig, RESTING_SEAT) if leg[1] not in before]
        # Four offers during the wrap-up, spread over both nodes (round robin): each refused.
        resting = rig.sipp(_scenario(rig, 20000), calls=4, rate=20, port=5088, service=RESTING_SEAT)
        assert isinstance(resting, subprocess.CompletedProcess)
        assert _cumulative(resting.stdout, "Failed call") == 4, resting.stdout[-3000:]
        assert rig.edge is not None
        refused = [ln for ln in rig.edge.log_file.read_text(errors="replace").splitlines()
                   if f"seat {RESTING_SEAT} is in wrap-up" in ln]
        assert len(refused) == 4, refused
        assert {ip for ip in NODES.values() if any(f"from node {ip} " in ln for ln in refused)} == set(NODES.values())
        wait_for(lambda: time.time() > first[2] + RESTING_WRAPUP_S + 0.5, RESTING_WRAPUP_S + 5, "the wrap-up's end")
        _ok(rig.sipp(_scenario(rig, 20000), calls=1, rate=1, port=5089, service=RESTING_SEAT), 1)
        legs = [leg for leg in _seat_legs(rig, RESTING_SEAT) if leg[1] not in before]
        assert len(legs) == 2 and legs[1][1] >= legs[0][2] + RESTING_WRAPUP_S, legs
    finally:
        phone.kill()
        phone.wait(timeout=10)


def test_a_stranger_is_no_trunk_and_is_flood_limited_but_the_trunk_is_not(rig: Rig) -> None:
    assert rig.edge is not None
    before = sum(_counts(rig).values())
    # Not from a trunk's address: no X-Hotline-Trunk, so no node takes it as a trunk call (401).
    r = rig.sipp(_scenario(rig, 200), calls=40, rate=100, source=STRANGER_IP, port=5071,
                 extra=("-max_invite_retrans", "2", "-recv_timeout", "3000"))
    assert isinstance(r, subprocess.CompletedProcess)
    assert _cumulative(r.stdout, "Successful call") == 0, r.stdout[-2000:]
    assert sum(_counts(rig).values()) == before
    wait_for(lambda: f"flood from {STRANGER_IP}" in rig.edge.log_file.read_text(errors="replace"), 10,
             "the edge to ban the stranger")
    # The trunk sends faster than the stranger's limit (15 per 2 s) and is never limited.
    _ok(rig.sipp(_scenario(rig, 200), calls=40, rate=60), 40)
    assert sum(_counts(rig).values()) == before + 40


def test_a_dead_node_is_taken_out_and_calls_go_on(rig: Rig) -> None:
    held = rig.sipp(_scenario(rig, 20000), calls=6, rate=20, port=5072, background=True)
    assert isinstance(held, subprocess.Popen)
    start = _counts(rig)
    wait_for(lambda: sum(_counts(rig).values()) >= sum(start.values()) + 6, 20, "6 held calls answered")
    on_a = _counts(rig)["node-a"] - start["node-a"]
    assert on_a >= 1
    # A crash of node-a with calls on it; a batch of new calls is placed at once.
    rig.nodes["node-a"].kill()
    killed = time.monotonic()
    during = rig.sipp(_scenario(rig, 300), calls=10, rate=10, port=5073, background=True)
    wait_for(lambda: "node-a" not in rig.in_rotation(), 10, "the edge to take node-a out")
    noticed = time.monotonic() - killed
    print(f"edge: node-a out of rotation {noticed:.2f} s after it was killed")
    assert isinstance(during, subprocess.Popen)
    during.wait(timeout=120)
    _ok(during, 10)   # placed before and after the edge noticed: none failed (next node on no answer)
    # After the edge noticed: every new call goes to node-b.
    before = _counts(rig)
    _ok(rig.sipp(_scenario(rig, 300), calls=10, rate=20, port=5074), 10)
    after = _counts(rig)
    assert after["node-b"] - before["node-b"] == 10 and after["node-a"] == before["node-a"]
    # The calls held on node-a are ended by the edge (its in-dialog keep-alive towards the node
    # fails: a BYE to the caller); those on node-b go on until the caller hangs up.
    held.wait(timeout=120)
    _ok(held, 6)
    byes = Path(str(held.args)).with_suffix(".log").read_text().count("edge-bye")
    assert byes == on_a, (byes, on_a)


def test_a_node_brought_back_is_in_rotation_again(rig: Rig) -> None:
    rig.nodes["node-a"].start()
    wait_for(lambda: rig.in_rotation() == {"node-a", "node-b"}, 20, "node-a back in rotation")
    before = _counts(rig)
    _ok(rig.sipp(_scenario(rig, 300), calls=10, rate=20, port=5075), 10)
    after = _counts(rig)
    assert after["node-a"] - before["node-a"] >= 4 and after["node-b"] - before["node-b"] >= 4, (before, after)


def test_a_seat_talking_on_a_node_that_dies_is_freed_for_the_other_nodes_callers(rig: Rig, seat: None) -> None:
    """The edge ends the dead node's calls, the seat's leg too (BYE to the phone), and frees the
    seat at once: the other node's next caller reaches it."""
    wait_for(lambda: rig.in_rotation() == {"node-a", "node-b"}, 20, "both nodes in rotation")
    answers = _seat_answers(rig)
    first = rig.sipp(_scenario(rig, 20000), calls=1, rate=1, port=5084, service="pool", background=True)
    wait_for(lambda: _seat_answers(rig) > answers, 15, "the seat to answer the first caller")
    on = next(name for name, node in rig.nodes.items() if any(
        e.get("eventtype") == "ANSWER" and str(e.get("channame", "")).startswith(f"PJSIP/{SEAT}-")
        for e in node.events()[-30:]))
    other = ({"node-a", "node-b"} - {on}).pop()
    rig.nodes[on].kill()
    wait_for(lambda: on not in rig.in_rotation(), 10, f"the edge to take {on} out")
    assert isinstance(first, subprocess.Popen)
    first.wait(timeout=60)
    assert Path(str(first.args)).with_suffix(".log").read_text().count("edge-bye") == 1   # ended by the edge
    before = len([e for e in rig.nodes[other].events() if e.get("eventtype") == "ANSWER"
                  and str(e.get("channame", "")).startswith(f"PJSIP/{SEAT}-")])
    nxt = rig.sipp(_scenario(rig, 2000), calls=1, rate=1, port=5085, service="pool")
    _ok(nxt, 1)
    after = len([e for e in rig.nodes[other].events() if e.get("eventtype") == "ANSWER"
                 and str(e.get("channame", "")).startswith(f"PJSIP/{SEAT}-")])
    assert rig.edge is not None and "told free on the other nodes" in rig.edge.log_file.read_text(errors="replace")
    assert after == before + 1, f"the seat did not answer {other}'s caller after {on} died"
    rig.nodes[on].start()   # back for the next test


def test_an_idle_dead_node_is_noticed_by_the_probes_alone(rig: Rig) -> None:
    """No call finds node-b dead first: only the OPTIONS probes take it out."""
    wait_for(lambda: rig.in_rotation() == {"node-a", "node-b"}, 20, "both nodes in rotation")
    rig.nodes["node-b"].kill()
    killed = time.monotonic()
    wait_for(lambda: "node-b" not in rig.in_rotation(), 10, "the probes to take node-b out")
    print(f"edge: idle node-b out of rotation {time.monotonic() - killed:.2f} s after it was killed (probes)")
    before = _counts(rig)
    _ok(rig.sipp(_scenario(rig, 200), calls=6, rate=20, port=5076), 6)
    assert _counts(rig)["node-a"] - before["node-a"] == 6
