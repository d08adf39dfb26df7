"""督办: which deadline of an order is due soon (warned) or passed (overdue, escalated), at ``now``.

Pure: the service's sweep (run by a periodic task, and callable on its own with any clock)
asks :func:`alert` for every open order and records a ``warn`` or ``flag_overdue`` event
(by ``system``) once per deadline and kind; an overdue flag names the unit's leader
(``orders.units[].leader``) it is escalated to.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hotline.work_orders.lifecycle import WITH_UNIT, State
from hotline.work_orders.transitions import Order


@dataclass(frozen=True)
class Alert:
    action: str          # "warn" (due within the margin) or "flag_overdue"
    deadline: str        # "dispatch" (the centre's), "due" (the unit's)
    due: dt.datetime


def running_deadline(order: Order) -> tuple[str, dt.datetime] | None:
    """The deadline that runs in the order's state: dispatch while created, the unit's while with it."""
    if order.state == State.created and order.dispatch_due is not None:
        return "dispatch", order.dispatch_due
    if order.state in WITH_UNIT and order.due is not None:
        return "due", order.due
    return None


def alert(order: Order, now: dt.datetime, warn: dt.timedelta) -> Alert | None:
    """The alert the order deserves at ``now``: overdue once ``now`` reaches the deadline, warned
    within ``warn`` before it, else none."""
    running = running_deadline(order)
    if running is None:
        return None
    name, due = running
    if now >= due:
        return Alert("flag_overdue", name, due)
    if now >= due - warn:
        return Alert("warn", name, due)
    return None


def is_overdue(order: Order, now: dt.datetime) -> bool:
    found = alert(order, now, dt.timedelta(0))
    return found is not None and found.action == "flag_overdue"
