"""The measured inputs of a site month, gathered per member unit for :mod:`hotline.unit_scores.rules`.

Months are the site's local months (``site.timezone``): [first day 00:00, next month's first day
00:00) in that zone. The sources (README "Unit score"):

* 转办量, 回退, 办结量 (``completion``, and the closed volume of the bonus): the order KPIs of the
  assignments dispatched to the unit in the month (``work_order_assignments``, the same counts as
  ``GET /api/order-reports?kind=month``), as they stand now;
* overdue orders (``on_time``): the 督办 sweep's ``flag_overdue`` events on the unit's own deadline
  (``deadline: due``) whose missed deadline fell in the month, one per order;
* 回访核实 findings (``revisit_check``): ``send_back`` events in the month (the centre's check of the
  unit's reply found it not done, false, or not fed back to the caller), one per order;
* 不满意 (``satisfaction``): ``reopen`` events in the month (a caller's 不满意, on a 回访 call or to a
  seat), each with its rank among the order's 不满意 for that unit (the cap counts the first ones);
* 不通 events (``phone``): the duty-phone dial tests' :class:`UnreachableCounts` (None: unavailable);
* the knowledge base (``knowledge_base``): :class:`KnowledgeSource`, each unit's entries as they stood
  at the month's end (or now, for the month in progress).

An event that names no unit (``send_back``, ``reopen`` are the centre's) counts for the unit that
held the order then: the order's latest assignment dispatched at or before it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.store.models import OrderAssignmentRow, OrderEventRow
from hotline.store.store import Store
from hotline.unit_scores.errors import InvalidMonth
from hotline.unit_scores.rules import Item

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


class UnreachableCounts(Protocol):
    """The duty-phone dial tests (``hotline/duty_probes``): 不通 events per unit id in a site month."""

    async def unreachable_counts(self, year: int, month: int) -> dict[str, int]: ...


class KnowledgeFacts(Protocol):
    """A unit's knowledge base at an instant (``hotline.knowledge.store.UnitFacts``)."""

    @property
    def entries(self) -> int: ...
    @property
    def stale(self) -> tuple[int, ...]: ...
    @property
    def expired(self) -> tuple[int, ...]: ...
    @property
    def updated(self) -> int: ...


class KnowledgeSource(Protocol):
    """The knowledge base (``hotline/knowledge``): per unit id, its entries at ``end`` (or now) and the
    versions saved since ``start``."""

    async def unit_facts(self, start: dt.datetime, end: dt.datetime) -> Mapping[str, KnowledgeFacts]: ...


@dataclass(frozen=True)
class Month:
    year: int
    month: int
    tz: ZoneInfo

    @classmethod
    def parse(cls, value: str, tz: ZoneInfo) -> "Month":
        found = _MONTH.fullmatch(value.strip()) if isinstance(value, str) else None
        if found is None:
            raise InvalidMonth(value)
        year, month = int(found[1]), int(found[2])
        if not 1 <= month <= 12:
            raise InvalidMonth(value, "month 01..12 (YYYY-MM)")
        if not 2000 <= year <= 2100:
            raise InvalidMonth(value, "a year 2000..2100 (YYYY-MM)")
        return cls(year, month, tz)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, self.month, 1, tzinfo=self.tz)

    @property
    def end(self) -> dt.datetime:
        return self.next().start

    def next(self) -> "Month":
        return Month(self.year + self.month // 12, self.month % 12 + 1, self.tz)

    def previous(self) -> "Month":
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1, self.tz)

    def holds(self, at: dt.datetime) -> bool:
        return self.start <= at < self.end


def _holders(session: Session, order_ids: Iterable[str]) -> dict[str, list[tuple[dt.datetime, int, str]]]:
    """Each order's assignments (dispatched at, id, unit), oldest first."""
    ids = sorted(set(order_ids))
    out: dict[str, list[tuple[dt.datetime, int, str]]] = defaultdict(list)
    if not ids:
        return out
    A = OrderAssignmentRow
    for oid, at, aid, unit in session.execute(select(A.work_order_id, A.dispatched_at, A.id, A.unit)
                                              .where(A.work_order_id.in_(ids)).order_by(A.id)):
        out[oid].append((at, aid, unit))
    return out


def _holder(assignments: Sequence[tuple[dt.datetime, int, str]], at: dt.datetime) -> str | None:
    held = [unit for when, _, unit in assignments if when <= at]
    return held[-1] if held else None


def overdue(session: Session, month: Month) -> dict[str, list[Item]]:
    """Per unit, the orders whose own deadline fell in ``month`` and were flagged overdue."""
    E = OrderEventRow
    rows = session.execute(select(E.work_order_id, E.unit, E.fields).where(E.action == "flag_overdue",
                                                                           E.at >= month.start).order_by(E.id))
    seen: set[tuple[str, str]] = set()
    out: dict[str, list[Item]] = defaultdict(list)
    for oid, unit, fields in rows:
        if unit is None or fields.get("deadline") != "due" or not fields.get("due"):
            continue
        due = dt.datetime.fromisoformat(str(fields["due"]))
        if not month.holds(due) or (unit, oid) in seen:
            continue
        seen.add((unit, oid))
        out[unit].append(Item(oid, due.astimezone(month.tz).isoformat(), 1, "flag_overdue"))
    return dict(out)


def held_events(session: Session, month: Month, action: str, *, rank: bool) -> dict[str, list[Item]]:
    """Per unit (the holder of the order then), the ``action`` events in ``month``; with ``rank``
    each is numbered among the order's events of that action for that unit, all months counted
    (else one item per order, its first in the month)."""
    E = OrderEventRow
    in_month = session.execute(select(E.work_order_id).where(E.action == action, E.at >= month.start,
                                                             E.at < month.end)).scalars().all()
    if not in_month:
        return {}
    holders = _holders(session, in_month)
    rows = session.execute(select(E.work_order_id, E.at, E.fields).where(
        E.action == action, E.work_order_id.in_(sorted(set(in_month))), E.at < month.end).order_by(E.id))
    counts: dict[tuple[str, str], int] = defaultdict(int)
    out: dict[str, list[Item]] = defaultdict(list)
    for oid, at, fields in rows:
        unit = _holder(holders[oid], at)
        if unit is None:
            continue
        counts[(unit, oid)] += 1
        if not month.holds(at) or (not rank and any(i.order_id == oid for i in out[unit])):
            continue
        reason = fields.get("reason") if isinstance(fields, dict) else None
        out[unit].append(Item(oid, at.astimezone(month.tz).isoformat(), counts[(unit, oid)],
                              str(reason) if reason else None))
    return dict(out)


def lifecycle_inputs(store: Store, month: Month) -> tuple[dict[str, list[Item]], dict[str, list[Item]],
                                                         dict[str, list[Item]]]:
    """(overdue, sent back, 不满意) per unit of ``month``, in one session."""
    with store.session() as session:
        return (overdue(session, month), held_events(session, month, "send_back", rank=False),
                held_events(session, month, "reopen", rank=True))
