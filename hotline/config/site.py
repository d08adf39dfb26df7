"""The site config model: one YAML file describes a hotline site.

Validated completely before anything is generated or reloaded: each field by its type
(:mod:`hotline.config.scalars`, :mod:`hotline.config.sections`), then the references across
sections (:mod:`hotline.config.checks`). Every name of those modules stays importable from here.
"""

from __future__ import annotations

from pydantic import Field

from hotline.config.integration import ORDER_EVENTS, InboundSystem, Integration, Webhook
from hotline.config.orders import (Area, CalendarYear, Contact, Deadlines, DutyOffice, OrdersSection, Subject,
                                   Unit, UnitKind)
from hotline.config.edge import EdgeNode, EdgeSection, PikeLimits
from hotline.config.duty_probes import DutyProbesSection, ProbeWindow
from hotline.config.hotspots import HotspotDimension, HotspotsSection
from hotline.config.knowledge import KnowledgeSection
from hotline.config.revisits import RevisitHours, RevisitsSection
from hotline.config.unit_scores import UnitScoresSection
from hotline.config.scalars import (NODE_NAME, HostName, Label, Model, NodeName, PhoneNumber, Port, QueueName, SeatId,
                                    Secret, Slug)
from hotline.config.sections import (AmiSection, ApiSection, AsteriskSection, Department, Diversion,
                                   EmergencyRoute, FastAgiSection, FeatureCode, FeatureCodes, LegacyNumber,
                                   NumberMode, OfficeHours, PasswordHash, PauseReason, Queue, QueueCallback,
                                   QueueFallback, QueueOverflow, RedisSection, RepeatCaller, Retention, Role,
                                   Seat, SeatRules, SiteInfo, StoreSection, Transition, Trunk, User, UserName,
                                   WebRtcSection)

__all__ = ["NODE_NAME", "ORDER_EVENTS", "InboundSystem", "Integration", "Webhook",
           "AmiSection", "ApiSection", "AsteriskSection", "Department", "Diversion",
           "EmergencyRoute", "FastAgiSection", "FeatureCode", "FeatureCodes", "HostName", "Label",
           "LegacyNumber", "NodeName", "NumberMode", "OfficeHours", "PasswordHash", "PauseReason",
           "PhoneNumber", "Port", "Queue", "QueueCallback", "QueueFallback", "QueueName", "QueueOverflow",
           "RedisSection", "RepeatCaller", "Retention", "Role", "Seat", "SeatId", "SeatRules", "Secret",
           "SiteConfig", "SiteInfo", "Slug", "StoreSection", "Transition", "Trunk", "User", "UserName",
           "WebRtcSection",
           "Area", "CalendarYear", "Contact", "Deadlines", "DutyOffice", "OrdersSection", "Subject", "Unit", "UnitKind",
           "RevisitHours", "RevisitsSection", "DutyProbesSection", "ProbeWindow",
           "UnitScoresSection", "HotspotDimension", "HotspotsSection", "KnowledgeSection", "EdgeNode", "EdgeSection",
           "PikeLimits"]


class SiteConfig(Model):
    site: SiteInfo = Field(default_factory=SiteInfo)
    asterisk: AsteriskSection = Field(default_factory=AsteriskSection)
    api: ApiSection = Field(default_factory=ApiSection)
    store: StoreSection = Field(default_factory=StoreSection)
    trunks: list[Trunk] = Field(min_length=1)
    departments: list[Department] = Field(default_factory=list)
    queues: list[Queue] = Field(default_factory=lambda: [Queue(name="hotline")])
    seats: list[Seat] = Field(default_factory=list)
    legacy_numbers: list[LegacyNumber] = Field(default_factory=list)
    emergency: list[EmergencyRoute] = Field(default_factory=list)
    diversion_110: Diversion = Field(default_factory=Diversion)
    seat_rules: SeatRules = Field(default_factory=SeatRules)
    repeat_caller: RepeatCaller = Field(default_factory=RepeatCaller)
    redis: RedisSection = Field(default_factory=RedisSection)
    users: list[User] = Field(default_factory=list)
    retention: Retention = Field(default_factory=Retention)
    orders: OrdersSection = Field(default_factory=OrdersSection)
    integration: Integration = Field(default_factory=Integration)
    revisits: RevisitsSection = Field(default_factory=RevisitsSection)
    duty_probes: DutyProbesSection = Field(default_factory=DutyProbesSection)
    unit_scores: UnitScoresSection = Field(default_factory=UnitScoresSection)
    hotspots: HotspotsSection = Field(default_factory=HotspotsSection)
    knowledge: KnowledgeSection = Field(default_factory=KnowledgeSection)
    edge: EdgeSection | None = None   # a Kamailio in front of several Asterisk nodes (hotline/config/edge.py)

    def user(self, name: str) -> User | None:
        return next((u for u in self.users if u.name == name), None)

    def queue(self, name: str) -> Queue | None:
        return next((q for q in self.queues if q.name == name), None)

    def seat(self, seat_id: str) -> Seat | None:
        return next((s for s in self.seats if s.id == seat_id), None)

    def pause_reason(self, code_or_name: str) -> PauseReason | None:
        return next((r for r in self.seat_rules.pause_reasons if code_or_name in (r.code, r.name)), None)

    # --- lookups used by generators and record assembly ------------------------

    def department(self, dept_id: str) -> Department | None:
        return next((d for d in self.departments if d.id == dept_id), None)

    def number(self, number: str) -> LegacyNumber | None:
        return next((n for n in self.legacy_numbers if n.number == number), None)

    def queue_for(self, number: str) -> str:
        """The queue a call to ``number`` joins when the FastAGI server does not answer."""
        n = self.number(number)
        if n is None:
            return self.site.default_queue
        if n.queue:
            return n.queue
        dept = self.department(n.department)
        if dept and dept.queue:
            return dept.queue
        return self.site.default_queue
