"""The CEL mark vocabulary: every milestone the dialplan marks on a call, declared once.

The dialplan marks a call with user-defined CEL events, ``CELGenUserEvent(NAME,a|b|c)``: the
event's type is the mark's name and its payload the mark's fields in order, ``|``-separated.
Asterisk writes the payload to the CEL log as the event's ``extra`` (``{"extra": "a|b|c"}``),
and the application data (``NAME,a|b|c``) as ``appdata``. The generator writes a mark with
:meth:`Mark.write` (given a dialplan expression for each field); the record assembler, call
control and the callback tasks read it back with :meth:`Mark.read` / :meth:`Mark.of` (a typed
value with named fields). Nothing else spells a mark's name or splits its payload.

Reading never raises: a missing field reads as ``""``, fields past the declared ones are ignored,
and a mark of one field reads its whole payload (a ``|`` in it stays part of the value, which the
reader's own validation then refuses). The values are the dialplan's text: each reader decides
what is valid (a queue name, a tag...).

Also here: the channel variables the dialplan, the FastAGI routes and the controller share
(:data:`DIALLED`, :data:`MODE`...), with :func:`var` and :func:`inherited` to spell them in the
dialplan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from .ids import CALL_ID_PLAIN
from .numbers import dialable

# --- channel variables shared by the dialplan, the FastAGI routes and the controller ----------

DIALLED = "HOTLINE_DIALLED"          # the number the caller dialled (inherited)
MODE = "HOTLINE_MODE"                # hotline | merged | parallel | diverted_110 | unknown (inherited)
DEPT = "HOTLINE_DEPT"                # the department of a legacy number (inherited)
QUEUE = "HOTLINE_QUEUE"              # the queue the call joins (inherited)
ORIGIN = "HOTLINE_ORIGIN"            # "110" for calls 110 diverted to 12345 (inherited)
PRIO = "HOTLINE_PRIO"                # the caller's queue priority (inherited)
PRIO_REASON = "HOTLINE_PRIO_REASON"  # why the priority was raised (inherited)
PROMPT = "HOTLINE_PROMPT"            # the notice played before the queue (inherited)
TRUNK = "HOTLINE_TRUNK"              # the trunk endpoint the call came in on (inherited)
CALLER = "HOTLINE_CALLER"            # the caller's number as FastAGI read it
DEPT_DIAL_TO = "HOTLINE_DEPT_DIAL"   # parallel numbers: the department's dial string (a variable; the mark
                                     # of the same name is DEPT_DIAL)
OVERFLOW_REASON = "HOTLINE_OVERFLOW" # parallel numbers: why the department did not take the call (inherited)
# One seat pool over several nodes (hotline/seats/order.py): the caller's place in the one order,
# and per Asterisk queue the best place among the other nodes' callers (a global variable).
SINCE = "HOTLINE_SINCE"              # when the caller first joined a queue: epoch "<s>.<ms>" (inherited)
RANK = "HOTLINE_RANK"                # SINCE less the priority's weight: lower goes first (inherited)
GATE_PREFIX = "HOTLINE_GATE_"        # + queue: "<best rank of the other nodes>/<epoch said>" (global)
HELD_PREFIX = "HOTLINE_HELD_"        # + seat: when an offer of the seat was last held back (global)
# Set by FastAGI's routes (signed, agi_scripts/signature.py), read by the dialplan.
ROUTE_QUEUE = "HOTLINE_ROUTE_QUEUE"
ROUTE_PRIORITY = "HOTLINE_ROUTE_PRIORITY"
ROUTE_PRIORITY_REASON = "HOTLINE_ROUTE_PRIORITY_REASON"
DEPT_OPEN = "HOTLINE_DEPT_OPEN"      # parallel numbers: "0" when the department is closed now
ROUTE_SIG = "HOTLINE_ROUTE_SIG"      # the route's signature, set last
AGI_OK = "HOTLINE_AGI_OK"            # the health route's answer
ROUTE_VARS = (ROUTE_QUEUE, ROUTE_PRIORITY, ROUTE_PRIORITY_REASON, DEPT_OPEN)
# A callback try's channels (set by the dialplan's Originate or the controller's, inherited).
CB_OF = "HOTLINE_CB_OF"              # the call being called back
CB_NUMBER = "HOTLINE_CB_NUMBER"      # the citizen's number
CB_KIND = "HOTLINE_CB_KIND"          # queue_callback | abandoned
CB_RING = "HOTLINE_CB_RING"          # how long the citizen's phone rings
CB_POS = "HOTLINE_CB_POS"            # the placeholder's place in the queue
CB_PRIO = "HOTLINE_CB_PRIO"          # the caller's priority
# A 回访 call's channel (set by the controller's Originate, hotline.ami.actions.revisit_call).
RV_TASK = "HOTLINE_RV_TASK"          # the 回访 task's id
RV_TRY = "HOTLINE_RV_TRY"            # which try of the task (1..tries)
RV_ORDER = "HOTLINE_RV_ORDER"        # the work order's id (read to the caller digit by digit)
# A duty-phone dial test's channel (set by the controller's Originate, hotline.ami.actions.duty_probe_call).
DP_PROBE = "HOTLINE_DP_PROBE"        # the probe's id
DP_TRY = "HOTLINE_DP_TRY"            # which try of the probe (1..tries)


def var(name: str) -> str:
    """A variable's value in a dialplan expression: ``${NAME}``."""
    return f"${{{name}}}"


