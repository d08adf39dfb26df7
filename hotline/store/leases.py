"""Duty leases: the rounds only one controller of a site may run at a time (issue 14, item 3).

Several controllers (one per Asterisk node, ``site.node``) may share one PostgreSQL store. Each
keeps its own node's calls, but some rounds belong to the site, not to a node: the 回访 campaign
and the duty-phone dial tests place calls (two controllers would call a citizen twice), the 督办
sweep and the hotspot round write events and alerts. Before each round a controller asks
:meth:`DutyLeases.hold`: it holds the duty when the row names it or has expired, and holding renews
it for ``ttl``. One guarded UPDATE decides, or an INSERT that a concurrent taker makes fail, so two
controllers never hold a duty at one moment, and a dead holder's duty passes to another after
``ttl``. A site without ``site.node`` runs one controller and takes no lease.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.exc import IntegrityError

from hotline.store.lease_models import DutyLeaseRow
from hotline.store.store import Store

DUTIES = ("revisits", "duty_probes", "order_sweep", "hotspots")   # the site's rounds, one holder each


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DutyLeases:
    def __init__(self, store: Store, holder: str, clock: Callable[[], dt.datetime] = _utcnow) -> None:
        """``holder``: this controller's node name (``site.node``)."""
        self._store = store
        self.holder = holder
        self._clock = clock

    def hold(self, duty: str, ttl: dt.timedelta) -> bool:
        """Whether this controller holds ``duty`` now (taken or renewed until now + ``ttl``).
        Raises :class:`hotline.exceptions.StoreError` when the database does not answer."""
        now = self._clock()
        row = DutyLeaseRow
        with self._store.session() as session:
            taken = session.execute(
                update(row).where(row.duty == duty, or_(row.holder == self.holder, row.expires_at < now))
                .values(holder=self.holder, expires_at=now + ttl,
                        since=case((row.holder == self.holder, row.since), else_=now)))
            if getattr(taken, "rowcount", 0):
                return True
        try:
            with self._store.session() as session:
                session.add(row(duty=duty, holder=self.holder, expires_at=now + ttl, since=now))
            return True
        except IntegrityError:   # another controller holds it (or took it just now)
            return False

    def holders(self) -> list[dict[str, Any]]:
        """Every duty's holder and expiry (``/status``)."""
        with self._store.session() as session:
            return [{"duty": r.duty, "holder": r.holder, "expires_at": r.expires_at.isoformat(),
                     "since": r.since.isoformat()}
                    for r in session.scalars(select(DutyLeaseRow).order_by(DutyLeaseRow.duty))]
