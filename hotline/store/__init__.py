"""Persistence of the hotline core: the database store and its write-behind journal."""

from hotline.store.journal import RecordJournal
from hotline.store.store import MAX_PAGE, Store

__all__ = ["MAX_PAGE", "RecordJournal", "Store"]