def inherited(name: str) -> str:
    """The name that makes Set() pass a variable on to every channel the call creates: ``__NAME``."""
    return f"__{name}"


# --- marks ---------------------------------------------------------------------------------------

class _Carrier(Protocol):
    """What a mark is read from: a CEL event (hotline.calls.cel.CelEvent)."""

    @property
    def name(self) -> str: ...
    @property
    def extra(self) -> Mapping[str, Any]: ...
    @property
    def appdata(self) -> str: ...


def _text(value: object) -> str:
    """An event-extra value as text: extras are decoded JSON, so any type can arrive."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def payload_of(event: _Carrier) -> str:
    """The payload of a mark's CEL event: ``extra`` (the CEL log), else what follows the name in
    the application data (``NAME,payload``)."""
    return _text(event.extra.get("extra")) or event.appdata.partition(",")[2]


V = TypeVar("V", bound=tuple[str, ...])
E = TypeVar("E", bound=_Carrier)


@dataclass(frozen=True)
class Mark(Generic[V]):
    """One mark: its name (the CEL event's type) and its fields (a NamedTuple of str)."""

    name: str
    value: type[V]
    doc: str = ""

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.value._fields)  # type: ignore[attr-defined]

    def write(self, expressions: V) -> str:
        """The dialplan application that emits this mark, each field given as a dialplan
        expression (``${HOTLINE_QUEUE}``, a literal...): ``CELGenUserEvent(NAME,a|b|c)``."""
        if not isinstance(expressions, self.value):
            raise TypeError(f"{self.name}: expected {self.value.__name__}, got {type(expressions).__name__}")
        return f"CELGenUserEvent({self.name},{'|'.join(expressions)})"

    def read(self, payload: str) -> V:
        """The fields of a payload (missing ones ``""``, extra ones ignored)."""
        n = len(self.fields)
        parts = [payload] if n == 1 else payload.split("|")[:n]
        return self.value(*parts, *([""] * (n - len(parts))))

    def of(self, event: _Carrier) -> V:
        """The fields of this mark's CEL event."""
        return self.read(payload_of(event))

    def first(self, events: Iterable[E]) -> E | None:
        """The first of ``events`` that is this mark, or None."""
        return next((e for e in events if e.name == self.name), None)


class Arrival(NamedTuple):
    dialled: str
    mode: str
    department: str
    origin: str


class Reason(NamedTuple):
    reason: str


class Prompt(NamedTuple):
    prompt: str


class QueueJoin(NamedTuple):
    queue: str
    priority: str
    priority_reason: str


class Dialled(NamedTuple):
    dialled: str


class Department(NamedTuple):
    department: str


class Target(NamedTuple):
    target: str


class Conference(NamedTuple):
    conference: str


class Status(NamedTuple):
    status: str


class Fallback(NamedTuple):
    action: str
    reason: str
    queue: str
    to: str


class CallbackRequest(NamedTuple):
    number: str
    queue: str
    reason: str


class Message(NamedTuple):
    file: str


class Seat(NamedTuple):
    seat: str


class CallbackHold(NamedTuple):
    call_id: str
    queue: str
    position: str


class CallbackDial(NamedTuple):
    call_id: str
    number: str
    kind: str


class Revisit(NamedTuple):
    task: str
    attempt: str
    order: str


class RevisitKey(NamedTuple):
    key: str
    round: str


