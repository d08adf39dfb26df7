"""Who may call what: the one table of minimum roles per route, and the own-seat rule.

Keys are ``(method, canonical path)`` as aiohttp names the matched resource
(``/api/seats/{seat_id}/pause``). A route under ``/api/`` that is not listed needs ``admin``
(closed by default), so a new route is never open by accident. ``PUBLIC`` routes need no token.
A ``seat`` user may act only on its own seat: any route with a ``{seat_id}`` checks it, and the
routes of ``BODY_SEAT_FIELD`` check the seat their body names. On a live call (``CALL_ACTIONS``)
a seat user acts only when the call is on its own seat (``not-your-call``); every call-control
action is audited, by seats too. A ``department`` user (below seat) reads work orders only. A
``unit`` user (the lowest) reaches only routes that check its unit (``users[].unit``) on each order.
Which caller numbers a role sees in full: :func:`hotline.privacy.sees_full`.
"""

from __future__ import annotations

from hotline.config.site import Role

RANK = {Role.unit: -2, Role.department: -1, Role.seat: 0, Role.supervisor: 1, Role.admin: 2}

PUBLIC: frozenset[tuple[str, str]] = frozenset({
    ("POST", "/api/login"),
    ("POST", "/api/integration/{system}/changes"),   # an order system: its own token or HMAC (hotline.outbox)
})

U, D, S, V, A = Role.unit, Role.department, Role.seat, Role.supervisor, Role.admin
MIN_ROLE: dict[tuple[str, str], Role] = {
    # the session: everyone (a unit user is the lowest: it reaches only the routes that check its unit)
    ("POST", "/api/logout"): U,
    ("GET", "/api/me"): U,
    # calls and work orders: what a seat client needs during a call
    ("GET", "/api/calls"): S,
    ("GET", "/api/calls/live"): S,
    ("GET", "/api/calls/{call_id}"): S,
    ("GET", "/api/calls/{call_id}/work-orders"): S,
    ("GET", "/api/calls/{call_id}/recording"): S,   # a seat: the calls it answered (hotline.recordings)
    ("POST", "/api/calls/{call_id}/transfer"): S,
    ("POST", "/api/calls/{call_id}/conference"): S,
    ("DELETE", "/api/calls/{call_id}/conference/{party}"): S,
    ("POST", "/api/calls/{call_id}/emergency"): S,
    ("GET", "/api/transfer-targets"): S,
    ("POST", "/api/work-orders"): S,
    ("GET", "/api/work-orders/{work_order_id}"): D,   # a department reads work orders, nothing else
    ("PATCH", "/api/work-orders/{work_order_id}"): S,  # 不需回访 recorded after filing
    # the work-order lifecycle (hotline.work_orders.lifecycle: the table decides who takes which
    # action; these are its lowest roles, checked against it by test_order_api)
    ("GET", "/api/work-orders"): U,                             # a unit: its own orders only
    ("POST", "/api/work-orders/{work_order_id}/start"): S,
    ("GET", "/api/work-orders/{work_order_id}/lifecycle"): U,   # a unit: its own orders only
    ("POST", "/api/work-orders/{work_order_id}/answer"): S,
    ("POST", "/api/work-orders/{work_order_id}/reject"): S,
    ("POST", "/api/work-orders/{work_order_id}/dispatch"): S,
    ("POST", "/api/work-orders/{work_order_id}/sign"): U,
    ("POST", "/api/work-orders/{work_order_id}/return"): U,
    ("POST", "/api/work-orders/{work_order_id}/redispatch"): S,
    ("POST", "/api/work-orders/{work_order_id}/request-extension"): U,
    ("POST", "/api/work-orders/{work_order_id}/approve-extension"): V,
    ("POST", "/api/work-orders/{work_order_id}/refuse-extension"): V,
    ("POST", "/api/work-orders/{work_order_id}/reply"): U,
    ("POST", "/api/work-orders/{work_order_id}/send-back"): V,
    ("POST", "/api/work-orders/{work_order_id}/verify"): S,
    ("POST", "/api/work-orders/{work_order_id}/evaluate"): S,
    ("POST", "/api/work-orders/{work_order_id}/supervise"): V,
    ("POST", "/api/work-orders/{work_order_id}/contribute"): U,   # a 协办 unit only
    ("GET", "/api/order-kpis"): V,
    ("GET", "/api/order-reports"): V,
    ("GET", "/api/directory"): S,
    ("GET", "/api/directory/{number}"): S,
    # seats: a seat user on its own seat, a supervisor on any
    ("GET", "/api/seats"): V,
    ("GET", "/api/seats/{seat_id}"): S,
    ("POST", "/api/seats/{seat_id}/login"): S,
    ("POST", "/api/seats/{seat_id}/logout"): S,
    ("POST", "/api/seats/{seat_id}/pause"): S,
    ("POST", "/api/seats/{seat_id}/unpause"): S,
    ("GET", "/api/seats/{seat_id}/phone"): S,   # the console's browser phone: its own SIP secret
    ("POST", "/api/seats/{seat_id}/spy"): V,
    ("GET", "/api/seats/{seat_id}/pop"): S,   # the seat's screen pop (hotline.pop): its own seat only
    ("GET", "/api/seats/{seat_id}/pop/events"): S,   # its changes (SSE): when to read the pop
    ("GET", "/api/queues"): S,
    ("GET", "/api/queues/{queue}"): S,
    # the floor
    ("GET", "/api/live/stream"): V,
    ("GET", "/api/live"): V,
    ("GET", "/api/metrics"): V,
    ("GET", "/api/reconciliation"): V,
    ("GET", "/api/audit"): V,
    # callbacks (hotline.callbacks): seats see and take them
    ("GET", "/api/abandoned"): S,
    ("GET", "/api/callbacks"): S,
    ("POST", "/api/callbacks"): S,
    ("GET", "/api/callbacks/{callback_id}"): S,
    ("POST", "/api/callbacks/{callback_id}/take"): S,
    # 回访 calls (hotline.revisits): seats see tasks, rate by hand, give a number, record a refusal
    ("GET", "/api/revisits"): S,
    ("GET", "/api/revisits/{revisit_id}"): S,
    ("POST", "/api/revisits/{revisit_id}/rating"): S,
    ("POST", "/api/revisits/{revisit_id}/number"): S,
    ("POST", "/api/revisits/{revisit_id}/claim"): S,
    ("POST", "/api/revisits/{revisit_id}/release"): S,
    ("GET", "/api/revisit-refusals"): V,
    ("POST", "/api/revisit-refusals"): S,
    # duty-phone tests (hotline.duty_probes): supervisors, and a unit user its own unit (the route answers
    # not-your-unit to another unit's, a seat's or a department's read)
    ("GET", "/api/duty-probes"): U,
    # the monthly unit score (hotline.unit_scores): supervisors all units, a unit user its own
    # (checked by the handler; seats and departments: forbidden); supervisors enter the inputs
    ("GET", "/api/unit-scores"): U,
    ("GET", "/api/unit-scores/{unit}"): U,
    ("GET", "/api/unit-scores/{unit}/report.xlsx"): U,
    ("GET", "/api/unit-scores/{unit}/report.pdf"): U,
    ("POST", "/api/unit-scores/{unit}/knowledge-base"): V,
    ("POST", "/api/unit-scores/{unit}/exemptions"): V,
    ("POST", "/api/unit-scores/{unit}/attendance"): V,
    ("GET", "/api/hotspots"): V,                        # 热点预警 (hotline.hotspots)
    ("POST", "/api/hotspots/{alert_id}/ack"): V,
    # the knowledge base (hotline.knowledge): seats, units and supervisors read and search (a department
    # user: knowledge-read-forbidden); a unit user writes its own unit's entries, supervisors any
    # (checked by the handler: not-your-unit); supervisors list the stale ones; seats link an answer to an order
    ("GET", "/api/knowledge"): U,
    ("POST", "/api/knowledge/search"): U,
    ("GET", "/api/knowledge/{entry_id}"): U,
    ("POST", "/api/knowledge"): U,
    ("PUT", "/api/knowledge/{entry_id}"): U,
    ("DELETE", "/api/knowledge/{entry_id}"): U,
    ("GET", "/api/knowledge/stale"): V,
    ("POST", "/api/work-orders/{work_order_id}/knowledge"): S,
    # the order system (hotline.outbox): its dead letters and what it pushed back
    ("GET", "/api/outbox/dead-letters"): V,
    ("POST", "/api/outbox/dead-letters/{delivery_id}/retry"): V,
    ("DELETE", "/api/outbox/dead-letters/{delivery_id}"): V,
    ("GET", "/api/integration/changes"): V,
}

