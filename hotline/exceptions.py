"""Long because: it is the one tree of stable error ids (every class is a few lines; one file keeps
them findable and the ids unique). The exception tree of the hotline core.

Every error a user can meet carries a stable ``error_id`` (kebab-case) that the
HTTP API and the CLI print unchanged, so scripts can match on it::

    HotlineError
    ├── ConfigError            invalid-config      (site config file: path, field, value)
    ├── AsteriskRuntimeError   asterisk-runtime    (install/start/stop of Asterisk)
    │   └── ResourceMissingError resource-missing  (a shipped file, e.g. asterisk/static/cel.conf, not installed)
    ├── StoreError             store-unavailable   (database unreachable)
    ├── StateDirLocked         state-dir-locked    (another controller runs on the state directory)
    ├── NotFound               no-such-<thing>     (404 in the API)
    │   ├── NoSuchCall         no-such-call
    │   ├── NoSuchWorkOrder    no-such-work-order
    │   ├── NoSuchTarget       no-such-target      (not in the transfer directory)
    │   ├── NoSuchSeat         no-such-seat
    │   ├── NoSuchQueue        no-such-queue
    │   ├── NoSuchDeadLetter   no-such-dead-letter (hotline.outbox)
    │   └── NoSuchRecording    no-such-recording   (a call without a recording file; hotline.recordings)
    ├── InvalidRequest         invalid-request     (400 in the API: field and value)
    │   └── MissingOrderField  missing-order-field (400: an order action's required field, named)
    ├── DateOutsideCalendar    date-outside-calendar (422: a year no working-day calendar knows)
    ├── IllegalTransition      illegal-transition  (409: not allowed from the order's state or to this role)
    │   └── OrderClosed        order-closed        (409: any action on a closed order)
    ├── NotYourOrder           not-your-order      (403: a unit user on another unit's order)
    ├── ReasonRequired         reason-required     (403: a confidential call's recording without a stated reason)
    ├── RangeNotSatisfiable    range-not-satisfiable (416 + Content-Range: bytes */size)
    ├── CallNotLive            call-not-live       (409: no live call answered by a seat)
    ├── CallStateConflict      call-state-conflict (409: e.g. no department on the call to drop)
    ├── SeatStateConflict      seat-already-logged-in / seat-not-logged-in / seat-not-paused / seat-busy (409)
    ├── UnknownPauseReason     unknown-pause-reason (422: not in seat_rules.pause_reasons)
    ├── NotConfigured          emergency-route-not-configured (422)
    ├── CallControlUnavailable call-control-unavailable (503: no AMI connection; hotline.ami.port)
    ├── AsteriskActionFailed   asterisk-action-failed   (502: Asterisk refused an action or did not answer)
    ├── AuthRequired           auth-required       (401: no, expired or revoked token)
    ├── BadCredentials         bad-credentials     (401: unknown user or wrong password, one message)
    ├── Forbidden              forbidden           (403: names the role needed)
    ├── TooManyAttempts        too-many-attempts   (429 + Retry-After: user name or address locked out)
    ├── LoginBusy              login-busy          (503 + Retry-After: the password hashing pool is full)
    ├── UnsupportedMediaType   unsupported-media-type (415: a write's body is not application/json)
    ├── BadOrigin              bad-origin          (403: a write's Origin is not the Host it was sent to)
    ├── BadHost                bad-host            (403: Host not allowed without users: DNS rebinding)
    ├── SeatNotOnCall          seat-not-on-call    (409: listen/whisper/barge on a seat with no call)
    ├── NoSupervisorPhone      no-supervisor-phone (409: the supervisor has no phone (users[].seat))
    └── InboundAuthFailed      inbound-auth-failed (401: an order system's change without its token or HMAC)
"""

from __future__ import annotations

from typing import Any


class HotlineError(Exception):
    error_id = "hotline-error"
    http_status = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error_id": self.error_id, "message": self.message, "details": self.details}

    def headers(self) -> dict[str, str]:
        """HTTP headers the API sends with the error (``Retry-After``)."""
        return {}


