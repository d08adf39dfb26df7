"""The knowledge base (知识库) service: units maintain entries, seats search them, orders name the
answers used, the freshness rule flags old entries, the unit score reads update times.

Who may do what (the route table in :mod:`hotline.auth.roles` gives the lowest role, this
service the unit rule): a unit user creates, changes and withdraws its own unit's entries
(``not-your-unit`` for another's), supervisors and admins any unit's; seats, units, supervisors
and admins read and search every entry; a department user reads nothing here
(``knowledge-read-forbidden``). Each write is a new version (``version`` + 1, ``updated_at``,
``updated_by``); a change names the version it was made on (``knowledge-version-conflict`` when
someone saved in between).

Freshness (``knowledge.fresh_days`` in the site config, default 180): an entry not updated within
it is ``stale``; one whose ``valid_until`` day has passed (site time) is ``expired``; both are flagged
in every answer and listed for supervisors (``GET /api/knowledge/stale``). For the unit score,
:meth:`KnowledgeService.unit_facts` gives each unit's entries as they stood at a month's end.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from hotline.config.site import SiteConfig
from hotline.exceptions import InvalidRequest
from hotline.knowledge.errors import KnowledgeReadForbidden, NoSuchUnit, NotYourUnit
from hotline.knowledge.grams import query_terms
from hotline.knowledge.schemas import EntryBody
from hotline.knowledge.store import Entry, KnowledgeStore, UnitFacts
from hotline.store import Store
from hotline.store.knowledge_models import FIELDS

WRITERS = ("supervisor", "admin")
READERS = ("unit", "seat", "supervisor", "admin")


@dataclass(frozen=True)
class Who:
    """The person asking: name, role (``hotline.config.site.Role`` value) and a unit user's unit."""

    name: str
    role: str
    unit: str | None = None


