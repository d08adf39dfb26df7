"""What the call modules share besides the record: the assembler's view of the site and the
hangup cause names. The call record itself lives in :mod:`hotline.records.call`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HANGUP_CAUSES", "Directory"]


# ITU-T Q.850 causes a hotline meets.
HANGUP_CAUSES = {
    0: "not defined", 1: "unallocated number", 3: "no route to destination", 16: "normal clearing",
    17: "user busy", 18: "no user responding", 19: "no answer", 21: "call rejected",
    27: "destination out of order", 28: "invalid number format", 31: "normal, unspecified",
    34: "no circuit available", 38: "network out of order", 41: "temporary failure",
    42: "switching equipment congestion", 47: "resource unavailable", 58: "bearer capability not available",
    102: "recovery on timer expiry", 127: "interworking, unspecified",
}


@dataclass(frozen=True)
class Directory:
    """What the assembler needs to know of the site: which endpoints are trunks and seats."""

    trunks: frozenset[str]   # trunk endpoint names, e.g. "trunk-carrier"
    seats: frozenset[str]    # seat endpoint names, e.g. "1001"