class ConfigError(HotlineError):
    """A site config that cannot be used. ``problems`` lists every (path, message, value)."""

    error_id = "invalid-config"
    http_status = 400

    def __init__(self, file: str, problems: list[tuple[str, str, Any]]) -> None:
        self.file = file
        self.problems = problems
        lines = [f"{file}: {len(problems)} problem(s) in the site config"]
        for path, msg, value in problems:
            lines.append(f"  {path or '<root>'}: {msg} (value: {value!r})")
        super().__init__("\n".join(lines), file=file,
                         problems=[{"field": p, "message": m, "value": repr(v)} for p, m, v in problems])


class AsteriskRuntimeError(HotlineError):
    error_id = "asterisk-runtime"


class ResourceMissingError(AsteriskRuntimeError):
    error_id = "resource-missing"


class EdgeRuntimeError(HotlineError):
    """The SIP edge (Kamailio, hotline/edge_runtime.py) cannot be configured, started or asked."""

    error_id = "edge-runtime"


class StoreError(HotlineError):
    error_id = "store-unavailable"
    http_status = 503


class StateDirLocked(HotlineError):
    """A second controller on one state directory would truncate the first one's journal."""

    error_id = "state-dir-locked"

    def __init__(self, state_dir: str, pid: str) -> None:
        super().__init__(f"state directory {state_dir} is in use by another controller (pid {pid or 'unknown'}); "
                         "stop it first or give this one its own --state-dir", state_dir=state_dir, pid=pid)


class NotFound(HotlineError):
    error_id = "not-found"
    http_status = 404


class NoSuchCall(NotFound):
    error_id = "no-such-call"

    def __init__(self, call_id: str) -> None:
        super().__init__(f"no call record with id {call_id!r}", call_id=call_id)


class NoSuchWorkOrder(NotFound):
    error_id = "no-such-work-order"

    def __init__(self, work_order_id: str) -> None:
        super().__init__(f"no work order with id {work_order_id!r}", work_order_id=work_order_id)


class InvalidRequest(HotlineError):
    error_id = "invalid-request"
    http_status = 400

    def __init__(self, field: str, message: str, value: Any = None) -> None:
        super().__init__(f"{field}: {message}", field=field, value=repr(value) if value is not None else None)


class NoSuchTarget(NotFound):
    """A transfer or three-way target that is not in the site's directory."""

    error_id = "no-such-target"

    def __init__(self, target: str, field: str = "target") -> None:
        super().__init__(f"{field}: {target!r} is not a number of the transfer directory (parallel and "
                         "convenience numbers, department phones, emergency routes)", field=field, target=target)


class CallNotLive(HotlineError):
    error_id = "call-not-live"
    http_status = 409

    def __init__(self, call_id: str, reason: str) -> None:
        super().__init__(f"call {call_id!r} {reason}", call_id=call_id, reason=reason)


class CallStateConflict(HotlineError):
    error_id = "call-state-conflict"
    http_status = 409

    def __init__(self, call_id: str, reason: str) -> None:
        super().__init__(f"call {call_id!r}: {reason}", call_id=call_id, reason=reason)


class NotConfigured(HotlineError):
    """An emergency service (110/119/120/12395) without an emergency route in the site config."""

    error_id = "emergency-route-not-configured"
    http_status = 422

    def __init__(self, service: str, field: str = "target") -> None:
        super().__init__(f"{field}: no emergency route is configured for {service!r} (site config: emergency)",
                         field=field, service=service)


class CallControlUnavailable(HotlineError):
    error_id = "call-control-unavailable"
    http_status = 503

    def __init__(self, reason: str) -> None:
        super().__init__(f"call control is unavailable: {reason}", reason=reason)


class AsteriskActionFailed(HotlineError):
    error_id = "asterisk-action-failed"
    http_status = 502

    def __init__(self, action: str, message: str, **details: object) -> None:
        super().__init__(f"Asterisk refused {action}: {message}", action=action, asterisk_message=message,
                         **details)


class AuthRequired(HotlineError):
    error_id = "auth-required"
    http_status = 401

    def __init__(self, reason: str) -> None:
        super().__init__(f"authentication required: {reason}")


