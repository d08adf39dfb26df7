"""The site config of 回访 calls (``revisits:``): when the platform calls callers back about their
order, how many at once, how often it tries, and which numbers it may dial at all.

The example defaults follow the seeds (every replied and checked order is called back, 初电回访
100%) and the usual quiet hours of a Chinese call centre: 08:30-20:30 site time, at most 2 calls
at once (inbound service first), 3 tries 30 minutes apart. The outbound number rule
(:mod:`hotline.revisits.rules`) is conservative: mobiles (1[3-9] + 9 digits) and fixed lines of
the site's own area code (``area_code``, e.g. 0393 for 濮阳) only; never international, never
another area (long distance), never a service or premium number (anything starting 1 or 9 after
the area code: 1xx special services and 168 info lines, 95xxx/96xxx service numbers; 400/800; 1900
lines), and never a prefix listed in ``deny_prefixes``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator

from hotline.config.scalars import Model, QueueName

AreaCode = Annotated[str, StringConstraints(pattern=r"^0[1-9][0-9]{1,2}$")]
"""A Chinese area code with its trunk prefix: 010, 021, 0393 (3 or 4 digits)."""

Prefix = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}$")]


class RevisitHours(Model):
    """When 回访 calls may be placed, in site time (``site.timezone``), every day: a call due
    outside waits for the next opening; a try in progress at ``end`` is not cut."""

    start: dt.time = dt.time(8, 30)
    end: dt.time = dt.time(20, 30)

    @model_validator(mode="after")
    def _order(self) -> "RevisitHours":
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start}): the window is one day's")
        return self


class RevisitsSection(Model):
    """``revisits:`` 回访 calls of replied and verified orders (``enabled`` false: none placed;
    seats may still take the tasks by hand)."""

    enabled: bool = False
    hours: RevisitHours = Field(default_factory=RevisitHours)
    max_concurrent: int = Field(default=2, ge=1, le=50)     # 回访 calls at once (inbound first)
    tries: int = Field(default=3, ge=1, le=10)              # no answer / busy / failed: then given up
    spacing_minutes: int = Field(default=30, ge=1, le=1440)  # between two tries of a task
    ring_seconds: int = Field(default=30, ge=5, le=120)     # how long the caller's phone rings
    queue: QueueName | None = None       # where 0 (a seat) goes; None: site.default_queue
    area_code: AreaCode | None = None    # the site's own area: its fixed lines may be called
    deny_prefixes: list[Prefix] = Field(default_factory=list, max_length=100)   # refused as well
    skip_confidential: bool = True       # 保密: a confidential order's caller is not called
    dtmf_timeout_seconds: int = Field(default=8, ge=2, le=30)   # waiting for a key after the menu

    @field_validator("deny_prefixes")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        seen = sorted({p for p in value if value.count(p) > 1})
        if seen:
            raise ValueError(f"listed twice: {', '.join(seen)}")
        return value