class DutyProbe(NamedTuple):
    probe: str
    attempt: str


ARRIVAL = Mark("HOTLINE_ARRIVAL", Arrival, "every inbound flow, after caller-ID is sanitised")
REJECTED = Mark("HOTLINE_REJECTED", Reason, "a dialled number the site refuses (unknown_numbers: reject)")
ROUTING_FALLBACK = Mark("HOTLINE_ROUTING_FALLBACK", Reason,
                        "the routing step went on without FastAGI: timeout|failure|hangup|notfound|unsigned")
PROMPT_PLAYED = Mark("HOTLINE_PROMPT", Prompt, "a notice is played before the queue (its name)")
QUEUE_JOIN = Mark("HOTLINE_QUEUE", QueueJoin, "the caller joins a queue (before issue #3: the queue only)")
WITHDRAWN = Mark("HOTLINE_WITHDRAWN", Dialled, "the call ends after the withdrawal notice")
DEPT_DIAL = Mark("HOTLINE_DEPT_DIAL", Department, "a parallel number rings its department")
OVERFLOW = Mark("HOTLINE_OVERFLOW", Reason, "the department did not answer: the call goes to the 12345 queue")
TRANSFER_DIAL = Mark("HOTLINE_TRANSFER_DIAL", Target, "a transfer or conference target is dialled")
CONF_JOIN = Mark("HOTLINE_CONF_JOIN", Conference, "a channel joins a three-way call's conference")
QUEUE_EXIT = Mark("HOTLINE_QUEUE_EXIT", Status, "Queue() returned: QUEUESTATUS")
FALLBACK = Mark("HOTLINE_FALLBACK", Fallback, "a queue's fallback: action|reason|queue|fallback queue")
CALLBACK_REQUEST = Mark("HOTLINE_CALLBACK_REQUEST", CallbackRequest, "a caller asked to be called back")
VOICE_MESSAGE = Mark("HOTLINE_VOICE_MESSAGE", Message, "the caller records a voice message")
REMOTE_DECLINED = Mark("HOTLINE_REMOTE_DECLINED", Seat, "a seat on an outside number did not take the call")
REMOTE_ACCEPTED = Mark("HOTLINE_REMOTE_ACCEPTED", Seat, "a seat on an outside number took the call")
REQUEUED = Mark("HOTLINE_REQUEUE", Seat, "the seat talking with the caller lost its phone: back to the queue")
CALLBACK_HOLD = Mark("HOTLINE_CALLBACK_HOLD", CallbackHold, "a queue callback's placeholder joins the queue")
CALLBACK_DIAL = Mark("HOTLINE_CALLBACK_DIAL", CallbackDial, "a seat took a callback: the citizen is dialled")
CALLBACK_RESULT = Mark("HOTLINE_CALLBACK_RESULT", Status, "DIALSTATUS of the dial to the citizen")
REVISIT = Mark("HOTLINE_REVISIT", Revisit, "a 回访 call was answered: the survey starts (task|try|order)")
REVISIT_KEY = Mark("HOTLINE_REVISIT_KEY", RevisitKey,
                   "the key pressed in the 回访 survey (empty: none in time) and the round (1, asked again: 2)")
REVISIT_SEAT = Mark("HOTLINE_REVISIT_SEAT", Target, "the 回访 caller pressed 0: to a seat in the named queue")
DUTY_PROBE = Mark("HOTLINE_DUTY_PROBE", DutyProbe,
                  "a duty-phone dial test was answered: the notice (测试来电) is played (probe|try)")

MARKS: tuple[Mark[Any], ...] = (
    ARRIVAL, REJECTED, ROUTING_FALLBACK, PROMPT_PLAYED, QUEUE_JOIN, WITHDRAWN, DEPT_DIAL, OVERFLOW,
    TRANSFER_DIAL, CONF_JOIN, QUEUE_EXIT, FALLBACK, CALLBACK_REQUEST, VOICE_MESSAGE, REMOTE_DECLINED,
    REMOTE_ACCEPTED, CALLBACK_HOLD, CALLBACK_DIAL, CALLBACK_RESULT, REVISIT, REVISIT_KEY, REVISIT_SEAT,
    DUTY_PROBE, REQUEUED)
BY_NAME: dict[str, Mark[Any]] = {m.name: m for m in MARKS}


# --- what the callback marks mean ------------------------------------------------------------

