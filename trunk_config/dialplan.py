"""extensions.conf: a context per inbound number, one shared inbound flow.

The flow is fail-open: the FastAGI server only refines the route; when it does
not answer, the call still joins the queue the site config names for the number.
The dialled number, its mode and department are set as inherited channel
variables (``__HOTLINE_*``) so they stay on every leg of the conversation.
Caller-controlled values are filtered before any application sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from agi_scripts.signature import NONCE_PARAM, ROUTE_VARS, SIGNATURE_VAR, dialplan_signature
from hotline.config.site import LegacyNumber, NumberMode, SiteConfig
from hotline.spine.ids import dialplan_filter, dialplan_pattern
from ivr.moh import MOH_CLASS
from queue_manager.membership import OWN_MAX, member_interface, memberships, state_interface

from . import callback
from .conf import HEADER, safe
from .pjsip import DEPT_CONTEXT, SEAT_CONTEXT, trunk_context
from .spy import spy_context

INBOUND = "hotline-inbound"
UNKNOWN = "hotline-unknown"
ARRIVE = "hotline-arrive"
PARALLEL = "hotline-parallel"
ROUTE = "hotline-route"
TRANSFER = "hotline-transfer"
CONFERENCE = "hotline-conf"
REJOIN = f"{INBOUND},s,join"
QUEUE_EXIT = "hotline-queue-exit"
# QUEUESTATUS values after which the queue's fallback applies: max_wait, and the no-seat rule.
FALLBACK_STATUSES = {"TIMEOUT": "timeout", "JOINEMPTY": "no_seat", "LEAVEEMPTY": "no_seat",
                     "JOINUNAVAIL": "no_seat", "LEAVEUNAVAIL": "no_seat"}
HOLD_BEFORE_REJOIN_S = 20   # a caller sent back to a queue nobody serves hears music this long first


def fallback_context(queue: str) -> str:
    return f"hotline-fallback-{queue}"


@dataclass(frozen=True)
class DialplanOptions:
    agi_url: str | None    # agi://host:port; None for a static dialplan without the controller
    recordings_dir: str    # as Asterisk sees it
    sounds_dir: str = "/usr/share/asterisk/sounds/hotline"   # generated prompts, as Asterisk sees it
    agi_key: str = ""      # FastAGI signs its routes with it (agi_scripts/routes.py: route_signature)


def number_context(number: str) -> str:
    return f"hotline-in-{number.lstrip('+')}"


class _Ctx:
    def __init__(self, lines: list[str], name: str, comment: str | None = None) -> None:
        self.lines = lines
        lines.append("")
        if comment:
            lines.append(f"; {safe(comment)}")
        lines.append(f"[{safe(name)}]")

    def exten(self, ext: str, *steps: str) -> "_Ctx":
        first, *rest = steps
        self.lines.append(f"exten => {safe(ext)},1,{safe(first)}")
        for step in rest:
            label = ""
            if step.startswith("("):  # "(name)App()" gives the priority a label
                label, step = step[:step.index(")") + 1], step[step.index(")") + 1:]
            self.lines.append(f" same => n{safe(label)},{safe(step)}")
        return self


def transfer_targets(site: SiteConfig) -> dict[str, str]:
    """Every number a seat may transfer or conference a caller to, with its dial string.

    Emergency routes, department duty phones and registered department phones, and the
    directory's parallel and convenience numbers. Nothing else is dialable from the platform."""
    trunk = f"trunk-{site.trunks[0].name}"
    out: dict[str, str] = {}
    for n in site.legacy_numbers:
        if n.mode in (NumberMode.parallel, NumberMode.convenience):
            out[n.number] = f"PJSIP/{n.target or n.number}@{trunk}"
    for d in site.departments:
        if d.duty_phone:
            out[d.duty_phone] = f"PJSIP/{d.duty_phone}@{trunk}"
        if d.phone_secret:
            out[f"dept-{d.id}"] = f"PJSIP/dept-{d.id}"
    for e in site.emergency:
        out[e.number] = f"PJSIP/{e.dial or e.number}@trunk-{e.trunk}"
    return out


