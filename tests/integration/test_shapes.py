"""Every call shape of the catalogue (tests/integration/shapes/) on the real Asterisk: its records
and its effect on every KPI, by every grouping, equal to the hand-computed ones. 0 mismatches.

Each shape runs in a window of its own: the rig is quiet first (no live call, no channel, the city
seats idle), the window opens, the shape drives its calls, and the window closes once every record
is in. The check reads the CEL log, /api/calls and /api/metrics; never /status. Then the shape's
calls are reconciled against the queue_log and CDRs Asterisk wrote for them (shapes/reconcile.py):
every difference explained by a named rule.
"""

from __future__ import annotations

import json
import os
import time
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotline.work_orders import testclock

from .callbacksite import queue_callback_site
from .rig import CONTROL_SITE_EXTRA, SEATS, Stack, http_json, wait_for
from .shapes import SHAPES
from .shapes import midnight as midnight_shape
from .shapes.check import kpi_mismatches, match_records
from .shapes.ctx import Ctx
from .shapes.model import Shape
from .shapes.reconcile import describe, reconcile_mismatches, rule_mismatches


def quiet(stack: Stack) -> None:
    """No call in progress anywhere: none live, no channel in Asterisk, the city seats idle."""
    def calm() -> bool:
        live = http_json("GET", f"{stack.api}/api/calls/live")[1]["items"]
        return not live and not stack.channels() and all(stack.seat(s)["state"] == "idle" for s in SEATS)
    wait_for("no call in progress", calm, timeout=60, interval=0.3)


def site_facts(stack: Stack) -> tuple[zoneinfo.ZoneInfo, dict[str, float]]:
    """The site's time zone and each queue's wrap-up (AHT adds it), from the running site file."""
    site = yaml.safe_load(stack.site_file.read_text(encoding="utf-8"))
    tz = zoneinfo.ZoneInfo((site.get("site") or {}).get("timezone", "Asia/Shanghai"))
    return tz, {q["name"]: float(q.get("wrapup", 0)) for q in site["queues"]}


@pytest.fixture(scope="module")
def dept_phones(stack: Stack) -> Iterator[None]:
    """The department phones of rig.DEPT_PHONES (answering, never answering, busy)."""
    phones = stack.start_department_phones()
    try:
        yield
    finally:
        for phone in phones:
            if phone.poll() is None:
                phone.terminate()
                phone.wait(10)


@pytest.fixture(scope="module")
def control(stack: Stack, dept_phones: None) -> Iterator[None]:
    """Call control's site (110 and a convenience partner) and the PSTN behind the trunk, which
    answers what the platform dials out (110, parallel numbers)."""
    previous = stack.extend_site(CONTROL_SITE_EXTRA)
    pstn = stack.start_pstn()
    try:
        yield
    finally:
        pstn.terminate()
        pstn.wait(10)
        stack.restore_site(previous)


@pytest.fixture(scope="module")
def callback(stack: Stack, control: None) -> Iterator[None]:
    """The hotline queue with queue callback (key 1); the PSTN of ``control`` answers the calls back."""
    with queue_callback_site(stack, attempts=2, retry_after=5, ring=5):
        yield