_QUEUE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_REASON = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Request:
    """A callback request as the callback tasks and the record take it."""

    number: str
    queue: str | None
    reason: str


def parse_request(value: CallbackRequest) -> Request | None:
    """HOTLINE_CALLBACK_REQUEST's fields, checked: None when the number is not dialable; a queue
    that is not a queue name is None, a reason that is not a tag ``other``."""
    number, queue, reason = (p.strip() for p in value)
    if not dialable(number):
        return None
    return Request(number, queue if _QUEUE_NAME.fullmatch(queue) else None,
                   reason.lower() if _REASON.fullmatch(reason.lower()) else "other")


# Every channel of a callback try carries the accountcode ``cb-<original call id>`` (the dialplan
# sets it, the controller's Originate too): it ties the try to the call it calls back.
CALLBACK_ACCOUNT_PREFIX = "cb-"
_CALLBACK_ACCOUNT = re.compile(rf"^cb-(?P<call>{CALL_ID_PLAIN})$")


def callback_account(call_id: str) -> str:
    """The accountcode of every channel of a callback try of conversation ``call_id``."""
    account = CALLBACK_ACCOUNT_PREFIX + call_id
    if not _CALLBACK_ACCOUNT.fullmatch(account):
        raise ValueError(f"not a conversation id: {call_id!r}")
    return account


def callback_of(accountcode: str) -> str | None:
    """The call a callback try's accountcode names, or None."""
    m = _CALLBACK_ACCOUNT.fullmatch(accountcode) if accountcode.startswith(CALLBACK_ACCOUNT_PREFIX) else None
    return m.group("call") if m else None


# Every 回访 call's channel carries the accountcode ``rv-<task>-<try>-<number>`` (the controller's
# Originate sets it): the record of the try names its task even when nobody answered (no mark
# is written before the answer), and the number dialled (an originated channel has no dialled
# extension in CEL).
REVISIT_ACCOUNT_PREFIX = "rv-"
_REVISIT_ACCOUNT = re.compile(r"^rv-(?P<task>[0-9]{1,12})-(?P<attempt>[0-9]{1,2})-(?P<number>[0-9]{5,20})$")


@dataclass(frozen=True)
class RevisitTry:
    task: int
    attempt: int
    number: str


def revisit_account(task: int, attempt: int, number: str) -> str:
    """The accountcode of a 回访 try's channel."""
    account = f"{REVISIT_ACCOUNT_PREFIX}{task}-{attempt}-{number}"
    if not _REVISIT_ACCOUNT.fullmatch(account):
        raise ValueError(f"not a 回访 try: task {task!r}, try {attempt!r}, number {number!r}")
    return account


def revisit_of(accountcode: str) -> RevisitTry | None:
    """The 回访 try an accountcode names, or None."""
    m = _REVISIT_ACCOUNT.fullmatch(accountcode) if accountcode.startswith(REVISIT_ACCOUNT_PREFIX) else None
    return RevisitTry(int(m.group("task")), int(m.group("attempt")), m.group("number")) if m else None


# Every duty-phone dial test's channel carries the accountcode ``dp-<probe>-<try>-<number>`` (the
# controller's Originate sets it): the record of the try names its probe even when nobody answered.
DUTY_PROBE_ACCOUNT_PREFIX = "dp-"
_DUTY_PROBE_ACCOUNT = re.compile(r"^dp-(?P<probe>[0-9]{1,12})-(?P<attempt>[0-9]{1,2})-(?P<number>[0-9]{3,20})$")


@dataclass(frozen=True)
class ProbeTry:
    probe: int
    attempt: int
    number: str


def duty_probe_account(probe: int, attempt: int, number: str) -> str:
    """The accountcode of a duty-phone dial test's channel."""
    account = f"{DUTY_PROBE_ACCOUNT_PREFIX}{probe}-{attempt}-{number}"
    if not _DUTY_PROBE_ACCOUNT.fullmatch(account):
        raise ValueError(f"not a duty-phone test: probe {probe!r}, try {attempt!r}, number {number!r}")
    return account


def duty_probe_of(accountcode: str) -> ProbeTry | None:
    """The duty-phone test try an accountcode names, or None."""
    m = _DUTY_PROBE_ACCOUNT.fullmatch(accountcode) if accountcode.startswith(DUTY_PROBE_ACCOUNT_PREFIX) else None
    return ProbeTry(int(m.group("probe")), int(m.group("attempt")), m.group("number")) if m else None
