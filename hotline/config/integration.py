"""The ``integration`` section: an existing order system (工单系统) the hotline talks to.

Outbound, every order event is delivered to the configured ``webhooks`` from a durable outbox
(:mod:`hotline.outbox`); inbound, the ``systems`` push state changes back. ``ORDER_EVENTS`` and
``INBOUND_CHANGES`` are the one list of event types: the lifecycle adds its types here.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator

from hotline.config.scalars import Model, Secret, Slug

ORDER_EVENTS: tuple[str, ...] = (
    "created", "reported_duty", "dispatched", "signed", "returned", "extension_requested", "extension_approved",
    "extension_refused", "replied", "sent_back", "verified", "evaluated", "reopened", "closed", "supervised",
    "warned", "overdue", "contributed")
"""The order events published to the outbox (an open string, validated against this list); which
lifecycle action publishes which is ``hotline.work_orders.outbound.EVENTS_OF``."""

INBOUND_CHANGES: tuple[str, ...] = ("signed", "returned", "extension_requested", "replied")
"""The state changes an order system may push back (``POST /api/integration/{system}/changes``):
the unit's actions (``hotline.work_orders.inbound``); closing is the centre's (verify, evaluation)."""

WebhookUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s/?#]+(/[^\s]*)?$", max_length=500)]


class Webhook(Model):
    """One receiver of order events: a POST per event, signed ``X-Hotline-Signature: sha256=<hex
    HMAC-SHA256 of the body with secret>``."""

    name: Slug
    url: WebhookUrl
    secret: Secret
    events: list[str] = Field(default_factory=lambda: list(ORDER_EVENTS))
    timeout_ms: Annotated[int, Field(ge=100, le=60000)] = 5000

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        unknown = [e for e in value if e not in ORDER_EVENTS]
        if unknown:
            raise ValueError(f"unknown event type(s) {unknown}; known: {list(ORDER_EVENTS)}")
        if not value:
            raise ValueError("must name at least one event type")
        return value


class InboundSystem(Model):
    """An order system that pushes changes back: authenticated by ``Authorization: Bearer <token>``
    or by ``X-Hotline-Signature: sha256=<hex HMAC-SHA256 of the body with token>``. It acts for the
    unit holding the order: any unit, or only ``units`` (``orders.units[].id``, e.g. a county's system)."""

    name: Slug
    token: Secret
    units: list[Slug] = Field(default_factory=list)


class Integration(Model):
    webhooks: list[Webhook] = Field(default_factory=list)
    systems: list[InboundSystem] = Field(default_factory=list)
    max_attempts: Annotated[int, Field(ge=1, le=1000)] = 12          # then the dead-letter list
    max_age_hours: Annotated[float, Field(gt=0, le=720)] = 72         # or this old: dead letter
    backoff_base_ms: Annotated[int, Field(ge=10, le=600000)] = 1000   # doubled per attempt, with jitter
    backoff_cap_ms: Annotated[int, Field(ge=100, le=86400000)] = 600000
    batch: Annotated[int, Field(ge=1, le=500)] = 50                   # deliveries read per pass
    poll_ms: Annotated[int, Field(ge=50, le=60000)] = 1000
    retention_days: Annotated[float, Field(gt=0, le=3650)] = 7        # delivered events kept
    dead_retention_days: Annotated[float, Field(gt=0, le=3650)] = 30  # dead letters kept, then purged
    max_dead_per_webhook: Annotated[int, Field(ge=1, le=10_000_000)] = 100_000   # oldest purged beyond

    @model_validator(mode="after")
    def _unique_names(self) -> "Integration":
        for kind, names in (("webhooks", [w.name for w in self.webhooks]), ("systems", [s.name for s in self.systems])):
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"{kind}: name(s) {repeated} used more than once")
        if self.backoff_cap_ms < self.backoff_base_ms:
            raise ValueError(f"backoff_cap_ms ({self.backoff_cap_ms}) must be at least backoff_base_ms "
                             f"({self.backoff_base_ms})")
        return self