def department_dial(site: SiteConfig, n: LegacyNumber) -> str:
    """Where a parallel number rings first: the department's registered phone, else its line via a trunk."""
    dept = site.department(n.department)
    if dept is not None and dept.phone_secret:
        return f"PJSIP/dept-{dept.id}"
    return f"PJSIP/{n.target or n.number}@trunk-{site.trunks[0].name}"


def _ymd(d: date) -> str:
    return d.strftime("%Y%m%d")


def _entry(lines: list[str], number: str, mode: str, dept: str, queue: str, comment: str,
           then: list[str]) -> None:
    _Ctx(lines, number_context(number), comment).exten(
        "s",
        f"Set(__HOTLINE_DIALLED={number})",
        f"Set(__HOTLINE_MODE={mode})",
        f"Set(__HOTLINE_DEPT={dept})",
        f"Set(__HOTLINE_QUEUE={queue})",
        *then,
    )


def _merged_steps(n: LegacyNumber) -> list[str]:
    """双号并存: the transition prompt inside the window; after it, keep or withdraw the number."""
    t = n.transition
    if t is None:
        return [f"Goto({INBOUND},s,1)"]
    steps = ["Set(TODAY=${STRFTIME(${EPOCH},${HOTLINE_TZ},%Y%m%d)})"]
    if t.end and t.after != "keep":
        steps.append(f"GotoIf($[${{TODAY}} > {_ymd(t.end)}]?withdrawn)")
    if t.prompt:
        window = []
        if t.start:
            window.append(f"${{TODAY}} >= {_ymd(t.start)}")
        if t.end:
            window.append(f"${{TODAY}} <= {_ymd(t.end)}")
        cond = " & ".join(window) if window else "1"
        steps.append(f"ExecIf($[{cond}]?Set(__HOTLINE_PROMPT=merged-notice))")
    steps.append(f"Goto({INBOUND},s,1)")
    if t.end and t.after != "keep":
        steps.append("(withdrawn)Set(__HOTLINE_PROMPT=withdrawn-notice)")
        if t.after == "notice_then_end":
            steps.append("Set(__HOTLINE_END_AFTER_PROMPT=1)")
        steps.append(f"Goto({INBOUND},s,1)")
    return steps


