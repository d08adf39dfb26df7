"""The call record, kept importable here for the call modules: it lives in :mod:`hotline.records.call`."""

from hotline.records.call import CallRecord, Outcome

__all__ = ["CallRecord", "Outcome"]