@pytest.fixture(scope="module")
def midnight(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The site's clocks: its time zone made so that local midnight falls LEAD_S from now
    (shapes/midnight.py; the controller, and this process for the expected intervals, find it on
    the zone path), and the KPI service's test clock (shapes/rolling.py: a file, empty for the real
    time)."""
    tzdir = tmp_path_factory.mktemp("tz")
    kpi_clock = tzdir / "kpi-now"
    kpi_clock.write_text("", encoding="utf-8")
    at = time.time() + midnight_shape.LEAD_S
    previous = stack.site_file.read_text(encoding="utf-8")
    data = yaml.safe_load(previous)
    data["site"]["timezone"] = midnight_shape.midnight_zone(tzdir, at)
    stack.stop_controller()
    stack.site_file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    zoneinfo.reset_tzpath(to=[str(tzdir), *zoneinfo.TZPATH])
    try:
        stack.start_controller(env={"PYTHONTZPATH": str(tzdir), testclock.KPI_ENV: str(kpi_clock)})
        midnight_shape.STATE.update(at=at, kpi_clock=kpi_clock)
        yield
    finally:
        midnight_shape.STATE.clear()
        stack.stop_controller()
        stack.site_file.write_text(previous, encoding="utf-8")
        zoneinfo.reset_tzpath()
        stack.start_controller()


def _params() -> list[object]:
    return [pytest.param(shape, i, id=shape.name) for i, shape in enumerate(SHAPES)]


@pytest.mark.parametrize("shape, index", _params())
def test_call_shape(stack: Stack, shape: Shape, index: int, request: pytest.FixtureRequest) -> None:
    if shape.needs != "rig":
        request.getfixturevalue(shape.needs)
    quiet(stack)
    since = time.time()
    start = datetime.fromtimestamp(since, UTC)
    ctx = Ctx(stack, index)
    try:
        expects = shape.drive(stack, ctx)
    finally:
        ctx.close()
    assert len({(e.caller, e.dialled) for e in expects}) == len(expects), "one conversation per caller and number"
    records, problems = match_records(stack, since, expects)
    for (caller, dialled), r in records.items():   # shown with -s or on a failure
        print(f"{shape.name}: {caller} {dialled} {r['outcome']} queue={r['queue']} seat={r['seat']} "
              f"wait={r['wait_seconds']} talk={r['talk_seconds']} extra={r['extra']}")
    record_fixtures(stack, shape, records, since)
    if len(records) == len(expects):
        for check in ctx.checks:
            check(records)
        tz, wrapup = site_facts(stack)
        problems += kpi_mismatches(stack, start, datetime.now(UTC), expects, records, tz, wrapup)
        calls, unexplained = reconcile_mismatches(stack, list(records.values()), tz, since, time.time())
        for call in calls:   # shown with -s or on a failure
            print(f"{shape.name}: reconciled {describe(call)}")
        problems += unexplained or rule_mismatches(shape.reconciled, calls)
    judge(shape, problems)


def record_fixtures(stack: Stack, shape: Shape, records: dict[tuple[str, str], dict[str, Any]],
                    since: float) -> None:
    """``HOTLINE_RECORD_FIXTURES=<dir>``: ``<dir>/<shape>/`` gets the shape's records
    (records.json), the CEL lines of each conversation (cel-<caller>-<dialled>.jsonl) and the
    queue_log and CDR lines Asterisk wrote since the shape began (how tests/fixtures/cel/
    control_*to_seat.jsonl and tests/fixtures/reconcile/seat_callback/ were recorded)."""
    target = os.environ.get("HOTLINE_RECORD_FIXTURES")
    if not target:
        return
    out = Path(target) / shape.name
    out.mkdir(parents=True, exist_ok=True)
    (out / "records.json").write_text(json.dumps(list(records.values()), ensure_ascii=False, indent=1))
    cel = stack.runtime.cel_log.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    for (caller, dialled), rec in records.items():
        mine = [line for line in cel if f'"linkedid":"{rec["call_id"]}"' in line]
        (out / f"cel-{caller}-{dialled}.jsonl").write_text("".join(mine), encoding="utf-8")
    queue = stack.runtime.queue_log.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    (out / "queue_log").write_text("".join(q for q in queue if float(q.split("|", 1)[0] or 0) >= int(since)))
    cdrs = stack.runtime.cdr_log.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    (out / "hotline-cdr.json").write_text("".join(c for c in cdrs if json.loads(c).get("start", 0) >= since))


def judge(shape: Shape, problems: list[str]) -> None:
    """0 mismatches; a shape marked with a known bug fails only on mismatches the bug does not
    explain, is an expected failure while the bug shows, and fails once it no longer does."""
    if shape.known_bug is None:
        assert not problems, "mismatches:\n  " + "\n  ".join(problems)
        return
    reason, explained = shape.known_bug
    other = [p for p in problems if not any(e in p for e in explained)]
    assert not other, "mismatches the known bug does not explain:\n  " + "\n  ".join(other)
    if problems:
        pytest.xfail(f"{reason}: " + "; ".join(problems))
    pytest.fail(f"the known bug no longer shows ({reason}): remove Shape.known_bug")