def render(site: SiteConfig, options: DialplanOptions) -> str:
    lines: list[str] = [HEADER.rstrip("\n")]
    lines += ["", "[general]", "static = yes", "writeprotect = yes", "clearglobalvars = yes",
              "", "[globals]",
              f"HOTLINE_AGI = {safe(options.agi_url or '')}",
              *([f"HOTLINE_AGI_BOUND = {site.asterisk.fastagi.timeout_ms / 1000:.3f}",
                 f"HOTLINE_AGI_KEY = {safe(options.agi_key)}"] if options.agi_url else []),
              f"HOTLINE_REC_DIR = {safe(options.recordings_dir)}",
              f"HOTLINE_SOUNDS = {safe(options.sounds_dir)}",
              f"HOTLINE_TZ = {safe(site.site.timezone)}",
              f"HOTLINE_DEFAULT_QUEUE = {site.site.default_queue}"]
    # A queue without max_wait (or without a fallback to go to) keeps callers until a seat
    # answers (7x24 human service).
    lines += [f"HOTLINE_MAXWAIT_{q.name} = {q.max_wait}" for q in site.queues if q.max_wait and q.fallback]
    # Queue() options: t (seats may transfer), r (ringback instead of music while waiting).
    lines += [f"HOTLINE_QOPTS_{q.name} = {'tr' if q.waiting == 'ringback' else 't'}" for q in site.queues]
    # Queues with overflow steps ring their own seats first; the queue rule raises the limit.
    lines += [f"HOTLINE_MAXPEN_{q.name} = {OWN_MAX}" for q in site.queues if q.overflow]

    default = site.site.default_queue
    entries: list[tuple[str, str, str, str, str, list[str]]] = [
        (site.site.hotline_number, "hotline", "", default, "the hotline number", [f"Goto({INBOUND},s,1)"])]
    for n in site.legacy_numbers:
        queue = site.queue_for(n.number)
        if n.mode == NumberMode.merged:
            entries.append((n.number, "merged", n.department, queue, f"merged number of {n.department}",
                            _merged_steps(n)))
        elif n.mode == NumberMode.parallel:
            entries.append((n.number, "parallel", n.department, queue, f"parallel number of {n.department}",
                            [f"Set(HOTLINE_DEPT_DIAL={department_dial(site, n)})",
                             f"Set(HOTLINE_RING={n.ring_seconds})", f"Goto({PARALLEL},s,1)"]))
    for number in site.diversion_110.numbers:
        entries.append((number, "diverted_110", "", default, "non-police calls diverted from 110",
                        ["Set(__HOTLINE_ORIGIN=110)", f"Set(__HOTLINE_PRIO={site.diversion_110.priority})",
                         f"Goto({INBOUND},s,1)"]))

    for trunk in site.trunks:
        ctx = _Ctx(lines, trunk_context(trunk), f"calls arriving on trunk {trunk.name}")
        for number, *_ in entries:
            for prefix in ["", *trunk.did_prefixes]:
                ctx.exten(f"{prefix}{number.lstrip('+') if prefix else number}",
                          f"Goto({number_context(number)},s,1)")
        # A number the site does not know: the caller still reaches the hotline (or is refused).
        ctx.exten("_[+0-9].", f"Goto({UNKNOWN},s,1)")
        ctx.exten("i", f"Goto({UNKNOWN},s,1)")

    for number, mode, dept, queue, comment, then in entries:
        _entry(lines, number, mode, dept, queue, comment, then)

    unknown = _Ctx(lines, UNKNOWN, "a dialled number not in the site config")
    if site.site.unknown_numbers == "hotline":
        unknown.exten("s", f"Set(__HOTLINE_DIALLED=${{FILTER(0123456789+,${{CALLERID(DNID)}})}})",
                      "Set(__HOTLINE_MODE=unknown)", "Set(__HOTLINE_DEPT=)",
                      f"Set(__HOTLINE_QUEUE={default})", f"Goto({INBOUND},s,1)")
    else:
        unknown.exten("s", "Set(__HOTLINE_MODE=unknown)", "CELGenUserEvent(HOTLINE_REJECTED,unknown)",
                      "Hangup(1)")

    # Arrival, shared by every inbound flow: sanitise caller-ID before anything else reads it.
    _Ctx(lines, ARRIVE, "sanitise caller-ID, mark the arrival (Gosub)").exten(
        "s",
        "Set(CALLERID(num)=${FILTER(0123456789+,${CALLERID(num)})})",
        "Set(CALLERID(name)=${FILTER(0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,"
        "${CALLERID(name)})})",
        "ExecIf($[\"${CALLERID(num)}\" = \"\"]?Set(CALLERID(num)=anonymous))",
        "Set(__HOTLINE_TRUNK=${CHANNEL(endpoint)})",
        "CELGenUserEvent(HOTLINE_ARRIVAL,${HOTLINE_DIALLED}|${HOTLINE_MODE}|${HOTLINE_DEPT}|${HOTLINE_ORIGIN})",
        "Return()",
    )

    if options.agi_url:
        # The routing step, bounded whatever the FastAGI server does (refuses, is stopped, never
        # answers, or its port was taken by another process): an absolute timeout around AGI()
        # ends it after HOTLINE_AGI_BOUND s, the T extension takes the channel back (Asterisk clears
        # the timeout's soft hang-up there) and AGIEXITONHANGUP makes res_agi let go at once instead
        # of waiting for the server to close. HOTLINE_ROUTED=1 only when the server answered; every
        # fall-back is marked on the record (HOTLINE_ROUTING_FALLBACK timeout|failure|hangup|notfound).
        _Ctx(lines, ROUTE, "the routing step, bounded: HOTLINE_ROUTED=1 when FastAGI answered (Gosub)").exten(
            "s",
            "Set(HOTLINE_ROUTED=0)",
            "Set(AGIEXITONHANGUP=yes)",
            # Signed routes (agi_scripts/signature.py): a fresh nonce, no variable left from before.
            "Set(HOTLINE_AGI_NONCE=${CHANNEL(uniqueid)}-${RAND(0,2147483647)})",
            f"MSet({','.join(f'{name}=' for name in (*ROUTE_VARS, SIGNATURE_VAR))})",
            "Set(TIMEOUT(absolute)=${HOTLINE_AGI_BOUND})",
            f"AGI(${{ARG1}}&{NONCE_PARAM}=${{HOTLINE_AGI_NONCE}})",
            "Set(TIMEOUT(absolute)=0)",
            "GotoIf($[\"${AGISTATUS}\" = \"SUCCESS\"]?check)",
            "CELGenUserEvent(HOTLINE_ROUTING_FALLBACK,${TOLOWER(${AGISTATUS})})",
            "Return()",
            # FILTER: the answer is the other side's; unfiltered, a quote in it would rewrite the test.
            f"(check)GotoIf($[\"${{FILTER(0123456789abcdef,${{{SIGNATURE_VAR}}})}}\" = \"{dialplan_signature()}\"]?ok)",
            f"MSet({','.join(f'{name}=' for name in ROUTE_VARS)})",   # not ours: none of it is used
            "CELGenUserEvent(HOTLINE_ROUTING_FALLBACK,unsigned)",
            "Return()",
            "(ok)Set(HOTLINE_ROUTED=1)",
            "Return()",
        ).exten("T", "CELGenUserEvent(HOTLINE_ROUTING_FALLBACK,timeout)", "Return()")

    # The shared inbound flow: no IVR menu in front of the seats (GB/T 33358).
    routing = [
        f"Gosub({ROUTE},s,1(${{HOTLINE_AGI}}/inbound?dialled=${{HOTLINE_DIALLED}}))",
        "Set(ROUTE=${FILTER(abcdefghijklmnopqrstuvwxyz0123456789_,${HOTLINE_ROUTE_QUEUE})})",
        "GotoIf($[\"${HOTLINE_ROUTED}\" != \"1\" | \"${ROUTE}\" = \"\"]?queue)",
        "ExecIf($[${QUEUE_EXISTS(${ROUTE})}]?Set(__HOTLINE_QUEUE=${ROUTE}))",
        "Set(PRIO=${FILTER(0123456789,${HOTLINE_ROUTE_PRIORITY})})",
        "ExecIf($[\"${PRIO}\" != \"\"]?Set(__HOTLINE_PRIO=${PRIO}))",
        "Set(__HOTLINE_PRIO_REASON=${FILTER(abcdefghijklmnopqrstuvwxyz_,${HOTLINE_ROUTE_PRIORITY_REASON})})",
    ] if options.agi_url else []  # a static dialplan (no controller) is the benchmark's baseline
    _Ctx(lines, INBOUND, "every trunk call: sanitise, route (fail-open), record, queue").exten(
        "s",
        f"Gosub({ARRIVE},s,1)",
        "(route)NoOp()",
        *routing,
        "(queue)Answer()",
        "Set(CHANNEL(language)=zh)",   # say.c says queue positions and waits in Mandarin
        "ExecIf($[\"${HOTLINE_PROMPT}\" != \"\"]?CELGenUserEvent(HOTLINE_PROMPT,${HOTLINE_PROMPT}))",
        "ExecIf($[\"${HOTLINE_PROMPT}\" != \"\"]?Playback(${HOTLINE_SOUNDS}/${HOTLINE_PROMPT}))",
        "GotoIf($[\"${HOTLINE_END_AFTER_PROMPT}\" = \"1\"]?ended)",
        "ExecIf($[\"${HOTLINE_RECORDING}\" = \"\"]?MixMonitor(${HOTLINE_REC_DIR}/${CHANNEL(linkedid)}.wav,b))",
        "Set(HOTLINE_RECORDING=1)",
        # (join): a fallback queue is joined here again, with the caller's priority
        "(join)ExecIf($[\"${HOTLINE_PRIO}\" != \"\"]?Set(QUEUE_PRIO=${HOTLINE_PRIO}))",
        "ExecIf($[\"${HOTLINE_MAXPEN_${HOTLINE_QUEUE}}\" != \"\"]?Set(QUEUE_MAX_PENALTY=${HOTLINE_MAXPEN_${HOTLINE_QUEUE}}))",
        "CELGenUserEvent(HOTLINE_QUEUE,${HOTLINE_QUEUE}|${HOTLINE_PRIO}|${HOTLINE_PRIO_REASON})",
        "Queue(${HOTLINE_QUEUE},${HOTLINE_QOPTS_${HOTLINE_QUEUE}},,,${HOTLINE_MAXWAIT_${HOTLINE_QUEUE}})",
        f"Goto({QUEUE_EXIT},s,1)",
        "(ended)CELGenUserEvent(HOTLINE_WITHDRAWN,${HOTLINE_DIALLED})",
        "Hangup()",
    )

    _queue_flow(lines, site)

    # Parallel numbers (并联整合): the department answers first; 12345 takes what it does not.
    parallel_open = [
        f"Gosub({ROUTE},s,1(${{HOTLINE_AGI}}/parallel?dialled=${{HOTLINE_DIALLED}}))",
        "GotoIf($[\"${HOTLINE_ROUTED}\" = \"1\" & \"${HOTLINE_DEPT_OPEN}\" = \"0\"]?closed)",
    ] if options.agi_url else []
    _Ctx(lines, PARALLEL, "a parallel number: ring the department, overflow to the 12345 seats").exten(
        "s",
        f"Gosub({ARRIVE},s,1)",
        *parallel_open,  # office hours and the Chinese working-day calendar (fail-open: try the department)
        "MixMonitor(${HOTLINE_REC_DIR}/${CHANNEL(linkedid)}.wav,b)",
        "Set(HOTLINE_RECORDING=1)",
        "CELGenUserEvent(HOTLINE_DEPT_DIAL,${HOTLINE_DEPT})",
        "Dial(${HOTLINE_DEPT_DIAL},${HOTLINE_RING})",
        "GotoIf($[\"${DIALSTATUS}\" = \"ANSWER\"]?done)",
        "Set(__HOTLINE_OVERFLOW=${TOLOWER(${DIALSTATUS})})",
        "Goto(overflow)",
        "(closed)Set(__HOTLINE_OVERFLOW=closed)",
        "(overflow)CELGenUserEvent(HOTLINE_OVERFLOW,${HOTLINE_OVERFLOW})",
        f"Goto({INBOUND},s,route)",
        "(done)Hangup()",
    )

    # Transfers and conference legs: only numbers of the directory and the emergency routes. The
    # department (duty phone, registered phone, parallel or convenience number, emergency service)
    # (duty phone, registered phone, parallel or convenience number) is shown the hotline number,
    # never the citizen's (GB/T 33358: a complainant's identity is confidential, and whether a call
    # is, a work order may say only later): Dial's f() sets the outgoing leg's caller-ID and
    # connected line, which make the INVITE's From. An emergency service (110, 119, 120, 12395)
    # blind-transferred to gets the citizen's number, to call back and locate them.
    xfer = _Ctx(lines, TRANSFER, "what seats may transfer or conference a caller to")
    emergency = {e.number for e in site.emergency}
    present = "" if not site.site.hotline_number else f",f({site.site.hotline_number})"
    for number, dial in transfer_targets(site).items():
        xfer.exten(number, f"CELGenUserEvent(HOTLINE_TRANSFER_DIAL,{number})",
                   f"Dial({dial},60{'' if number in emergency else present})", "Hangup()")
    xfer.exten("i", "Hangup(1)")

    # Three-way calls: the caller and the seat are moved into a conference named after the
    # conversation; the department's leg, originated by the controller, joins it when it answers.
    _Ctx(lines, CONFERENCE, "three-way calls: ${EXTEN} is the conversation id").exten(
        dialplan_pattern(site.site.node), f"Set(CONF=${{FILTER({dialplan_filter(site.site.node)},${{EXTEN}})}})",
        "CELGenUserEvent(HOTLINE_CONF_JOIN,${CONF})",
        "ConfBridge(hotline-${CONF},hotline_bridge,hotline_user)", "Hangup()")

    seats = _Ctx(lines, SEAT_CONTEXT, "seat phones: other seats by number, feature codes, anything else is refused")
    for seat in site.seats:
        seats.exten(seat.id, f"Dial(PJSIP/{seat.id},30)", "Hangup()")
    _seat_feature_codes(lines, seats, site)
    _remote_seats(lines, site)

    _Ctx(lines, DEPT_CONTEXT, "department phones answer calls, they do not place them").exten("i", "Hangup(1)")
    lines += callback.render(site)   # queue callback and callbacks seats take (issue #3)

    spy_name, spy_comment, spy_steps = spy_context()
    _Ctx(lines, spy_name, spy_comment).exten("_X.", *spy_steps)
    return "\n".join(lines) + "\n"


