"""The work-order enums, kept importable here: they live in :mod:`hotline.records.work_order`."""

from hotline.records.work_order import Category, Status

__all__ = ["Category", "Status"]
