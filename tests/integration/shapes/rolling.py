"""A call crossing the rolling 24 h window (README "Metrics": the answer rate over the 24 h before
now, its alarm under 95%).

Crossing it for real takes a day, so the shape moves the clock the window is computed with: the
KPI service's ``now`` (``HOTLINE_TEST_KPI_CLOCK``, hotline/work_orders/testclock.py), given to the
controller by the ``midnight`` set-up (the site's clocks, like its time zone). Two real calls: A
abandons after 7 s, then B is answered. With ``now`` put 24 h after A's arrival, less 1 ms and
exactly, A is just inside the window's start: both count (answer rate 0.5, alarm); 1 ms later A is
just outside: only B counts (answer rate 1.0, no alarm). The calls' records and KPIs are checked
like any shape's."""

from __future__ import annotations

import urllib.parse
from datetime import datetime, timedelta
from typing import Any

from ..rig import Stack, http_json
from .basic import EMPTY_QUEUE_NUMBER
from .ctx import CITY_SEATS, Ctx, Records
from .midnight import STATE
from .model import ANSWERED_IN_15S, LONG_ABANDON, Expect, Shape

MS = timedelta(milliseconds=1)


def rolling_at(stack: Stack, now: datetime) -> dict[str, Any]:
    """The rolling 24 h report with the KPI clock at ``now`` (GET /api/metrics gives it with any range)."""
    STATE["kpi_clock"].write_text(now.isoformat(), encoding="utf-8")
    query = urllib.parse.urlencode({"start": (now - timedelta(hours=1)).isoformat(), "end": now.isoformat()})
    code, body = http_json("GET", f"{stack.api}/api/metrics?{query}")
    assert code == 200, body
    return dict(body["rolling_24h"])


def crossing_rolling_window(stack: Stack, ctx: Ctx) -> list[Expect]:
    ctx.call(EMPTY_QUEUE_NUMBER, 1, talk_ms=7000, scenario="caller_hangs_up.xml")
    ctx.call("12345", 2, talk_ms=1500)

    def window_edge(records: Records) -> None:
        a = datetime.fromisoformat(records[(ctx.caller(1), EMPTY_QUEUE_NUMBER)]["arrived_at"])
        b = datetime.fromisoformat(records[(ctx.caller(2), "12345")]["arrived_at"])
        assert b - a > 2 * MS, (a, b)
        try:
            for edge, want in ((-MS, (2, 1, 0.5, True)), (timedelta(0), (2, 1, 0.5, True)),
                               (MS, (1, 1, 1.0, False))):
                got = rolling_at(stack, a + timedelta(hours=24) + edge)
                assert datetime.fromisoformat(got["window_start"]) == a + edge, (edge, got)
                assert (got["offered"], got["answered"], got["answer_rate"], got["alarm"]) == want, (edge, got)
        finally:
            STATE["kpi_clock"].write_text("", encoding="utf-8")   # the real time again
    ctx.check(window_edge)
    return [Expect(ctx.caller(1), "abandoned_in_queue", EMPTY_QUEUE_NUMBER, "empty", LONG_ABANDON, wait=(5.5, 7.5),
                   fields={"answered_at": None}),
            Expect(ctx.caller(2), "answered", "12345", "hotline", ANSWERED_IN_15S, seats=CITY_SEATS, wait=(0, 5),
                   talk=(1.0, 2.1))]


SHAPES = [
    Shape("crossing-rolling-24h-window", "time",
          "A caller abandons after 7 s, then another is answered; the rolling window's clock is put 24 h after "
          "the first arrival, then 1 ms later.",
          "each counts like any call in its own window; in the rolling 24 h answer rate the first call counts "
          "while its arrival is at or after the window's start (0.5, alarm) and not 1 ms later (1.0, no alarm)",
          crossing_rolling_window, needs="midnight"),
]