def _queue_flow(lines: list[str], site: SiteConfig) -> None:
    """After Queue() returns: the queue's fallback (its own context).

    Fallbacks re-join at hotline-inbound's (join) label with the caller's priority (QUEUE_PRIO from
    the inherited HOTLINE_PRIO). Without a fallback nothing sends a caller out of a queue (no
    timeout is passed, the no-seat rule is 'wait'): 7x24 human service."""
    statuses = " | ".join(f"\"${{QUEUESTATUS}}\" = \"{k}\"" for k in FALLBACK_STATUSES)
    _Ctx(lines, QUEUE_EXIT, "the queue gave the caller back: max_wait or no seat -> the queue's fallback").exten(
        "s",
        "CELGenUserEvent(HOTLINE_QUEUE_EXIT,${QUEUESTATUS})",
        f"GotoIf($[{statuses}]?fallback)",
        "Hangup()",
        "(fallback)Set(HOTLINE_FB_REASON=${IF($[\"${QUEUESTATUS}\" = \"TIMEOUT\"]?timeout:no_seat)})",
        f"GotoIf($[${{DIALPLAN_EXISTS({fallback_context('${HOTLINE_QUEUE}')},s,1)}}]"
        f"?{fallback_context('${HOTLINE_QUEUE}')},s,1)",
        # No fallback configured (the queue's no-seat rule is 'wait' then): never drop the caller.
        f"MusicOnHold({MOH_CLASS},{HOLD_BEFORE_REJOIN_S})",
        f"Goto({REJOIN})",
    )
    for q in site.queues:
        if q.fallback is not None:
            _fallback(lines, q.name, q.fallback.action, q.fallback.queue)


