"""The site config of the hotspot warning (``hotspots:``, 热点预警): when orders or calls about one
subject or area rise above their recent baseline, supervisors are alerted.

The seeds' rule (Puyang, 分析研判): "对群众反映较为集中的热点问题，要及时向相关单位发出预警". The
defaults: the last 60 minutes (``window_minutes``) against the same 60 minutes of each of the
previous 7 days (``baseline_days``, site time), hot at 3 times the baseline mean (``factor``) and at
least 5 items (``min_count``: 0 -> 2 is no hotspot); counted by the order's subject and by its area
(``dimensions``). Checked every 60 s; cleared alerts are kept 30 days, at most 1000.
"""

from __future__ import annotations

from enum import Enum

from pydantic import Field, field_validator

from hotline.config.scalars import Model


class HotspotDimension(str, Enum):
    subject = "subject"                  # orders by their subject (事项分类, orders.subjects)
    area = "area"                        # orders by their area (区域, orders.areas)
    subject_area = "subject_area"        # orders by subject within one area (供水 in 某区)
    dialled_number = "dialled_number"    # calls by the number dialled (the hotline, a merged number)


class HotspotsSection(Model):
    """``hotspots:`` the hotspot warning (``enabled`` false: no round runs, the API lists what is kept)."""

    enabled: bool = True
    window_minutes: int = Field(default=60, ge=5, le=1440)
    baseline_days: int = Field(default=7, ge=1, le=28)
    factor: float = Field(default=3.0, ge=1.0, le=100.0, allow_inf_nan=False)
    min_count: int = Field(default=5, ge=1, le=100000)
    dimensions: list[HotspotDimension] = Field(
        default_factory=lambda: [HotspotDimension.subject, HotspotDimension.area], min_length=1, max_length=4)
    every_seconds: int = Field(default=60, ge=5, le=3600)      # how often the round counts
    retention_days: int = Field(default=30, ge=1, le=3650)     # cleared alerts kept this long
    max_kept: int = Field(default=1000, ge=10, le=100000)      # and at most this many
    max_active: int = Field(default=50, ge=1, le=1000)         # hot keys alerted at once (highest ratio first)

    @field_validator("dimensions")
    @classmethod
    def _distinct(cls, value: list[HotspotDimension]) -> list[HotspotDimension]:
        twice = sorted({d.value for d in value if value.count(d) > 1})
        if twice:
            raise ValueError(f"dimensions listed twice: {', '.join(twice)}")
        return value