class KnowledgeService:
    def __init__(self, site: SiteConfig, store: Store, *, now: Callable[[], dt.datetime] | None = None) -> None:
        """``now``: the clock (default: the real one; the composition root gives the order service's)."""
        self._tz = ZoneInfo(site.site.timezone)
        self._fresh = dt.timedelta(days=site.knowledge.fresh_days)
        self._units = {u.id: u.name for u in site.orders.units}
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self.entries = KnowledgeStore(store)

    @property
    def fresh_days(self) -> int:
        return self._fresh.days

    def now(self) -> dt.datetime:
        return self._now().astimezone(self._tz)

    # --- who ----------------------------------------------------------------------------------
    def unit_name(self, unit: str) -> str:
        if unit not in self._units:
            raise NoSuchUnit(unit)
        return self._units[unit]

    @staticmethod
    def may_read(who: Who) -> None:
        if who.role not in READERS:
            raise KnowledgeReadForbidden(who.role)

    def _writer(self, who: Who) -> Callable[[str], None]:
        def check(unit: str) -> None:
            if who.role in WRITERS:
                return
            if who.role != "unit" or who.unit != unit:
                raise NotYourUnit(who.role, who.unit, unit)
        return check

    # --- entries as the API gives them ----------------------------------------------------------
    def to_dict(self, e: Entry, now: dt.datetime | None = None) -> dict[str, Any]:
        now = now or self.now()
        today = now.date()
        return {"id": e.id, "unit": e.unit, "unit_name": self._units.get(e.unit, e.unit), **e.texts,
                "missing": [name for name, _ in FIELDS if not e.texts[name]],
                "valid_from": e.valid_from.isoformat() if e.valid_from else None,
                "valid_until": e.valid_until.isoformat() if e.valid_until else None,
                "version": e.version, "created_at": e.created_at.astimezone(self._tz).isoformat(),
                "updated_at": e.updated_at.astimezone(self._tz).isoformat(), "updated_by": e.updated_by,
                "fresh_until": (e.updated_at + self._fresh).astimezone(self._tz).isoformat(),
                "stale": e.updated_at < now - self._fresh,
                "expired": e.valid_until is not None and e.valid_until < today,
                "not_yet_valid": e.valid_from is not None and e.valid_from > today}

    # --- writing ------------------------------------------------------------------------------
    async def create(self, body: EntryBody, who: Who) -> dict[str, Any]:
        unit = body.unit or (who.unit if who.role == "unit" else None)
        if unit is None:
            raise InvalidRequest("unit", "the entry's unit (orders.units[].id)")
        self.unit_name(unit)
        self._writer(who)(unit)
        e = await asyncio.to_thread(self.entries.create, unit, body.texts(), body.valid_from, body.valid_until,
                                    who.name, self.now())
        return self.to_dict(e)

    async def update(self, entry_id: int, body: EntryBody, who: Who) -> dict[str, Any]:
        check = self._writer(who)

        def same_unit(unit: str) -> None:
            check(unit)
            if body.unit is not None and body.unit != unit:
                raise InvalidRequest("unit", f"an entry stays with its unit ({unit})", body.unit)
        assert body.version is not None
        e = await asyncio.to_thread(self.entries.update, entry_id, body.version, body.texts(), body.valid_from,
                                    body.valid_until, who.name, self.now(), same_unit)
        return self.to_dict(e)

    async def withdraw(self, entry_id: int, who: Who) -> dict[str, Any]:
        e = await asyncio.to_thread(self.entries.withdraw, entry_id, who.name, self.now(), self._writer(who))
        return {"id": e.id, "unit": e.unit, "version": e.version, "withdrawn_at": self.now().isoformat(),
                "withdrawn_by": who.name}

    # --- reading ------------------------------------------------------------------------------
    async def get(self, entry_id: int, version: int | None = None) -> dict[str, Any]:
        if version is not None:
            e, withdrawn = await asyncio.to_thread(self.entries.version_of, entry_id, version)
            return {**self.to_dict(e), "withdrawn": withdrawn}
        return self.to_dict(await asyncio.to_thread(self.entries.get, entry_id))

    async def search(self, q: str, unit: str | None, limit: int) -> dict[str, Any]:
        """The best entries for ``q`` (any text; ``items`` may be empty), with their scores."""
        if unit is not None:
            self.unit_name(unit)
        terms = query_terms(q)
        found, used = await asyncio.to_thread(self.entries.search, terms, unit, limit)
        now = self.now()
        return {"terms": used, "fresh_days": self.fresh_days,
                "items": [{**self.to_dict(e, now), "score": score} for e, score in found]}

    async def listing(self, unit: str | None, limit: int) -> dict[str, Any]:
        if unit is not None:
            self.unit_name(unit)
        found = await asyncio.to_thread(self.entries.listing, unit, limit)
        now = self.now()
        return {"fresh_days": self.fresh_days, "items": [self.to_dict(e, now) for e in found]}

    async def stale(self, unit: str | None, limit: int = 1000) -> dict[str, Any]:
        """The entries flagged stale or expired now, the oldest update first, and a count per unit."""
        if unit is not None:
            self.unit_name(unit)
        now = self.now()
        found = await asyncio.to_thread(self.entries.listing, unit, limit, stale_before=now - self._fresh,
                                        expired_before=now.date())
        items = [self.to_dict(e, now) for e in found]
        units: dict[str, int] = {}
        for i in items:
            units[i["unit"]] = units.get(i["unit"], 0) + 1
        return {"fresh_days": self.fresh_days, "as_of": now.isoformat(), "units": units, "items": items}

    # --- orders and the unit score ----------------------------------------------------------------
    async def link(self, order_id: str, entry_id: int, version: int | None, who: Who) -> tuple[dict[str, Any], bool]:
        return await asyncio.to_thread(self.entries.link, order_id, entry_id, version, who.name, self.now())

    async def unit_facts(self, start: dt.datetime, end: dt.datetime) -> dict[str, UnitFacts]:
        """Each unit's entries at ``end`` (or now, for a month not over) and its updates since ``start``."""
        at = min(end, self.now()).astimezone(self._tz)
        return await asyncio.to_thread(self.entries.unit_facts, start, at, self._fresh)