def dialable_condition(digits: str, raw: str) -> str:
    """An Asterisk expression: ``${raw}`` is a number the callback dialler dials, ``${digits}``
    being its digits (hotline.callbacks.model.dialable: digits only, 5 to 20)."""
    return (f"\"${{{digits}}}\" = \"${{{raw}}}\" & ${{LEN(${{{digits}}})}} >= 5 & "
            f"${{LEN(${{{digits}}})}} <= 20")


def _fallback(lines: list[str], queue: str, action: str, to: str | None) -> None:
    """One queue's fallback. CEL HOTLINE_FALLBACK: action|reason|queue|fallback queue."""
    ctx = _Ctx(lines, fallback_context(queue), f"fallback of queue {queue}: {action}")
    event = f"CELGenUserEvent(HOTLINE_FALLBACK,{action}|${{HOTLINE_FB_REASON}}|{queue}|{to or ''})"
    rejoin = [f"ExecIf($[\"${{HOTLINE_FB_REASON}}\" = \"no_seat\"]?MusicOnHold({MOH_CLASS},{HOLD_BEFORE_REJOIN_S}))",
              f"Goto({REJOIN})"]
    if action == "queue":
        ctx.exten("s", event, f"Set(__HOTLINE_QUEUE={to})", f"Goto({REJOIN})")
    elif action == "callback":
        # Coordinated with the callback tasks by the event only: HOTLINE_CALLBACK_REQUEST number|queue|reason.
        # Offered only to a number the callback dialler will dial (the queue-callback key's rule: digits
        # only, 5 to 20); a withheld, short or non-numeric one hears callback-unavailable and waits on.
        ctx.exten(
            "s", event,
            "Set(CB_NUM=${FILTER(0123456789,${CALLERID(num)})})",
            f"GotoIf($[{dialable_condition('CB_NUM', 'CALLERID(num)')}]?offer:withheld)",
            "(offer)Read(KEY,${HOTLINE_SOUNDS}/callback-offer,1,,1,5)",
            "GotoIf($[\"${KEY}\" = \"1\"]?request)",
            *rejoin,
            "(request)CELGenUserEvent(HOTLINE_CALLBACK_REQUEST,${CB_NUM}|${HOTLINE_QUEUE}|${HOTLINE_FB_REASON})",
            "Playback(${HOTLINE_SOUNDS}/callback-confirmed)",
            "Hangup()",
            "(withheld)Playback(${HOTLINE_SOUNDS}/callback-unavailable)",
            *rejoin,
        )
    else:  # message: a voice message named after the conversation, then a work order (the store)
        ctx.exten(
            "s", event,
            "Playback(${HOTLINE_SOUNDS}/message-prompt)",
            "Set(MSG=${CHANNEL(linkedid)}-message.wav)",
            "CELGenUserEvent(HOTLINE_VOICE_MESSAGE,${MSG})",
            # at most 120 s, ended by 3 s of silence; kept if the caller hangs up; no beep
            "Record(${HOTLINE_REC_DIR}/${MSG},3,120,kq)",
            "Playback(${HOTLINE_SOUNDS}/message-saved)",
            "Hangup()",
        )


