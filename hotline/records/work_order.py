"""Work-order enums shared by the store and the HTTP API (``hotline.records``: plain data).

The database keeps the ascii ids; the Chinese names are the categories of the
national 12345 service specification that seats and reports use.
"""

from __future__ import annotations

from enum import Enum


class Category(str, Enum):
    consult = "consult"        # 咨询
    help = "help"              # 求助
    complaint = "complaint"    # 投诉
    report = "report"          # 举报
    suggestion = "suggestion"  # 建议
    criticism = "criticism"    # 批评 (migration 0008)
    praise = "praise"          # 表扬 (migration 0008)

    @property
    def confidential_by_default(self) -> bool:
        """GB/T 33358: the identity of a complainant or informant is kept confidential."""
        return self in (Category.complaint, Category.report)


class Status(str, Enum):
    open = "open"
    assigned = "assigned"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"
