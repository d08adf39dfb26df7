"""The work-order store: call records, work orders and small meta state.

One synchronous SQLAlchemy engine behind a handful of methods. Callers on an
event loop run them in a thread (the HTTP API does); call records (from the CEL
log, live and reconciled) are written through :class:`hotline.store.journal.RecordJournal`
so a dead database never stalls or loses a call record.

Backends: SQLite (the default, a file in the state directory) and PostgreSQL
through psycopg 3. Every database failure that means "cannot reach or use the
database right now" surfaces as :class:`hotline.exceptions.StoreError`, the one
exception the journal retries on: unreachable, timed out, read-only or failed
over (a hot standby), a missing privilege, a schema not migrated or being
migrated, a locked or corrupt SQLite file. Only an error about the row itself
(``IntegrityError``, ``DataError``) or the record (``InvalidRequest``) passes
through: the journal sets that one record aside.

Timeouts, so a hung database cannot hold a thread for ever: :mod:`hotline.store.engine` (PostgreSQL:
connect and statement timeouts, keepalives, a TCP user timeout; SQLite: its busy timeout). A server
that accepts TCP but never answers is only bounded on a new connection: the request path must not
wait on the database without a timeout of its own (``/status`` reads :class:`~hotline.store.probe.StoreProbe`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from alembic import command
from alembic.config import Config
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from hotline.exceptions import InvalidRequest, NoSuchCall, NoSuchWorkOrder, StoreError
from hotline.records.call import CallRecord, Outcome
from hotline.records.voice_message import VoiceMessageOrder, voice_message_order
from hotline.records.work_order import Category, Status
from hotline.store import kpi_days, kpi_rollup, seat_log
from hotline.store.engine import make_engine
from hotline.store.models import (AuditRow, Base, CallRow, MetaRow, SeatStateRow, WorkOrderCallRow, WorkOrderCounterRow,
                                   WorkOrderRow)
from hotline.store.rows import call_record, call_values, enum_value, work_order_dict

MAX_PAGE = 500
"""The largest ``limit`` of :meth:`Store.list_calls`: one page must stay cheap to serialise."""

_MIGRATIONS = Path(__file__).with_name("migrations")
_PG_UNDEFINED_TABLE = "42P01"


class Store:
    """The database of the hotline core. Thread-safe; one per process.

    ``url`` is a SQLAlchemy URL: ``sqlite:////var/lib/hotline/hotline.db`` or
    ``postgresql+psycopg://user@host/db`` (a bare ``postgresql://`` means
    psycopg 3 too). ``timezone`` is the site's: the date in a work-order id is
    the local date the citizen is told on the phone.
    """

    def __init__(self, url: str, *, timezone: str = "Asia/Shanghai") -> None:
        parsed = make_url(url)
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        self._engine, self._insert = make_engine(parsed)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._tz = ZoneInfo(timezone)
        self._safe_url = parsed.render_as_string(hide_password=True)
        self._rollup = self._days = False   # whether the schema has the KPI rollup, its days (0021): seen for good

    # --- lifecycle -------------------------------------------------------------

    def upgrade(self) -> None:
        """Migrate the schema to the newest revision; a no-op when already there."""
        with self._errors(), self._engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(_MIGRATIONS).replace("%", "%%"))
            config.attributes["connection"] = connection
            config.attributes["timezone"] = self._tz.key   # the site's days (migration 0010)
            command.upgrade(config, "head")

    @property
    def timezone(self) -> ZoneInfo:
        """The site's time zone: the local day of an order id and of the KPI day counts."""
        return self._tz

    def ping(self) -> bool:
        """Whether the database answers a trivial query now."""
        return self.ping_error() is None

    def ping_error(self) -> str | None:
        """None when the database answers a trivial query now, else why not (one line)."""
        try:
            with self._engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None)
            return (str(orig or exc).strip().splitlines() or [type(exc).__name__])[0]
        return None

    def close(self) -> None:
        """Close pooled connections; the store must not be used afterwards."""
        self._engine.dispose()

    # --- call records ------------------------------------------------------------

    def upsert_call(self, record: CallRecord) -> None:
        """Insert or replace the record with ``record.call_id``. The later write wins field by field (the
        record is always written whole): a replay leaves one identical row, a fuller record replaces a partial."""
        with self._session() as session:
            self.write_call(session, record)

    def write_call(self, session: Session, record: CallRecord, *, keep: bool = False) -> bool:
        """:meth:`upsert_call` in ``session``'s transaction; with ``keep``, only when no record of
        that call exists (a guess never replaces what a node wrote). Whether it was written."""
        values = call_values(record)
        now = datetime.now(UTC)
        insert = self._insert(CallRow).values(**values, created_at=now, updated_at=now)
        changes = {name: insert.excluded[name] for name in values if name != "call_id"}
        key = [CallRow.call_id]
        statement = (insert.on_conflict_do_nothing(index_elements=key).returning(CallRow.call_id) if keep else
                     insert.on_conflict_do_update(index_elements=key, set_={**changes, "updated_at": now}))
        order = voice_message_order(record)
        # the KPI rollup, same transaction (a schema before 0014 has none: its backfill counts these)
        self._rollup = self._rollup or inspect(session.connection()).has_table(kpi_rollup.TABLE)
        self._days = self._days or inspect(session.connection()).has_table(kpi_days.TABLE)   # 0021 on
        # with keep, the insert happens only where no record was: there is no old one to read
        old = kpi_rollup.old_record(session, record.call_id) if self._rollup and not keep else None
        result = session.execute(statement)
        if keep and result.scalar_one_or_none() is None:
            return False   # kept: the record there stands, and so do its counts
        if self._rollup:
            kpi_rollup.on_upsert(session, self._insert, old, record)
            zone = kpi_days.kept_zone(session, self._tz) if self._days else None   # a rebuild's
            if zone is not None:
                kpi_days.on_upsert(session, self._insert, old, record, zone)
        if order is not None:
            self._file_voice_message(session, record.call_id, order)
        return True

    def kpi_member_known(self, dim: str, value: str) -> bool:
        """Whether any call record ever counted under ``value`` of ``dim`` (``queue``, ``seat``, ...)."""
        with self._errors(), self._engine.connect() as connection:
            return kpi_rollup.known(connection, dim, value)

    def rebuild_kpi_rollup(self) -> int:
        """Recompute the call KPI rollups (hourly and per local day) from the call records (one
        transaction); records read."""
        with self._errors(), self._engine.begin() as connection:
            if inspect(connection).has_table(kpi_days.TABLE):
                kpi_days.rebuild(connection, self._tz)
            return kpi_rollup.rebuild(connection)

    def _file_voice_message(self, session: Session, call_id: str, order: VoiceMessageOrder) -> None:
        """One work order per voice message: a replayed record finds the one filed before (the
        check and the insert are in the upsert's transaction, which the journal applies in order)."""
        filed = session.scalar(select(WorkOrderCallRow.work_order_id).join(WorkOrderRow).where(
            WorkOrderCallRow.call_id == call_id, WorkOrderRow.created_by == order.created_by))
        if filed is not None:
            return
        now = datetime.now(UTC)
        day = now.astimezone(self._tz).strftime("%Y%m%d")
        seq = session.execute(self._next_seq(day)).scalar_one()
        session.add(WorkOrderRow(id=f"WO-{day}-{seq:06d}", title=order.title, description=order.description,
                                 category=order.category, status=Status.open, created_by=order.created_by,
                                 caller_confidential=order.category.confidential_by_default,
                                 created_at=now, updated_at=now))
        session.flush()
        session.add(WorkOrderCallRow(work_order_id=f"WO-{day}-{seq:06d}", call_id=call_id))

    def work_orders_for_call(self, call_id: str) -> list[dict[str, Any]]:
        """The work orders linked to one call, oldest first."""
        with self._session() as session:
            ids = session.scalars(select(WorkOrderCallRow.work_order_id).join(WorkOrderRow)
                                  .where(WorkOrderCallRow.call_id == call_id)
                                  .order_by(WorkOrderRow.created_at, WorkOrderRow.id)).all()
            orders = [session.get(WorkOrderRow, i) for i in ids]   # in this transaction: all there
            return [work_order_dict(session, order) for order in orders if order is not None]

    def confidential_calls(self, call_ids: Sequence[str]) -> set[str]:
        """Those of ``call_ids`` that a ``caller_confidential`` work order is about."""
        if not call_ids:
            return set()
        with self._session() as session:
            return set(session.scalars(select(WorkOrderCallRow.call_id).join(WorkOrderRow).where(
                WorkOrderCallRow.call_id.in_(list(call_ids)), WorkOrderRow.caller_confidential.is_(True))))

    def get_call(self, call_id: str) -> CallRecord:
        with self._session() as session:
            row = session.get(CallRow, call_id)
            if row is None:
                raise NoSuchCall(call_id)
            return call_record(row)

    def list_calls(self, *, start: datetime | None = None, end: datetime | None = None,
                   dialled_number: str | None = None, outcome: Outcome | str | None = None,
                   limit: int = 50, offset: int = 0) -> tuple[list[CallRecord], int]:
        """One page of call records, newest arrival first, and the total that match. ``start`` is inclusive
        and ``end`` exclusive, both on ``arrived_at`` and timezone-aware. Invalid arguments raise
        ``InvalidRequest`` naming the argument (the API's query parameters have the same names)."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest("limit", f"must be between 1 and {MAX_PAGE}", limit)
        if offset < 0:
            raise InvalidRequest("offset", "must not be negative", offset)
        for name, value in (("start", start), ("end", end)):
            if value is not None and value.tzinfo is None:
                raise InvalidRequest(name, "must include a UTC offset", value.isoformat())
        if start is not None and end is not None and end <= start:
            raise InvalidRequest("end", f"must be after start ({start.isoformat()})", end.isoformat())
        conditions = []
        if start is not None:
            conditions.append(CallRow.arrived_at >= start)
        if end is not None:
            conditions.append(CallRow.arrived_at < end)
        if dialled_number is not None:
            conditions.append(CallRow.dialled_number == dialled_number)
        if outcome is not None:
            conditions.append(CallRow.outcome == enum_value(Outcome, outcome, "outcome").value)
        page = (select(CallRow).where(*conditions)
                .order_by(CallRow.arrived_at.desc(), CallRow.call_id.desc()).limit(limit).offset(offset))
        with self._session() as session:
            total = session.scalar(select(func.count()).select_from(CallRow).where(*conditions))
            return [call_record(row) for row in session.scalars(page)], total or 0

    # --- work orders ---------------------------------------------------------------

    def create_work_order(self, *, call_ids: Sequence[str], title: str, description: str,
                          category: Category | str, created_by: str,
                          caller_confidential: bool | None = None, no_revisit: bool = False) -> dict[str, Any]:
        """File a new ``open`` work order about existing calls and return it.

        The id is ``WO-<local date>-<6-digit daily sequence>``, short enough to
        read out to a caller. ``caller_confidential`` defaults to what the
        category requires (complaints and reports: confidential). Unknown or
        repeated call ids raise ``InvalidRequest`` naming ``call_ids`` and the id.
        """
        with self._session() as session:
            order = self.file_work_order(session, call_ids=call_ids, title=title, description=description,
                                         category=category, created_by=created_by,
                                         caller_confidential=caller_confidential, no_revisit=no_revisit,
                                         now=datetime.now(UTC))
            return work_order_dict(session, order)

    def file_work_order(self, session: Session, *, call_ids: Sequence[str], title: str, description: str,
                        category: Category | str, created_by: str, caller_confidential: bool | None,
                        now: datetime, no_revisit: bool = False) -> WorkOrderRow:
        """:meth:`create_work_order` in the caller's transaction (filed at ``now``): the lifecycle
        files and starts an order in one (``hotline.work_orders.store``)."""
        category = enum_value(Category, category, "category")
        ids = list(call_ids)
        if not ids:
            raise InvalidRequest("call_ids", "must name at least one call", ids)
        repeated = next((i for n, i in enumerate(ids) if i in ids[:n]), None)
        if repeated is not None:
            raise InvalidRequest("call_ids", f"names call {repeated!r} more than once", repeated)
        if caller_confidential is None:
            caller_confidential = category.confidential_by_default
        day = now.astimezone(self._tz).strftime("%Y%m%d")
        # Take the write lock first (SQLite: before any read, so busy_timeout applies).
        seq = session.execute(self._next_seq(day)).scalar_one()
        known = set(session.scalars(select(CallRow.call_id).where(CallRow.call_id.in_(ids))))
        unknown = next((i for i in ids if i not in known), None)
        if unknown is not None:
            raise InvalidRequest("call_ids", f"no call record with id {unknown!r}", unknown)
        order = WorkOrderRow(id=f"WO-{day}-{seq:06d}", title=title, description=description,
                             category=category, status=Status.open, created_by=created_by,
                             caller_confidential=caller_confidential, no_revisit=no_revisit, created_at=now,
                             updated_at=now)
        session.add(order)
        session.flush()
        session.add_all(WorkOrderCallRow(work_order_id=order.id, call_id=i) for i in ids)
        session.flush()
        return order

    def get_work_order(self, work_order_id: str) -> dict[str, Any]:
        """The work order as JSON-ready dict, with its call ids in arrival order."""
        with self._session() as session:
            order = session.get(WorkOrderRow, work_order_id)
            if order is None:
                raise NoSuchWorkOrder(work_order_id)
            return work_order_dict(session, order, knowledge=True)

    # --- seat state log -------------------------------------------------------------------

    def add_seat_states(self, rows: Sequence[tuple[str, str, str | None, datetime, str | None]]) -> None:
        """Append seat state changes: (seat_id, state, reason, at, call_id)."""
        if not rows:
            return
        with self._session() as session:
            session.add_all([SeatStateRow(seat_id=s, state=st, reason=r, at=at, call_id=c)
                             for s, st, r, at, c in rows])

    def seat_states(self, start: datetime, end: datetime) -> list[tuple[str, str, datetime]]:
        """(seat_id, state, at) ordered by time: every change in [start, end) and, per seat, the
        last change before ``start`` (the state the seat was in when the window opened)."""
        with self._session() as session:
            return seat_log.states(session, start, end)

    def seat_times(self, start: datetime, end: datetime) -> dict[str, dict[str, float]]:
        """Seconds per seat and state within [start, end), added up in the database (occupancy)."""
        with self._session() as session:
            return seat_log.times(session, start, end)

    # --- meta ------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self._session() as session:
            row = session.get(MetaRow, key)
            return None if row is None else row.value

    def set_meta(self, key: str, value: str) -> None:
        insert = self._insert(MetaRow).values(key=key, value=value)
        with self._session() as session:
            session.execute(insert.on_conflict_do_update(index_elements=[MetaRow.key],
                                                         set_={"value": insert.excluded.value}))

    # --- audit log (hotline.audit) ---------------------------------------------------

    def add_audit(self, *, at: datetime, user: str, role: str, action: str, target: str | None,
                  detail: dict[str, Any], status: int) -> int:
        with self._session() as session:
            row = AuditRow(at=at, user=user, role=role, action=action, target=target, detail=detail,
                           status=status)
            session.add(row)
            session.flush()
            return row.id

    def list_audit(self, *, limit: int = 100, user: str | None = None,
                   action: str | None = None) -> list[dict[str, Any]]:
        """The newest audit rows first."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest("limit", f"must be between 1 and {MAX_PAGE}", limit)
        conditions = []
        if user is not None:
            conditions.append(AuditRow.user == user)
        if action is not None:
            conditions.append(AuditRow.action == action)
        query = select(AuditRow).where(*conditions).order_by(AuditRow.id.desc()).limit(limit)
        with self._session() as session:
            return [{"id": r.id, "at": r.at.isoformat(), "user": r.user, "role": r.role, "action": r.action,
                     "target": r.target, "detail": r.detail, "status": r.status}
                    for r in session.scalars(query)]

    # --- for the feature stores built on this one (hotline.callbacks.store) ----------------

    def session(self) -> AbstractContextManager[Session]:
        """A session in a transaction: committed on success, rolled back on any error, and
        "database unreachable or not usable now" raised as StoreError (see :meth:`_errors`)."""
        return self._session()

    def insert(self, table: type[Base]) -> Any:
        """This backend's INSERT for ``table``, with its ``on_conflict_do_*`` upserts."""
        return self._insert(table)

    # --- internals -------------------------------------------------------------------

    def _next_seq(self, day: str) -> Any:
        insert = self._insert(WorkOrderCounterRow).values(day=day, last_seq=1)
        return insert.on_conflict_do_update(
            index_elements=[WorkOrderCounterRow.day],
            set_={"last_seq": WorkOrderCounterRow.last_seq + 1},
        ).returning(WorkOrderCounterRow.last_seq)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn "database unreachable or not usable now" into StoreError; let row errors through.

        A schema that is not migrated yet counts as not usable yet: the
        process starts the journal before ``upgrade`` has succeeded, and
        records written meanwhile must wait, not be rejected as bad data.
        So do a read-only or failed-over server, a missing privilege, a
        migration in progress and a corrupt file: the records wait until an
        operator fixes the database. Only ``IntegrityError`` and ``DataError``
        (this row is wrong) pass through unchanged.
        """
        try:
            yield
        except (IntegrityError, DataError):
            raise
        except (DBAPIError, PoolTimeoutError) as exc:
            orig = getattr(exc, "orig", None)
            reason = (str(orig or exc).strip().splitlines() or [type(exc).__name__])[0]
            sqlstate = getattr(orig, "sqlstate", None)
            if sqlstate == _PG_UNDEFINED_TABLE or reason.startswith("no such table"):
                raise StoreError(f"database not migrated yet (Store.upgrade): {reason}",
                                 url=self._safe_url) from exc
            raise StoreError(f"database unavailable: {reason}", url=self._safe_url,
                             sqlstate=sqlstate) from exc

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """A session in a transaction, committed on success, rolled back on any error."""
        with self._errors(), self._sessions.begin() as session:
            yield session