SEAT_FC = "hotline-seatfc"
REMOTE_SEAT = "hotline-remote-seat"
REMOTE_CONFIRM = "hotline-remote-confirm"
REMOTE_HANGUP = "hotline-remote-hangup"


def _seat_feature_codes(lines: list[str], seats: _Ctx, site: SiteConfig) -> None:
    """Login, logout, pause (with the reason's digit) and unpause from the seat's own phone.

    Each seat has its own small context with its memberships, so the phone's endpoint alone
    says who dialled. Asterisk applies the change (the controller follows its queue events),
    so feature codes work while the controller is down."""
    fc = site.seat_rules.feature_codes
    me = f"{SEAT_FC}-${{FILTER(0123456789,${{CHANNEL(endpoint)}})}}"
    seats.exten(fc.login, f"Goto({me},login,1)")
    seats.exten(fc.logout, f"Goto({me},logout,1)")
    seats.exten(fc.unpause, f"Goto({me},unpause,1)")
    for digit, reason in enumerate(site.seat_rules.pause_reasons, start=1):
        seats.exten(f"{fc.pause}{digit}", f"Set(REASON={reason.code})", f"Goto({me},pause,1)")
    seats.exten(f"_{fc.pause}X", "Answer()", "Playback(${HOTLINE_SOUNDS}/seat-bad-reason)", "Hangup()")
    seats.exten("i", "Hangup(1)")
    for seat in site.seats:
        iface, state = member_interface(seat), state_interface(seat)
        ctx = _Ctx(lines, f"{SEAT_FC}-{seat.id}", f"feature codes of seat {seat.id}")
        login = ["Answer()", "Set(DONE=0)"]
        if seat.external_number:
            login.append(f"Set(DEVICE_STATE({state})=NOT_INUSE)")
        for m in memberships(site, seat):
            login += [f"AddQueueMember({m.queue},{iface},{m.penalty},,{seat.id},{state})",
                      "ExecIf($[\"${AQMSTATUS}\" = \"ADDED\"]?Set(DONE=1))"]
        ctx.exten("login", *login, "Playback(${HOTLINE_SOUNDS}/${IF($[${DONE}]?seat-logged-in:seat-already-in)})",
                  "Hangup()")
        logout = ["Answer()", "Set(DONE=0)"]
        for m in memberships(site, seat):
            logout += [f"RemoveQueueMember({m.queue},{iface})",
                       "ExecIf($[\"${RQMSTATUS}\" = \"REMOVED\"]?Set(DONE=1))"]
        ctx.exten("logout", *logout, "Playback(${HOTLINE_SOUNDS}/${IF($[${DONE}]?seat-logged-out:seat-not-in)})",
                  "Hangup()")
        ctx.exten("pause", "Answer()", f"PauseQueueMember(,{iface},,${{REASON}})",
                  "Playback(${HOTLINE_SOUNDS}/${IF($[\"${PQMSTATUS}\" = \"PAUSED\"]?seat-paused:seat-not-in)})",
                  "Hangup()")
        ctx.exten("unpause", "Answer()", f"UnpauseQueueMember(,{iface})",
                  "Playback(${HOTLINE_SOUNDS}/${IF($[\"${UPQMSTATUS}\" = \"UNPAUSED\"]?seat-unpaused:seat-not-in)})",
                  "Hangup()")


