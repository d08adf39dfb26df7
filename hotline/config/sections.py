"""The sections of the site config: one pydantic model per part of the YAML file.

:class:`hotline.config.site.SiteConfig` puts them together; the cross-section checks are in
:mod:`hotline.config.checks`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from enum import Enum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from hotline.config.scalars import (HostName, Label, Model, NodeName, PhoneNumber, Port, QueueName, SeatId, Secret,
                                    Slug, check_cidr)


class NumberMode(str, Enum):
    """How a department number joins 12345 (see shared/data/README.md)."""

    merged = "merged"            # 直接整合: answered by the 12345 seats
    parallel = "parallel"        # 并联整合: stays with the department, reached by three-way call
    convenience = "convenience"  # 便民服务协约单位: referred to
    emergency = "emergency"      # 110/119/120/12395: never merged, transfer target


class SiteInfo(Model):
    name: Label = "12345 hotline"
    id: Slug = "hotline"          # short: the ``site`` label of every /metrics series
    hotline_number: PhoneNumber = "12345"
    timezone: str = "Asia/Shanghai"
    default_queue: QueueName = "hotline"
    unknown_numbers: Literal["hotline", "reject"] = "hotline"
    node: NodeName | None = None   # this node's name: Asterisk's systemname, the Redis key prefix


class AmiSection(Model):
    bind: HostName = "127.0.0.1"
    port: Port = 5038
    username: Slug = "hotline"


class FastAgiSection(Model):
    bind: HostName = "127.0.0.1"
    port: Port = 4573
    # The longest a call waits on the routing step (the dialplan's bound around AGI(); then it
    # fails open to the number's queue), and the server's read timeout.
    timeout_ms: Annotated[int, Field(ge=100, le=10000)] = 2000
    # How often the FastAGI process reports (a heartbeat in shared memory), and after how long
    # without one the controller replaces it (blocked, stopped, wedged).
    report_ms: Annotated[int, Field(ge=5, le=5000)] = 500
    stall_after_ms: Annotated[int, Field(ge=500, le=60000)] = 5000


class WebRtcSection(Model):
    """Asterisk's HTTP server for the browser phones' SIP over WebSocket (used only when a seat has
    ``phone: browser``): ``ws://<bind>:<port>/ws``; with ``tls_port``, also ``wss://`` on it with
    the certificate the install generated (a page served over https needs wss)."""

    bind: HostName = "127.0.0.1"
    port: Port = 8088
    tls_port: Port | None = None
    # What the page connects to when Asterisk is reached under another name (a proxy); empty:
    # ws(s)://<the page's host>:<port>/ws.
    public_url: Annotated[str, StringConstraints(pattern=r"^(wss?://[^\s]+)?$")] = ""
    # A browser phone whose network is gone (no answer to OPTIONS) is out of the queue after this.
    qualify_seconds: Annotated[int, Field(ge=2, le=120)] = 5


class AsteriskSection(Model):
    sip_bind: HostName = "0.0.0.0"
    sip_port: Port = 5060
    rtp_start: Port = 10000
    rtp_end: Port = 20000
    seat_networks: list[str] = Field(default_factory=lambda: ["127.0.0.0/8"])
    ami: AmiSection = Field(default_factory=AmiSection)
    fastagi: FastAgiSection = Field(default_factory=FastAgiSection)
    webrtc: WebRtcSection = Field(default_factory=WebRtcSection)

    _cidrs = field_validator("seat_networks")(lambda v: [check_cidr(x) for x in v])

    @model_validator(mode="after")
    def _rtp_range(self) -> "AsteriskSection":
        if self.rtp_end <= self.rtp_start:
            raise ValueError(f"rtp_end ({self.rtp_end}) must be above rtp_start ({self.rtp_start})")
        return self


class ApiSection(Model):
    bind: HostName = "127.0.0.1"
    port: Port = 8080
    # Without users: the host names (besides localhost, the bind address and IP addresses) the
    # API answers under; any other Host header is refused (DNS rebinding). See hotline/auth/webguard.py.
    allowed_hosts: list[HostName] = Field(default_factory=list)


class StoreSection(Model):
    url: str = ""  # empty: SQLite in the state directory


Codec = Literal["alaw", "ulaw", "g722"]
DEFAULT_CODECS: tuple[Codec, ...] = ("alaw", "ulaw")


class Trunk(Model):
    """A carrier trunk, identified by source IP or registered with auth."""

    name: Slug
    mode: Literal["ip", "registration"] = "ip"
    host: HostName
    port: Port = 5060
    match: list[str] = Field(default_factory=list)  # source networks; default: host
    username: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.+-]{1,64}$")] | None = None
    secret: Secret | None = None
    codecs: list[Codec] = Field(default_factory=lambda: list(DEFAULT_CODECS))
    did_prefixes: list[Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{1,8}$")]] = Field(default_factory=list)
    max_channels: Annotated[int, Field(ge=1, le=10000)] = 300

    _cidrs = field_validator("match")(lambda v: [check_cidr(x) for x in v])

    @model_validator(mode="after")
    def _auth(self) -> "Trunk":
        if self.mode == "registration" and (not self.username or not self.secret):
            raise ValueError("a registration trunk needs username and secret")
        if not self.match:
            try:
                ipaddress.ip_address(self.host)
            except ValueError:
                raise ValueError(f"host {self.host!r} is a name: list the carrier's source networks in "
                                 "'match' (SIP ACLs and identify take addresses)") from None
        return self

    @property
    def networks(self) -> list[str]:
        return self.match or [self.host]


class OfficeHours(Model):
    """When a department answers its own line. ``workdays`` follows the Chinese working-day
    calendar (public holidays off, 调休 make-up Saturdays and Sundays on), via chinesecalendar."""

    days: Literal["workdays", "daily"] = "workdays"
    start: dt.time = dt.time(8, 30)
    end: dt.time = dt.time(17, 30)

    @model_validator(mode="after")
    def _order(self) -> "OfficeHours":
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


class Department(Model):
    id: Slug
    name: Label
    duty_phone: PhoneNumber | None = None   # reached through a trunk (three-way calls, transfers)
    queue: QueueName | None = None
    # The department's own phone registered on this platform (endpoint dept-<id>), if any.
    phone_secret: Secret | None = None
    hours: OfficeHours | None = None        # None: answers 7x24


class QueueOverflow(Model):
    """After ``after`` seconds in this queue, the seats of queue ``to`` ring for its callers too
    (county sub-centre -> city, and back). The caller keeps their place: no second queue."""

    to: QueueName
    after: Annotated[int, Field(ge=0, le=3600)] = 30


class QueueFallback(Model):
    """What happens at ``max_wait`` or when no seat is logged in (the no-seat rule).

    ``queue``: the caller moves to ``queue`` (same priority); ``callback``: the caller is offered
    a call back (press 1) and the request is recorded; ``message``: the caller leaves a voice
    message that becomes a work order. Without a fallback callers wait for a seat (7x24)."""

    action: Literal["queue", "callback", "message"]
    queue: QueueName | None = None

    @model_validator(mode="after")
    def _queue_named(self) -> "QueueFallback":
        if self.action == "queue" and not self.queue:
            raise ValueError("fallback action 'queue' needs 'queue' (the queue to move the caller to)")
        return self


class QueueCallback(Model):
    """Queue callback: while waiting the caller presses ``key``, hangs up and keeps their place;
    when their turn comes the platform calls them back and connects them to the seat."""

    enabled: bool = True
    key: Annotated[str, StringConstraints(pattern=r"^[0-9*#]$")] = "1"
    attempts: Annotated[int, Field(ge=1, le=10)] = 3        # tries before the request fails
    retry_after: Annotated[int, Field(ge=5, le=3600)] = 60   # seconds between tries
    ring_seconds: Annotated[int, Field(ge=5, le=120)] = 30


class Queue(Model):
    name: QueueName

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if v == "general":
            raise ValueError("'general' is reserved by Asterisk's queues.conf; name the queue e.g. 'hotline'")
        return v

    title: Label | None = None
    strategy: Literal["ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "linear", "wrandom"] = "rrmemory"
    ring_timeout: Annotated[int, Field(ge=5, le=120)] = 15
    retry: Annotated[int, Field(ge=0, le=60)] = 1
    wrapup: Annotated[int, Field(ge=0, le=600)] = 0
    max_wait: Annotated[int, Field(ge=0, le=7200)] = 0  # 0: wait until answered (7x24 human service)
    weight: Annotated[int, Field(ge=0, le=100)] = 0
    county: Label | None = None               # a county sub-centre's queue (县级分中心)
    overflow: list[QueueOverflow] = Field(default_factory=list)
    waiting: Literal["music", "ringback"] = "music"     # what the caller hears between announcements
    announce_position: bool = True            # "you are caller N" (Mandarin, generated offline)
    announce_holdtime: bool = True            # "expected wait about N minutes"
    announce_every: Annotated[int, Field(ge=0, le=600)] = 30   # seconds; 0: announce on entry only
    fallback: QueueFallback | None = None     # at max_wait, or when no seat is logged in
    no_seat: Literal["wait", "fallback"] = "wait"   # no seat logged in: keep waiting or use the fallback
    callback: QueueCallback | None = None
    # Wait in another queue's line (its Asterisk queue): for a queue whose seats are that queue's
    # seats (a merged number's queue served by the hotline seats), so one seat takes the callers of
    # both by priority, then arrival. Records and KPIs keep this queue's name (ARCHITECTURE.md, fairness).
    line: QueueName | None = None


class Seat(Model):
    id: SeatId
    name: Label
    secret: Secret
    queues: list[QueueName] = Field(default_factory=lambda: ["hotline"])
    penalty: Annotated[int, Field(ge=0, le=100)] = 0
    remote: bool = False                      # registers over a WAN (NAT-safe endpoint settings)
    county: Label | None = None
    # A seat reached on an outside number through the trunk (a county seat's mobile, say): it
    # must press 1 to accept each call, so a voicemail box never takes a caller.
    external_number: PhoneNumber | None = None
    trunk: Slug | None = None                 # for external_number (default: the first trunk)
    # sip: a desk phone or softphone registers over UDP; browser: the console page's WebRTC phone
    # (WebSocket transport, DTLS-SRTP, ICE; asterisk.webrtc says where Asterisk listens for it).
    phone: Literal["sip", "browser"] = "sip"


class PauseReason(Model):
    code: Slug                                 # what the API takes (the name is accepted too)
    name: Label                                # 小休, 培训, 整理 ...


def _default_reasons() -> list[PauseReason]:
    return [PauseReason(code="break", name="小休"), PauseReason(code="training", name="培训"),
            PauseReason(code="admin", name="整理"), PauseReason(code="meal", name="用餐")]


FeatureCode = Annotated[str, StringConstraints(pattern=r"^\*[0-9]{1,4}$")]


class FeatureCodes(Model):
    """Codes a seat dials on its phone. Pause is followed by the reason's number (1 = the first
    configured reason), e.g. *231 for 小休."""

    login: FeatureCode = "*21"
    logout: FeatureCode = "*22"
    pause: FeatureCode = "*23"
    unpause: FeatureCode = "*24"


class SeatRules(Model):
    pause_reasons: list[PauseReason] = Field(default_factory=_default_reasons, min_length=1, max_length=9)
    auto_pause_after: Annotated[int, Field(ge=0, le=20)] = 3   # unanswered rings in a row; 0: never
    feature_codes: FeatureCodes = Field(default_factory=FeatureCodes)
    remote_ring_timeout: Annotated[int, Field(ge=10, le=120)] = 30  # seats on an external number
    # a logged-in seat whose phone Asterisk cannot reach this long is logged out (0: never)
    unreachable_logout_after: Annotated[int, Field(ge=0, le=86400)] = 120


class RepeatCaller(Model):
    """A caller who called within ``within_hours`` is queued with ``priority`` (0: off)."""

    within_hours: Annotated[int, Field(ge=0, le=168)] = 2
    priority: Annotated[int, Field(ge=0, le=100)] = 5


class RedisSection(Model):
    url: str = ""   # empty: live state in the controller's memory only (the wallboard still works)


class Transition(Model):
    """双号并存: while a merged number is in transition both numbers ring the 12345 seats."""

    prompt: bool = True                  # play "this number has been merged into 12345" first
    start: dt.date | None = None
    end: dt.date | None = None           # the last day of the transition
    # After the end: keep the number (national special numbers such as 12301, 12356), or play the
    # withdrawal notice and then connect to 12345, or play it and end the call.
    after: Literal["keep", "notice_then_hotline", "notice_then_end"] = "keep"

    @model_validator(mode="after")
    def _order(self) -> "Transition":
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


class LegacyNumber(Model):
    number: PhoneNumber
    mode: NumberMode
    department: Slug
    hotline: Label | None = None
    queue: QueueName | None = None
    note: str | None = None
    transition: Transition | None = None     # merged numbers
    ring_seconds: Annotated[int, Field(ge=5, le=120)] = 20   # parallel numbers: before 12345 takes over
    target: PhoneNumber | None = None        # parallel numbers reached through a trunk (default: the number)


class EmergencyRoute(Model):
    """Where an emergency is transferred: 110/119/120/12395 through a carrier trunk."""

    number: PhoneNumber                      # what seats ask for, e.g. "110"
    trunk: Slug
    dial: PhoneNumber | None = None          # what is dialled on the trunk (default: number)


class Diversion(Model):
    """Non-police calls that 110 hands to 12345 arrive on these numbers: tagged origin 110, priority."""

    numbers: list[PhoneNumber] = Field(default_factory=list)
    priority: Annotated[int, Field(ge=1, le=100)] = 10


class Retention(Model):
    """How long produced files are kept (0 days: forever) and when the disk alarm goes off.

    The janitor (``hotline.disk``) deletes, every ``janitor_every_minutes``, recordings, rotated
    CEL and Asterisk logs and rejected journal files older than their limit. The disk alarm is
    ``low`` when a file system the hotline writes to has less than ``warn_free_percent`` or
    ``warn_free_mb`` free, ``critical`` under ``min_free_percent`` or ``min_free_mb``."""

    recordings_days: Annotated[int, Field(ge=0, le=36500)] = 180
    cel_days: Annotated[int, Field(ge=0, le=36500)] = 90          # rotated CEL logs (the current one never)
    logs_days: Annotated[int, Field(ge=0, le=36500)] = 30         # rotated Asterisk logs
    rejected_days: Annotated[int, Field(ge=0, le=36500)] = 0      # records the database refused: keep
    min_free_percent: Annotated[float, Field(ge=0, le=100)] = 5
    min_free_mb: Annotated[int, Field(ge=0)] = 1024
    warn_free_percent: Annotated[float, Field(ge=0, le=100)] = 15
    warn_free_mb: Annotated[int, Field(ge=0)] = 4096
    asterisk_log_max_mb: Annotated[int, Field(ge=1, le=100000)] = 100   # messages.log is rotated past this
    janitor_every_minutes: Annotated[float, Field(gt=0, le=1440)] = 60
    disk_check_seconds: Annotated[float, Field(gt=0, le=3600)] = 30


UserName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,31}$")]
"""A login name: an ascii slug (lower case, digits, ``_ . -``)."""

PasswordHash = Annotated[str, StringConstraints(
    pattern=r"^pbkdf2_sha256\$[0-9]{4,8}\$[A-Za-z0-9+/=]{8,64}\$[A-Za-z0-9+/=]{16,128}$")]
"""``pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>`` (``hotline user hash-password``)."""


class Role(str, Enum):
    """Who may do what in the API, lowest first (``hotline.auth.roles`` has the route table)."""

    department = "department"  # a department's user: reads work orders, never a caller's number
    unit = "unit"              # a member unit's user (承办单位): its unit's orders only (users[].unit)
    seat = "seat"              # a seat agent: its own seat only
    supervisor = "supervisor"  # the floor: every seat, the wallboard, listen/whisper/barge
    admin = "admin"            # everything


class User(Model):
    """A person who logs in to the API and the wallboard. No users: the API stays open."""

    name: UserName
    role: Role
    password_hash: PasswordHash
    # A seat user's own seat; for a supervisor, the phone that rings for listen/whisper/barge.
    seat: SeatId | None = None
    # A unit user's unit (orders.units[].id).
    unit: Slug | None = None