class BadCredentials(HotlineError):
    """One message for an unknown user and a wrong password: the answer tells nothing."""

    error_id = "bad-credentials"
    http_status = 401

    def __init__(self) -> None:
        super().__init__("unknown user or wrong password")
        self.locked: list[str] = []   # what this failure locked out (the login throttle)


class Forbidden(HotlineError):
    error_id = "forbidden"
    http_status = 403

    def __init__(self, message: str, *, needed: str, role: str, **details: object) -> None:
        super().__init__(message, needed=needed, role=role, **details)


class NotYourCall(HotlineError):
    """A seat user asked to transfer, conference, drop a party of or emergency-transfer a call
    its seat is not on."""

    error_id = "not-your-call"
    http_status = 403

    def __init__(self, call_id: str, seat: str | None, seats_on_call: list[str]) -> None:
        super().__init__(f"call {call_id!r} is not on your seat ({seat!r}); a seat acts on its own calls only, "
                         "other calls need the role 'supervisor'", call_id=call_id, seat=seat,
                         seats_on_call=seats_on_call, needed="supervisor")


class SeatNotOnCall(HotlineError):
    error_id = "seat-not-on-call"
    http_status = 409

    def __init__(self, seat_id: str) -> None:
        super().__init__(f"seat {seat_id!r} has no live channel to listen to", seat_id=seat_id)


class NoSupervisorPhone(HotlineError):
    error_id = "no-supervisor-phone"
    http_status = 409

    def __init__(self, user: str | None) -> None:
        super().__init__(f"user {user!r} has no phone to ring: set users[].seat in the site config", user=user)


class NoSuchSeat(NotFound):
    error_id = "no-such-seat"

    def __init__(self, seat_id: str, *, field: str = "seat_id") -> None:
        """``field``: where the request named the seat (a path's ``seat_id``, a body's ``seat``)."""
        super().__init__(f"{field}: no seat {seat_id!r} in the site config", field=field, seat_id=seat_id)


class NoSuchQueue(NotFound):
    error_id = "no-such-queue"

    def __init__(self, queue: str, field: str = "queue") -> None:
        super().__init__(f"{field}: no queue {queue!r} in the site config", field=field, queue=queue)


class SeatStateConflict(HotlineError):
    """A seat command that does not fit the seat's state; ``error_id`` is the state machine's
    (seat-already-logged-in, seat-not-logged-in, seat-not-paused, seat-busy). Nothing changed."""

    http_status = 409

    def __init__(self, error_id: str, message: str, seat_id: str, state: str) -> None:
        super().__init__(message, seat_id=seat_id, state=state)
        self.error_id = error_id


class UnknownPauseReason(HotlineError):
    error_id = "unknown-pause-reason"
    http_status = 422

    def __init__(self, reason: str, configured: list[str]) -> None:
        super().__init__(f"reason: {reason!r} is not a configured pause reason (configured: {', '.join(configured)})",
                         field="reason", value=reason, configured=configured)


class TooManyAttempts(HotlineError):
    """Too many failed logins for a user name or from an address: locked for ``retry_after`` s."""

    error_id = "too-many-attempts"
    http_status = 429

    def __init__(self, locked: str, retry_after: int) -> None:
        super().__init__(f"too many failed logins for this {locked}: try again in {retry_after} s",
                         locked=locked, retry_after=retry_after)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class LoginBusy(HotlineError):
    error_id = "login-busy"
    http_status = 503

    def __init__(self, limit: int) -> None:
        super().__init__(f"too many logins in progress (at most {limit}): try again in a second", limit=limit)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


class UnsupportedMediaType(HotlineError):
    error_id = "unsupported-media-type"
    http_status = 415

    def __init__(self, content_type: str) -> None:
        super().__init__(f"Content-Type: a request body must be application/json, not {content_type!r}",
                         field="Content-Type", value=content_type)


class BadOrigin(HotlineError):
    error_id = "bad-origin"
    http_status = 403

    def __init__(self, origin: str, host: str) -> None:
        super().__init__(f"Origin: {origin!r} is not this server ({host!r}): cross-site writes are refused",
                         field="Origin", value=origin, host=host)