def _remote_seats(lines: list[str], site: SiteConfig) -> None:
    """Seats on an outside number: the queue dials a Local channel that calls the number through
    the trunk; the seat must press 1 before the caller is connected (a voicemail box never takes
    a caller: anything else declines and the queue tries the next seat)."""
    remote = [s for s in site.seats if s.external_number]
    if not remote:
        return
    ring = site.seat_rules.remote_ring_timeout
    ctx = _Ctx(lines, REMOTE_SEAT, "seats on an external number (Local channel members of the queues)")
    for seat in remote:
        trunk = f"trunk-{seat.trunk or site.trunks[0].name}"
        state = state_interface(seat)
        ctx.exten(seat.id, f"Set(DEVICE_STATE({state})=RINGING)",
                  f"Set(CHANNEL(hangup_handler_push)={REMOTE_HANGUP},s,1({seat.id}))",
                  f"Dial(PJSIP/{seat.external_number}@{trunk},{ring},U({REMOTE_CONFIRM}^s^1^{seat.id}))",
                  "Hangup()")
    ctx.exten("i", "Hangup(1)")
    _Ctx(lines, REMOTE_CONFIRM, "run on the seat's answered leg: press 1 to take the call").exten(
        "s", "Read(KEY,${HOTLINE_SOUNDS}/remote-confirm,1,,2,5)",
        "GotoIf($[\"${KEY}\" = \"1\"]?accept)",
        "CELGenUserEvent(HOTLINE_REMOTE_DECLINED,${ARG1})",
        "Set(GOSUB_RESULT=CONTINUE)", "Return()",
        "(accept)Set(DEVICE_STATE(Custom:seat${ARG1})=INUSE)",
        "CELGenUserEvent(HOTLINE_REMOTE_ACCEPTED,${ARG1})", "Return()")
    _Ctx(lines, REMOTE_HANGUP, "the Local leg of an external seat ends: the seat is free again").exten(
        "s", "Set(DEVICE_STATE(Custom:seat${ARG1})=NOT_INUSE)", "Return()")
