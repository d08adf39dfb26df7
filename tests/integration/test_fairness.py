"""Issue 15, part 3, with the real Asterisk: a seat serving the hotline queue and a merged number's
queue that waits in the hotline's line (``Queue.line``) takes callers by priority, then arrival,
across both; the records keep each queue's name. Judged from Asterisk's AgentConnect events."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import yaml

from .rig import AMI_PORT, DIVERTED_110, SEATS, Stack, http_json, wait_for
from .test_seat_truth import start_caller

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from amiwatch import AmiWatch  # noqa: E402

LINE_NUMBER = "83539005"   # merged number of the lined queue


def lined_site(text: str) -> str:
    data = yaml.safe_load(text)
    data["queues"].append({"name": "lineq", "line": "hotline"})
    data["departments"].append({"id": "deptline", "name": "并线部门", "queue": "lineq"})
    data["legacy_numbers"].append({"number": LINE_NUMBER, "mode": "merged", "department": "deptline"})
    for seat in data["seats"]:
        if "hotline" in seat["queues"]:
            seat["queues"].append("lineq")
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def waiting(stack: Stack) -> int:
    return int(http_json("GET", f"{stack.api}/api/queues/hotline")[1]["waiting"])


def end_seat_call(stack: Stack, seat: str) -> None:
    """The seat hangs up (its channel, as its phone's BYE would)."""
    for line in stack.cli("core show channels concise").splitlines():
        if line.startswith(f"PJSIP/{seat}-"):
            stack.cli(f"channel request hangup {line.split('!')[0]}")


def test_one_line_serves_by_priority_then_arrival_across_queues(stack: Stack) -> None:
    previous = stack.site_file.read_text(encoding="utf-8")
    stack.apply_site_text(lined_site(previous))
    callers: list[subprocess.Popen[bytes]] = []
    ami = AmiWatch(AMI_PORT, "hotline", stack.paths.ami_secret())
    try:
        for seat in SEATS:
            stack.login_seat(seat)
        assert http_json("POST", f"{stack.api}/api/seats/1002/logout")[0] == 200
        assert http_json("POST", f"{stack.api}/api/seats/1001/pause", {"reason": "break"})[0] == 200
        # A: the merged number (its queue waits in the hotline's line), B: 12345, C: diverted from 110
        # (priority 20); they join in this order while nobody can take them
        plan = [(LINE_NUMBER, "13900004901"), ("12345", "13900004902"), (DIVERTED_110, "13900004903")]
        for k, (number, caller) in enumerate(plan):
            callers.append(start_caller(stack, number, caller, k, 90000))
            wait_for(f"caller {caller} waiting in the hotline's line", lambda k=k: waiting(stack) == k + 1, timeout=20)
        assert http_json("POST", f"{stack.api}/api/seats/1001/unpause")[0] == 200
        for _ in plan:   # 1001 takes them one by one and hangs up
            wait_for("1001 talking", lambda: stack.seat("1001")["state"] == "talking", timeout=20, interval=0.1)
            end_seat_call(stack, "1001")
            wait_for("1001 free again", lambda: stack.seat("1001")["state"] != "talking", timeout=20, interval=0.1)
        connects = [h["CallerIDNum"] for _, h in ami.take(("AgentConnect",)) if h.get("MemberName") == "1001"]
        assert connects == ["13900004903", "13900004901", "13900004902"]   # C (priority 20), then A, B by arrival
        queues = {c: stack.record_for(c)["queue"] for _, c in plan}
        assert queues == {"13900004901": "lineq", "13900004902": "hotline", "13900004903": "hotline"}
    finally:
        ami.close()
        for c in callers:
            if c.poll() is None:
                c.send_signal(signal.SIGKILL)
                c.wait(10)
        stack.cli("channel request hangup all")
        http_json("POST", f"{stack.api}/api/seats/1001/unpause")
        stack.restore_site(previous)
        for seat in SEATS:
            stack.login_seat(seat)