class BadHost(HotlineError):
    error_id = "bad-host"
    http_status = 403

    def __init__(self, host: str) -> None:
        super().__init__(f"Host: {host!r} is not a name of this server (no users are configured, so only "
                         "localhost, the bind address, IP addresses and api.allowed_hosts are served)",
                         field="Host", value=host)  # the header as sent


# --- the work-order loop (hotline.work_orders.lifecycle) ---------------------------------------


class DateOutsideCalendar(HotlineError):
    """A deadline that needs a day of a year neither chinesecalendar nor ``orders.calendar`` knows."""

    error_id = "date-outside-calendar"
    http_status = 422

    def __init__(self, day: object, known: str) -> None:
        super().__init__(f"{day}: no working-day calendar for this year (known: {known}); add the year to "
                         "orders.calendar in the site config or upgrade chinesecalendar", day=str(day), known=known)


class IllegalTransition(HotlineError):
    """An action the lifecycle table does not allow from the order's state (or to this role)."""

    error_id = "illegal-transition"
    http_status = 409

    def __init__(self, order_id: str, action: str, state: str, reason: str = "") -> None:
        why = f": {reason}" if reason else ""
        super().__init__(f"work order {order_id!r} is {state}: {action} is not allowed{why}",
                         order_id=order_id, action=action, state=state)


class OrderClosed(IllegalTransition):
    """Any action (an extension request, say) on a closed order."""

    error_id = "order-closed"


class NotYourOrder(HotlineError):
    """A unit user acting on (or reading) an order its unit does not hold."""

    error_id = "not-your-order"
    http_status = 403

    def __init__(self, order_id: str, unit: str | None) -> None:
        super().__init__(f"work order {order_id!r} is not with unit {unit!r}", order_id=order_id, unit=unit)


class MissingOrderField(InvalidRequest):
    """A field an action requires (the four return fields, a reason, an approval) is missing or empty."""

    error_id = "missing-order-field"

    def __init__(self, action: str, field: str) -> None:
        super().__init__(field, f"{action} requires {field}")


class NoSuchDeadLetter(NotFound):
    """hotline.outbox: no dead-letter delivery with this id (delivered, pending, discarded or never)."""

    error_id = "no-such-dead-letter"

    def __init__(self, delivery_id: object) -> None:
        super().__init__(f"no dead letter with id {delivery_id!r}", delivery_id=str(delivery_id))


class InboundAuthFailed(HotlineError):
    """hotline.outbox inbound: an unknown system, or no valid token or HMAC (one message for all)."""

    error_id = "inbound-auth-failed"
    http_status = 401

    def __init__(self) -> None:
        super().__init__("unknown system, or no valid token (Authorization: Bearer) or signature "
                         "(X-Hotline-Signature: sha256=<hex>)")


# --- recordings (hotline.recordings) ----------------------------------------------------------


class NoSuchRecording(NotFound):
    """A known call with no recording: never answered, or its file is gone (retention, disk)."""

    error_id = "no-such-recording"

    def __init__(self, call_id: str, reason: str) -> None:
        super().__init__(f"call {call_id!r} has no recording: {reason}", call_id=call_id, reason=reason)


class ReasonRequired(HotlineError):
    """The recording of a confidential call asked for without a reason (``?reason=`` or ``X-Hotline-Reason``)."""

    error_id = "reason-required"
    http_status = 403

    def __init__(self, call_id: str) -> None:
        super().__init__(f"call {call_id!r} is confidential: its recording needs a stated reason (?reason= or the "
                         "X-Hotline-Reason header)", call_id=call_id, field="reason", needed="supervisor")


class RangeNotSatisfiable(HotlineError):
    """A ``Range`` that starts past the end of the file (or an empty suffix): nothing is sent."""

    error_id = "range-not-satisfiable"
    http_status = 416

    def __init__(self, value: str, size: int) -> None:
        super().__init__(f"Range: {value!r} is outside the recording ({size} bytes)", field="Range", value=value,
                         size=size)
        self.size = size

    def headers(self) -> dict[str, str]:
        return {"Content-Range": f"bytes */{self.size}"}
