"""extensions.conf, the inbound family: trunk contexts, one context per number 12345 answers,
and the flows they lead to (arrival, the bounded routing step, the inbound queue flow, parallel
numbers).

The flow is fail-open: the FastAGI server only refines the route; when it does not answer, the
call still joins the queue the site config names for the number. The dialled number, its mode
and department are set as inherited channel variables (``__HOTLINE_*``) so they stay on every
leg of the conversation. Caller-controlled values are filtered before any application sees them.
Which numbers get a context and which flow they take is the call plan's
(:func:`hotline.spine.plan.number_routes`).
"""

from __future__ import annotations

from datetime import date

from agi_scripts.signature import NONCE_PARAM, dialplan_signature
from hotline.config.site import SiteConfig, Transition
from hotline.spine import marks as m
from hotline.spine.marks import inherited, var
from hotline.spine.plan import PRIORITY_WEIGHT, UNKNOWN_MODE, Flow, NumberRoute, number_routes

from .ctx import Ctx
from .pjsip import trunk_context

INBOUND = "hotline-inbound"
UNKNOWN = "hotline-unknown"
ARRIVE = "hotline-arrive"
PARALLEL = "hotline-parallel"
ROUTE = "hotline-route"
QUEUE_EXIT = "hotline-queue-exit"
REJOIN = f"{INBOUND},s,join"


def number_context(number: str) -> str:
    return f"hotline-in-{number.lstrip('+')}"


def _ymd(d: date) -> str:
    return d.strftime("%Y%m%d")


def _transition_steps(t: Transition | None) -> list[str]:
    """双号并存: the transition prompt inside the window; after it, keep or withdraw the number."""
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
        steps.append(f"ExecIf($[{cond}]?Set({inherited(m.PROMPT)}=merged-notice))")
    steps.append(f"Goto({INBOUND},s,1)")
    if t.end and t.after != "keep":
        steps.append(f"(withdrawn)Set({inherited(m.PROMPT)}=withdrawn-notice)")
        if t.after == "notice_then_end":
            steps.append("Set(__HOTLINE_END_AFTER_PROMPT=1)")
        steps.append(f"Goto({INBOUND},s,1)")
    return steps


def _flow_steps(route: NumberRoute) -> list[str]:
    """What a number's context does after setting the call's variables: its flow."""
    if route.flow is Flow.parallel:
        return [f"Set({m.DEPT_DIAL_TO}={route.department_dial})", f"Set(HOTLINE_RING={route.ring_seconds})",
                f"Goto({PARALLEL},s,1)"]
    steps = []
    if route.origin:
        steps.append(f"Set({inherited(m.ORIGIN)}={route.origin})")
    if route.priority is not None:
        steps.append(f"Set({inherited(m.PRIO)}={route.priority})")
    return steps + _transition_steps(route.transition)


def render_numbers(lines: list[str], site: SiteConfig) -> None:
    """The trunk contexts (every number, with each DID prefix) and one context per number."""
    routes = number_routes(site)
    for trunk in site.trunks:
        ctx = Ctx(lines, trunk_context(trunk), f"calls arriving on trunk {trunk.name}")
        for route in routes:
            for prefix in ["", *trunk.did_prefixes]:
                ctx.exten(f"{prefix}{route.number.lstrip('+') if prefix else route.number}",
                          f"Goto({number_context(route.number)},s,1)")
        # A number the site does not know: the caller still reaches the hotline (or is refused).
        ctx.exten("_[+0-9].", f"Goto({UNKNOWN},s,1)")
        ctx.exten("i", f"Goto({UNKNOWN},s,1)")

    for route in routes:
        Ctx(lines, number_context(route.number), route.comment).exten(
            "s",
            f"Set({inherited(m.DIALLED)}={route.number})",
            f"Set({inherited(m.MODE)}={route.mode})",
            f"Set({inherited(m.DEPT)}={route.department})",
            f"Set({inherited(m.QUEUE)}={route.queue})",
            *_flow_steps(route),
        )

    unknown = Ctx(lines, UNKNOWN, "a dialled number not in the site config")
    if site.site.unknown_numbers == "hotline":
        unknown.exten("s", f"Set({inherited(m.DIALLED)}=${{FILTER(0123456789+,${{CALLERID(DNID)}})}})",
                      f"Set({inherited(m.MODE)}={UNKNOWN_MODE})", f"Set({inherited(m.DEPT)}=)",
                      f"Set({inherited(m.QUEUE)}={site.site.default_queue})", f"Goto({INBOUND},s,1)")
    else:
        unknown.exten("s", f"Set({inherited(m.MODE)}={UNKNOWN_MODE})", m.REJECTED.write(m.Reason(UNKNOWN_MODE)),
                      "Hangup(1)")


