"""Read-only: the callers of the last hours, to seed the FastAGI process's repeat-caller memory.

Opens its own short-lived engine (the FastAGI process has no Store) with a connect timeout; a
SQLite file that does not exist is not created (nobody has called yet). Raises ``StoreError``
when the database cannot be read; the caller logs it and goes on with memory only.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from hotline.exceptions import StoreError
from hotline.store.models import CallRow

CONNECT_TIMEOUT_S = 3
MAX_ROWS = 200_000


def recent_callers(url: str, since: datetime) -> list[tuple[str, float]]:
    """(caller number, arrival epoch seconds) of calls that arrived at or after ``since``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or not Path(parsed.database).is_file():
            return []
        url = f"sqlite:///file:{parsed.database}?mode=ro&uri=true"
        connect_args: dict[str, object] = {"timeout": CONNECT_TIMEOUT_S}
    else:
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_S}
    try:
        engine = create_engine(url, connect_args=connect_args)
    except (SQLAlchemyError, ValueError) as exc:
        raise StoreError(f"cannot open the store: {exc}") from None
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(CallRow.caller_number, CallRow.arrived_at).where(CallRow.arrived_at >= since)
                .where(CallRow.caller_number != "anonymous").order_by(CallRow.arrived_at.desc()).limit(MAX_ROWS))
            return [(number, at.timestamp()) for number, at in rows if number and at is not None]
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StoreError(f"cannot read recent callers: {reason}") from None
    finally:
        engine.dispose()
