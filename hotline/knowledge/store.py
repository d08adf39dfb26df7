"""The knowledge base in the store (migration 0022), on :class:`hotline.store.Store`.

Every save writes the entry, a new row of its versions and its search terms in one transaction
(the entry's row held, ``SELECT .. FOR UPDATE`` on PostgreSQL; SQLite serialises writers), so the
index never disagrees with the text. A withdrawn entry loses its terms and keeps its rows (the
orders that used it still name it).

Search (:meth:`KnowledgeStore.search`) is plain SQL over ``knowledge_terms``, the same statements
on both backends: the query's terms are counted (document frequency), the rarest taken first until
:data:`POSTINGS_BUDGET` index rows are reached (a term found in every entry, 办理, adds cost and no
meaning), and the entries ranked by the sum of weight × idf of the terms they hold, where
idf = ln(1 + entries / entries holding the term). The work of a search is bounded by the budget
whatever the query; the stored weight is already saturated (:func:`hotline.knowledge.grams.index_terms`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, case, delete, func, insert, select
from sqlalchemy.orm import Session

from hotline.exceptions import InvalidRequest, NoSuchWorkOrder
from hotline.knowledge.errors import NoSuchEntry, VersionConflict
from hotline.knowledge.grams import index_terms
from hotline.store.knowledge_models import (FIELDS, KnowledgeEntryRow as E, KnowledgeTermRow as T,
                                            KnowledgeVersionRow as V, WorkOrderKnowledgeRow as L)
from hotline.store.models import WorkOrderRow
from hotline.store.rows import knowledge_link
from hotline.store.store import Store

POSTINGS_BUDGET = 6_000
TERMS = Table("knowledge_terms", MetaData(), Column("term", String), Column("entry_id", Integer),
              Column("weight", Integer))   # the Core table of the bulk insert (faster than the ORM's)
TEXT_FIELDS = ("title", *(name for name, _ in FIELDS))


@dataclass(frozen=True)
class Entry:
    id: int
    unit: str
    texts: dict[str, str]              # title and the eight fields
    valid_from: dt.date | None
    valid_until: dt.date | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    updated_by: str


@dataclass(frozen=True)
class UnitFacts:
    """A unit's entries at an instant (the unit score's 知识库 input): how many stood, which were
    stale (not updated within the freshness rule) or past their validity, how many versions were
    saved in the period."""

    entries: int
    stale: tuple[int, ...]
    expired: tuple[int, ...]
    updated: int


def _entry(row: E) -> Entry:
    return Entry(id=row.id, unit=row.unit, texts={k: getattr(row, k) for k in TEXT_FIELDS},
                 valid_from=row.valid_from, valid_until=row.valid_until, version=row.version,
                 created_at=row.created_at, updated_at=row.updated_at, updated_by=row.updated_by)


def _body(texts: Mapping[str, str]) -> str:
    return "\n".join(texts[name] for name, _ in FIELDS)


class KnowledgeStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    # --- writing -------------------------------------------------------------------------------
    def create(self, unit: str, texts: Mapping[str, str], valid_from: dt.date | None, valid_until: dt.date | None,
               by: str, now: dt.datetime) -> Entry:
        with self._store.session() as session:
            return _entry(self._new(session, unit, texts, valid_from, valid_until, by, now))

    def create_many(self, items: Sequence[tuple[str, Mapping[str, str]]], by: str, now: dt.datetime) -> list[int]:
        """(unit, texts) entries saved in one transaction (an import, the bench): their ids."""
        with self._store.session() as session:
            return [self._new(session, unit, texts, None, None, by, now).id for unit, texts in items]

    def _new(self, session: Session, unit: str, texts: Mapping[str, str], valid_from: dt.date | None,
             valid_until: dt.date | None, by: str, now: dt.datetime) -> E:
        row = E(unit=unit, **texts, valid_from=valid_from, valid_until=valid_until, version=1, created_at=now,
                updated_at=now, updated_by=by, withdrawn_at=None)
        session.add(row)
        session.flush()
        self._saved(session, row)
        return row

    def update(self, entry_id: int, version: int, texts: Mapping[str, str], valid_from: dt.date | None,
               valid_until: dt.date | None, by: str, now: dt.datetime, check: Callable[[str], None]) -> Entry:
        """Save a new version made on ``version``; ``check(unit)`` raises when the writer may not."""
        with self._store.session() as session:
            row = self._held(session, entry_id)
            check(row.unit)
            if row.version != version:
                raise VersionConflict(entry_id, version, row.version)
            for k, v in texts.items():
                setattr(row, k, v)
            row.valid_from, row.valid_until, row.version = valid_from, valid_until, row.version + 1
            row.updated_at, row.updated_by = now, by
            self._saved(session, row)
            return _entry(row)

    def withdraw(self, entry_id: int, by: str, now: dt.datetime, check: Callable[[str], None]) -> Entry:
        """The entry leaves the search and the lists; a last version records who withdrew it."""
        with self._store.session() as session:
            row = self._held(session, entry_id)
            check(row.unit)
            row.withdrawn_at, row.version, row.updated_at, row.updated_by = now, row.version + 1, now, by
            session.add(self._version(row, withdrawn=True))
            session.execute(delete(T).where(T.entry_id == row.id))
            return _entry(row)

    @staticmethod
    def _held(session: Session, entry_id: int) -> E:
        row = session.scalars(select(E).where(E.id == entry_id).with_for_update()).one_or_none()
        if row is None or row.withdrawn_at is not None:
            raise NoSuchEntry(entry_id)
        return row

    @staticmethod
    def _version(row: E, *, withdrawn: bool = False) -> V:
        return V(entry_id=row.id, version=row.version, unit=row.unit, fields={k: getattr(row, k) for k in TEXT_FIELDS},
                 valid_from=row.valid_from, valid_until=row.valid_until, updated_at=row.updated_at,
                 updated_by=row.updated_by, withdrawn=withdrawn)

    def _saved(self, session: Session, row: E) -> None:
        session.add(self._version(row))
        session.execute(delete(T).where(T.entry_id == row.id))
        texts = {k: getattr(row, k) for k in TEXT_FIELDS}
        terms = index_terms(texts["title"], _body(texts))
        if terms:
            session.connection().execute(insert(TERMS), [{"term": t, "entry_id": row.id, "weight": w}
                                                                for t, w in terms.items()])

    # --- reading -------------------------------------------------------------------------------
    def get(self, entry_id: int) -> Entry:
        with self._store.session() as session:
            row = session.get(E, entry_id)
            if row is None or row.withdrawn_at is not None:
                raise NoSuchEntry(entry_id)
            return _entry(row)

    def listing(self, unit: str | None, limit: int, *, stale_before: dt.datetime | None = None,
                expired_before: dt.date | None = None) -> list[Entry]:
        """Entries (of a unit), the least recently updated first when asking for stale ones
        (``stale_before``: updated before it, or valid until before ``expired_before``), else the latest first."""
        query = select(E).where(E.withdrawn_at.is_(None))
        if unit is not None:
            query = query.where(E.unit == unit)
        if stale_before is not None and expired_before is not None:
            query = query.where((E.updated_at < stale_before) | (E.valid_until < expired_before))
            query = query.order_by(E.updated_at, E.id)
        else:
            query = query.order_by(E.updated_at.desc(), E.id.desc())
        with self._store.session() as session:
            return [_entry(r) for r in session.scalars(query.limit(limit))]

    def search(self, terms: Sequence[str], unit: str | None, limit: int) -> tuple[list[tuple[Entry, float]],
                                                                                   list[str]]:
        """The best ``limit`` entries for ``terms`` with their scores, and the terms used."""
        if not terms:
            return [], []
        with self._store.session() as session:
            df = {t: int(n) for t, n in session.execute(
                select(T.term, func.count()).where(T.term.in_(list(terms))).group_by(T.term))}
            chosen: list[str] = []
            postings = 0
            for t in sorted((t for t in terms if df.get(t)), key=lambda t: (df[t], t)):
                if chosen and postings + df[t] > POSTINGS_BUDGET:
                    break
                chosen.append(t)
                postings += df[t]
            if not chosen:
                return [], []
            n = session.scalar(select(func.count()).select_from(E)) or 1   # withdrawn ones too: cheap, idf only
            idf = {t: round(math.log(1 + n / df[t]), 6) for t in chosen}
            score = func.sum(T.weight * case(idf, value=T.term, else_=0.0)).label("score")
            query = select(T.entry_id, score).where(T.term.in_(chosen))
            if unit is not None:
                query = query.join(E, E.id == T.entry_id).where(E.unit == unit)
            ranked = session.execute(query.group_by(T.entry_id).order_by(score.desc(), T.entry_id.desc())
                                     .limit(limit)).all()
            rows = {r.id: r for r in session.scalars(select(E).where(E.id.in_([i for i, _ in ranked])))}
            return [(_entry(rows[i]), round(float(s), 3)) for i, s in ranked if i in rows], chosen

    def unit_facts(self, start: dt.datetime, at: dt.datetime, fresh: dt.timedelta) -> dict[str, UnitFacts]:
        """Per unit, its entries as they stood at ``at`` (from the saved versions) and the versions
        saved in [start, at): the 知识库 input of a month (``at``: its end, or now)."""
        with self._store.session() as session:
            rows = session.execute(select(V.entry_id, V.version, V.unit, V.updated_at, V.withdrawn, V.valid_until)
                                   .where(V.updated_at < at).order_by(V.entry_id, V.version)).all()
        latest: dict[int, Any] = {}
        updated: dict[str, int] = {}
        for r in rows:
            latest[r.entry_id] = r
            if r.updated_at >= start and not r.withdrawn:
                updated[r.unit] = updated.get(r.unit, 0) + 1
        today = at.date()
        per: dict[str, tuple[list[int], list[int], list[int]]] = defaultdict(lambda: ([], [], []))
        for r in latest.values():
            if r.withdrawn:
                continue
            entries, stale, expired = per[r.unit]
            entries.append(r.entry_id)
            if r.updated_at < at - fresh:
                stale.append(r.entry_id)
            if r.valid_until is not None and r.valid_until < today:
                expired.append(r.entry_id)
        return {u: UnitFacts(entries=len(per[u][0]), stale=tuple(per[u][1]), expired=tuple(per[u][2]),
                             updated=updated.get(u, 0)) for u in set(per) | set(updated)}

    # --- answers used on calls ------------------------------------------------------------------
    def link(self, order_id: str, entry_id: int, version: int | None, by: str,
             now: dt.datetime) -> tuple[dict[str, Any], bool]:
        """Record that the entry (at ``version``, default its current one) answered the order's
        call: (the link, whether it is new); linking the same version again changes nothing."""
        with self._store.session() as session:
            if session.get(WorkOrderRow, order_id) is None:
                raise NoSuchWorkOrder(order_id)
            entry = session.get(E, entry_id)
            if entry is None or entry.withdrawn_at is not None:
                raise NoSuchEntry(entry_id)
            version = entry.version if version is None else version
            saved = session.get(V, (entry_id, version))
            if saved is None or saved.withdrawn:
                raise InvalidRequest("version", f"a saved version of entry {entry_id} (1..{entry.version})", version)
            added = session.execute(self._store.insert(L).values(
                work_order_id=order_id, entry_id=entry_id, version=version, title=str(saved.fields["title"]),
                unit=entry.unit, by=by, at=now).on_conflict_do_nothing(
                index_elements=["work_order_id", "entry_id", "version"]).returning(L.id)).scalar_one_or_none()
            row = session.scalars(select(L).where(L.work_order_id == order_id, L.entry_id == entry_id,
                                                  L.version == version)).one()
            return knowledge_link(row), added is not None

    def version_of(self, entry_id: int, version: int) -> tuple[Entry, bool]:
        """A saved version as it was (what a call's answer said), and whether it withdrew the entry."""
        with self._store.session() as session:
            saved, entry = session.get(V, (entry_id, version)), session.get(E, entry_id)
            if saved is None or entry is None:
                raise NoSuchEntry(f"{entry_id} version {version}")
            return Entry(id=entry_id, unit=saved.unit, texts={k: str(saved.fields.get(k, "")) for k in TEXT_FIELDS},
                         valid_from=saved.valid_from, valid_until=saved.valid_until, version=version,
                         created_at=entry.created_at, updated_at=saved.updated_at,
                         updated_by=saved.updated_by), saved.withdrawn