def render_arrival(lines: list[str]) -> None:
    """Arrival, shared by every inbound flow: sanitise caller-ID before anything else reads it."""
    Ctx(lines, ARRIVE, "sanitise caller-ID, mark the arrival (Gosub)").exten(
        "s",
        "Set(CALLERID(num)=${FILTER(0123456789+,${CALLERID(num)})})",
        "Set(CALLERID(name)=${FILTER(0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,"
        "${CALLERID(name)})})",
        "ExecIf($[\"${CALLERID(num)}\" = \"\"]?Set(CALLERID(num)=anonymous))",
        f"Set({inherited(m.TRUNK)}=${{CHANNEL(endpoint)}})",
        m.ARRIVAL.write(m.Arrival(var(m.DIALLED), var(m.MODE), var(m.DEPT), var(m.ORIGIN))),
        "Return()",
    )


def render_route(lines: list[str]) -> None:
    """The routing step, bounded whatever the FastAGI server does (refuses, is stopped, never
    answers, or its port was taken by another process): an absolute timeout around AGI() ends it
    after HOTLINE_AGI_BOUND s, the T extension takes the channel back (Asterisk clears the
    timeout's soft hang-up there) and AGIEXITONHANGUP makes res_agi let go at once instead of
    waiting for the server to close. HOTLINE_ROUTED=1 only when the server answered; every
    fall-back is marked on the record (HOTLINE_ROUTING_FALLBACK timeout|failure|hangup|notfound)."""
    fallback = m.ROUTING_FALLBACK
    Ctx(lines, ROUTE, "the routing step, bounded: HOTLINE_ROUTED=1 when FastAGI answered (Gosub)").exten(
        "s",
        "Set(HOTLINE_ROUTED=0)",
        "Set(AGIEXITONHANGUP=yes)",
        # Signed routes (agi_scripts/signature.py): a fresh nonce, no variable left from before.
        "Set(HOTLINE_AGI_NONCE=${CHANNEL(uniqueid)}-${RAND(0,2147483647)})",
        f"MSet({','.join(f'{name}=' for name in (*m.ROUTE_VARS, m.ROUTE_SIG))})",
        "Set(TIMEOUT(absolute)=${HOTLINE_AGI_BOUND})",
        f"AGI(${{ARG1}}&{NONCE_PARAM}=${{HOTLINE_AGI_NONCE}})",
        "Set(TIMEOUT(absolute)=0)",
        "GotoIf($[\"${AGISTATUS}\" = \"SUCCESS\"]?check)",
        fallback.write(m.Reason("${TOLOWER(${AGISTATUS})}")),
        "Return()",
        # FILTER: the answer is the other side's; unfiltered, a quote in it would rewrite the test.
        f"(check)GotoIf($[\"${{FILTER(0123456789abcdef,{var(m.ROUTE_SIG)})}}\" = \"{dialplan_signature()}\"]?ok)",
        f"MSet({','.join(f'{name}=' for name in m.ROUTE_VARS)})",   # not ours: none of it is used
        fallback.write(m.Reason("unsigned")),
        "Return()",
        "(ok)Set(HOTLINE_ROUTED=1)",
        "Return()",
    ).exten("T", fallback.write(m.Reason("timeout")), "Return()")


# The Asterisk queue a call of queue ${HOTLINE_QUEUE} waits in: the queue's line, else the queue itself.
LINE_OF = (f"${{IF($[\"${{HOTLINE_LINE_{var(m.QUEUE)}}}\" != \"\"]?${{HOTLINE_LINE_{var(m.QUEUE)}}}"
           f":{var(m.QUEUE)})}}")