# Routes that name a seat in their JSON body rather than in the path: a seat user may name only
# its own seat there (a seat takes a callback for itself, files a work order as itself).
BODY_SEAT_FIELD: dict[tuple[str, str], str] = {
    ("POST", "/api/callbacks/{callback_id}/take"): "seat",
    ("POST", "/api/work-orders"): "created_by",
}
del U, D, S, V, A

# Call control: a seat user only on a call its seat is on (checked by the handler, which knows
# the live call); supervisors and admins on any. Every one of them is audited, whoever asks.
CALL_ACTIONS: frozenset[tuple[str, str]] = frozenset({
    ("POST", "/api/calls/{call_id}/transfer"),
    ("POST", "/api/calls/{call_id}/conference"),
    ("DELETE", "/api/calls/{call_id}/conference/{party}"),
    ("POST", "/api/calls/{call_id}/emergency"),
})

DEFAULT_ROLE = Role.admin


def needs_token(method: str, path: str) -> bool:
    """Whether ``method path`` asks for a token when users are configured: routes under ``/api/``
    except the ``PUBLIC`` ones (``/status``, ``/openapi.json``, ``/metrics``, the wallboard page stay open)."""
    return path.startswith("/api/") and ("GET" if method == "HEAD" else method, path) not in PUBLIC


def required_role(method: str, path: str) -> Role:
    """The lowest role that may call ``method path`` (HEAD counts as GET)."""
    method = "GET" if method == "HEAD" else method
    return MIN_ROLE.get((method, path), DEFAULT_ROLE)


def allows(role: Role, needed: Role) -> bool:
    return RANK[role] >= RANK[needed]


def may_act_on_call(role: Role, own_seat: str | None, seats_on_call: set[str]) -> bool:
    """A seat user acts on a call its seat is on; supervisors and admins on any."""
    if role in (Role.supervisor, Role.admin):
        return True
    return role == Role.seat and own_seat is not None and own_seat in seats_on_call


def may_act_on_seat(role: Role, own_seat: str | None, seat_id: str) -> bool:
    """A seat user acts on its own seat only; supervisors and admins on any; a department on none."""
    return role in (Role.supervisor, Role.admin) or (role == Role.seat and own_seat == seat_id)
