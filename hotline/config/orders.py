"""The site config of the work-order loop (``orders:``): member units, subjects, areas, deadlines
and the working-day calendar's site overrides.

The example defaults are the Puyang rules (濮阳 “关于建设统一政务服务热线平台的意见”, 2020):
dispatch within 1 working day of creation, a unit may return an order that is not theirs within
2 working days with 回退理由/领导意见/建议/联系电话, normal items 5 working days, key items 10 (with
leader approval), emergency items 8 hours (and reported to the duty office at once), 重办 after
不满意 5 more working days.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum

from pydantic import Field, model_validator

from hotline.config.scalars import Label, Model, PhoneNumber, Slug


class UnitKind(str, Enum):
    department = "department"  # 市直部门
    county = "county"          # 县（区）


class Contact(Model):
    """A person of a unit: who the platform calls or escalates to."""

    name: Label
    phone: PhoneNumber


class Unit(Model):
    """A member unit (承办单位): a department or a county that handles dispatched orders.

    ``department`` names the ``departments[].id`` it is, when it has one (its phone, queue);
    ``leader`` is the 分管领导 escalated to on overdue orders; ``people`` the 专职人员."""

    id: Slug
    name: Label
    kind: UnitKind = UnitKind.department
    department: Slug | None = None
    leader: Contact
    people: list[Contact] = Field(default_factory=list)
    # The unit's 24-hour duty phones (值班电话) dialled by the duty-phone tests (``duty_probes``),
    # besides its department's ``duty_phone``.
    duty_phones: list[PhoneNumber] = Field(default_factory=list, max_length=10)


class Subject(Model):
    """One entry of the subject catalogue (事项分类), with the unit it usually goes to."""

    id: Slug
    name: Label
    unit: Slug | None = None


class Area(Model):
    id: Slug
    name: Label


class Deadlines(Model):
    """The time limits of an order (Puyang values as defaults); days are working days."""

    dispatch_days: int = Field(default=1, ge=1, le=30)    # 一个工作日内转至承办单位
    return_days: int = Field(default=2, ge=1, le=30)      # 两个工作日内退回
    normal_days: int = Field(default=5, ge=1, le=60)      # 5个工作日内办结
    key_days: int = Field(default=10, ge=1, le=60)        # 重点、热点、难点: 10个工作日, leader approval
    emergency_hours: int = Field(default=8, ge=1, le=72)  # 应急类: 8小时内办结 (clock hours, 7x24)
    redo_days: int = Field(default=5, ge=1, le=60)        # 不满意: 重新办理, 5个工作日
    warn_hours: int = Field(default=24, ge=0, le=240)     # due within this margin: warned (临期预警)

    @model_validator(mode="after")
    def _key_not_shorter(self) -> "Deadlines":
        if self.key_days < self.normal_days:
            raise ValueError(f"key_days ({self.key_days}) must be at least normal_days ({self.normal_days})")
        return self


class CalendarYear(Model):
    """The official working-day calendar of a year chinesecalendar does not know yet: the public
    holidays that fall on weekdays (``holidays``) and the make-up working Saturdays and Sundays
    (``workdays``, 调休). A listed year replaces chinesecalendar for that year entirely."""

    year: int = Field(ge=2000, le=2100)
    holidays: list[dt.date] = Field(default_factory=list)
    workdays: list[dt.date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _in_year(self) -> "CalendarYear":
        for name, days in (("holidays", self.holidays), ("workdays", self.workdays)):
            for day in days:
                if day.year != self.year:
                    raise ValueError(f"{name}: {day.isoformat()} is not in {self.year}")
        both = set(self.holidays) & set(self.workdays)
        if both:
            raise ValueError(f"{min(both).isoformat()} is both a holiday and a working day")
        return self


class DutyOffice(Model):
    """The duty office (总值班室) every emergency item (应急) is reported to at once.

    ``id`` is what its users name as their unit (``users[].unit``, role ``unit``): they see the
    emergency items in their list, read-only unless the office is also the order's 主办 (then it
    is in ``units`` too, with the same id). ``phones`` are its duty phones (值班电话, in the report);
    ``webhook`` names the ``integration.webhooks[]`` entry that delivers the report to its own
    system (that webhook must take ``reported_duty``). Every site has one: without ``duty_office``
    it is ``duty``, 市政府总值班室, with no phones and no webhook (the report is recorded on the
    order and shown to users with ``unit: duty``)."""

    id: Slug = "duty"
    name: Label = "市政府总值班室"
    phones: list[PhoneNumber] = Field(default_factory=list, max_length=10)
    webhook: Slug | None = None


class OrdersSection(Model):
    """``orders:`` the work-order loop of the site."""

    units: list[Unit] = Field(default_factory=list)
    subjects: list[Subject] = Field(default_factory=list)
    areas: list[Area] = Field(default_factory=list)
    deadlines: Deadlines = Field(default_factory=Deadlines)
    calendar: list[CalendarYear] = Field(default_factory=list)
    # Whether a unit may see the caller's full number on an order that is not confidential.
    units_see_numbers: bool = False
    # Where emergency items are reported at once (应急): the default is the example's 市政府总值班室.
    duty_office: DutyOffice = Field(default_factory=DutyOffice)

    def is_unit_id(self, unit_id: str) -> bool:
        """A member unit's id or the duty office's (what a unit user may name as its unit)."""
        return self.unit(unit_id) is not None or self.duty_office.id == unit_id

    def unit(self, unit_id: str) -> Unit | None:
        return next((u for u in self.units if u.id == unit_id), None)

    def subject(self, subject_id: str) -> Subject | None:
        return next((s for s in self.subjects if s.id == subject_id), None)

    def area(self, area_id: str) -> Area | None:
        return next((a for a in self.areas if a.id == area_id), None)