def render_inbound(lines: list[str], agi: bool, pooled: bool = False) -> None:
    """The shared inbound flow: no IVR menu in front of the seats (GB/T 33358). ``pooled``: a node
    of a seat pool (the caller's place in the one order, hotline/seats/order.py)."""
    routing = [
        f"Gosub({ROUTE},s,1(${{HOTLINE_AGI}}/inbound?dialled={var(m.DIALLED)}))",
        f"Set(ROUTE=${{FILTER(abcdefghijklmnopqrstuvwxyz0123456789_,{var(m.ROUTE_QUEUE)})}})",
        "GotoIf($[\"${HOTLINE_ROUTED}\" != \"1\" | \"${ROUTE}\" = \"\"]?queue)",
        f"ExecIf($[${{QUEUE_EXISTS(${{ROUTE}})}}]?Set({inherited(m.QUEUE)}=${{ROUTE}}))",
        f"Set(PRIO=${{FILTER(0123456789,{var(m.ROUTE_PRIORITY)})}})",
        f"ExecIf($[\"${{PRIO}}\" != \"\"]?Set({inherited(m.PRIO)}=${{PRIO}}))",
        f"Set({inherited(m.PRIO_REASON)}=${{FILTER(abcdefghijklmnopqrstuvwxyz_,{var(m.ROUTE_PRIORITY_REASON)})}})",
    ] if agi else []  # a static dialplan (no controller) is the benchmark's baseline
    prompt, queue = var(m.PROMPT), var(m.QUEUE)
    Ctx(lines, INBOUND, "every trunk call: sanitise, route (fail-open), record, queue").exten(
        "s",
        f"Gosub({ARRIVE},s,1)",
        "(route)NoOp()",
        *routing,
        "(queue)Answer()",
        "Set(CHANNEL(language)=zh)",   # say.c says queue positions and waits in Mandarin
        f"ExecIf($[\"{prompt}\" != \"\"]?{m.PROMPT_PLAYED.write(m.Prompt(prompt))})",
        f"ExecIf($[\"{prompt}\" != \"\"]?Playback(${{HOTLINE_SOUNDS}}/{prompt}))",
        "GotoIf($[\"${HOTLINE_END_AFTER_PROMPT}\" = \"1\"]?ended)",
        "ExecIf($[\"${HOTLINE_RECORDING}\" = \"\"]?MixMonitor(${HOTLINE_REC_DIR}/${CHANNEL(linkedid)}.wav,b))",
        "Set(HOTLINE_RECORDING=1)",
        # (join): a fallback queue is joined here again, with the caller's priority
        f"(join)ExecIf($[\"{var(m.PRIO)}\" != \"\"]?Set(QUEUE_PRIO={var(m.PRIO)}))",
        f"ExecIf($[\"${{HOTLINE_MAXPEN_{queue}}}\" != \"\"]?Set(QUEUE_MAX_PENALTY=${{HOTLINE_MAXPEN_{queue}}}))",
        m.QUEUE_JOIN.write(m.QueueJoin(queue, var(m.PRIO), var(m.PRIO_REASON))),
        # a seat pool's node: the caller's place in the one order (hotline/seats/order.py)
        *([f"ExecIf($[\"{var(m.SINCE)}\" = \"\"]?Set({inherited(m.SINCE)}=${{STRFTIME(,,%s.%3q)}}))",
           f"Set({inherited(m.RANK)}=$[{var(m.SINCE)} - 0${{QUEUE_PRIO}} * {PRIORITY_WEIGHT}])"] if pooled else []),
        f"Set(LINE={LINE_OF})",   # the Asterisk queue: the queue's line (Queue.line), else the queue itself
        f"Queue(${{LINE}},${{HOTLINE_QOPTS_{queue}}},,,${{HOTLINE_MAXWAIT_{queue}}})",
        f"Goto({QUEUE_EXIT},s,1)",
        "(ended)" + m.WITHDRAWN.write(m.Dialled(var(m.DIALLED))),
        "Hangup()",
    )


def render_parallel(lines: list[str], agi: bool) -> None:
    """Parallel numbers (并联整合): the department answers first; 12345 takes what it does not."""
    parallel_open = [
        f"Gosub({ROUTE},s,1(${{HOTLINE_AGI}}/parallel?dialled={var(m.DIALLED)}))",
        f"GotoIf($[\"${{HOTLINE_ROUTED}}\" = \"1\" & \"{var(m.DEPT_OPEN)}\" = \"0\"]?closed)",
    ] if agi else []
    Ctx(lines, PARALLEL, "a parallel number: ring the department, overflow to the 12345 seats").exten(
        "s",
        f"Gosub({ARRIVE},s,1)",
        *parallel_open,  # office hours and the Chinese working-day calendar (fail-open: try the department)
        "MixMonitor(${HOTLINE_REC_DIR}/${CHANNEL(linkedid)}.wav,b)",
        "Set(HOTLINE_RECORDING=1)",
        m.DEPT_DIAL.write(m.Department(var(m.DEPT))),
        f"Dial({var(m.DEPT_DIAL_TO)},${{HOTLINE_RING}})",
        "GotoIf($[\"${DIALSTATUS}\" = \"ANSWER\"]?done)",
        f"Set({inherited(m.OVERFLOW_REASON)}=${{TOLOWER(${{DIALSTATUS}})}})",
        "Goto(overflow)",
        f"(closed)Set({inherited(m.OVERFLOW_REASON)}=closed)",
        "(overflow)" + m.OVERFLOW.write(m.Reason(var(m.OVERFLOW_REASON))),
        f"Goto({INBOUND},s,route)",
        "(done)Hangup()",
    )
