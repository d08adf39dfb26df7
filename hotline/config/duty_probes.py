"""The site config of duty-phone dial tests (``duty_probes:``): when the platform dials each member
unit's 24-hour duty phone (值班电话) to check that somebody answers.

The seeds' rule (Puyang assessment annex): "市热线平台人员间隔拨打3次，若无人接听，视为电话不通、
无人值守，平台系统将自动记录数据，每记录一次扣1分". The example defaults: two windows a day (office
09:00-17:00 and night 20:00-07:00, site time), one probe of each unit at a random time in each,
a probe rings 30 s, an unanswered (busy, failed) try is dialled again 5 minutes later, 3 tries;
three failures are one 不通 event. The numbers a unit is probed on are its ``duty_phones``
(``orders.units[]``) and the ``duty_phone`` of the department it names; each must pass the
outbound number rule (``revisits.area_code``, ``revisits.deny_prefixes``).
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator, model_validator

from hotline.config.scalars import Model, Slug


class ProbeWindow(Model):
    """A daily window of probes, site time. ``end`` before ``start`` crosses midnight (20:00-07:00):
    the window belongs to the day it starts on. ``probes``: how many probes of each unit are drawn
    at random times inside it each day."""

    name: Slug
    start: dt.time
    end: dt.time
    probes: int = Field(default=1, ge=0, le=24)

    @model_validator(mode="after")
    def _not_empty(self) -> "ProbeWindow":
        if self.start == self.end:
            raise ValueError(f"end ({self.end}) must differ from start ({self.start}): the window would be empty")
        return self


def _default_windows() -> list[ProbeWindow]:
    return [ProbeWindow(name="office", start=dt.time(9, 0), end=dt.time(17, 0), probes=1),
            ProbeWindow(name="night", start=dt.time(20, 0), end=dt.time(7, 0), probes=1)]


class DutyProbesSection(Model):
    """``duty_probes:`` dial tests of the member units' duty phones (``enabled`` false: none placed)."""

    enabled: bool = False
    windows: list[ProbeWindow] = Field(default_factory=_default_windows, max_length=12)
    ring_seconds: int = Field(default=30, ge=5, le=120)       # how long a probe rings before it counts as unanswered
    tries: int = Field(default=3, ge=1, le=10)                # failures in a row that make one 不通 event
    spacing_minutes: int = Field(default=5, ge=1, le=240)     # between two tries of a probe
    postpone_minutes: int = Field(default=5, ge=1, le=120)    # the unit's number is in a call with 12345: later
    max_concurrent: int = Field(default=2, ge=1, le=20)       # probe calls at once (inbound service first)

    @field_validator("windows")
    @classmethod
    def _distinct(cls, value: list[ProbeWindow]) -> list[ProbeWindow]:
        names = [w.name for w in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"window names listed twice: {', '.join(twice)}")
        return value
