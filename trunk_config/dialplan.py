"""extensions.conf: a context per inbound number, one shared inbound flow.

The flow is fail-open: the FastAGI server only refines the route; when it does
not answer, the call still joins the queue the site config names for the number.
The dialled number, its mode and department are set as inherited channel
variables (``__HOTLINE_*``) so they stay on every leg of the conversation.
Caller-controlled values are filtered before any application sees them.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.config.site import LegacyNumber, NumberMode, SiteConfig

from .conf import HEADER, safe
from .pjsip import SEAT_CONTEXT, trunk_context

INBOUND = "hotline-inbound"
UNKNOWN = "hotline-unknown"


@dataclass(frozen=True)
class DialplanOptions:
    agi_url: str | None    # agi://host:port; None for a static dialplan without the controller
    recordings_dir: str    # as Asterisk sees it


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


def _number_entry(lines: list[str], site: SiteConfig, number: str, mode: str, dept: str,
                  queue: str, comment: str) -> None:
    _Ctx(lines, number_context(number), comment).exten(
        "s",
        f"Set(__HOTLINE_DIALLED={number})",
        f"Set(__HOTLINE_MODE={mode})",
        f"Set(__HOTLINE_DEPT={dept})",
        f"Set(__HOTLINE_QUEUE={queue})",
        f"Goto({INBOUND},s,1)",
    )


def _inbound_numbers(site: SiteConfig) -> list[LegacyNumber]:
    return [n for n in site.legacy_numbers if n.mode in (NumberMode.merged, NumberMode.parallel)]


def render(site: SiteConfig, options: DialplanOptions) -> str:
    lines: list[str] = [HEADER.rstrip("\n")]
    lines += ["", "[general]", "static = yes", "writeprotect = yes", "clearglobalvars = yes",
              "", "[globals]",
              f"HOTLINE_AGI = {safe(options.agi_url or '')}",
              f"HOTLINE_REC_DIR = {safe(options.recordings_dir)}",
              f"HOTLINE_DEFAULT_QUEUE = {site.site.default_queue}"]
    # A queue without max_wait keeps callers until a seat answers (7x24 human service).
    lines += [f"HOTLINE_MAXWAIT_{q.name} = {q.max_wait}" for q in site.queues if q.max_wait]

    numbers = [(site.site.hotline_number, "hotline", "", site.site.default_queue, "the hotline number")]
    for n in _inbound_numbers(site):
        numbers.append((n.number, n.mode.value, n.department, site.queue_for(n.number),
                        f"{n.mode.value} number of {n.department}"))

    for trunk in site.trunks:
        ctx = _Ctx(lines, trunk_context(trunk), f"calls arriving on trunk {trunk.name}")
        for number, *_ in numbers:
            for prefix in ["", *trunk.did_prefixes]:
                ctx.exten(f"{prefix}{number.lstrip('+') if prefix else number}",
                          f"Goto({number_context(number)},s,1)")
        # A number the site does not know: the caller still reaches the hotline (or is refused).
        ctx.exten("_[+0-9].", f"Goto({UNKNOWN},s,1)")
        ctx.exten("i", f"Goto({UNKNOWN},s,1)")

    for number, mode, dept, queue, comment in numbers:
        _number_entry(lines, site, number, mode, dept, queue, comment)

    unknown = _Ctx(lines, UNKNOWN, "a dialled number not in the site config")
    if site.site.unknown_numbers == "hotline":
        unknown.exten("s", f"Set(__HOTLINE_DIALLED=${{FILTER(0123456789+,${{CALLERID(DNID)}})}})",
                      "Set(__HOTLINE_MODE=unknown)", "Set(__HOTLINE_DEPT=)",
                      f"Set(__HOTLINE_QUEUE={site.site.default_queue})", f"Goto({INBOUND},s,1)")
    else:
        unknown.exten("s", "Set(__HOTLINE_MODE=unknown)", "CELGenUserEvent(HOTLINE_REJECTED,unknown)",
                      "Hangup(1)")

    # The shared inbound flow: no IVR menu in front of the seats (GB/T 33358).
    routing = [
        "AGI(${HOTLINE_AGI}/inbound?dialled=${HOTLINE_DIALLED})",
        "Set(ROUTE=${FILTER(abcdefghijklmnopqrstuvwxyz0123456789_,${HOTLINE_ROUTE_QUEUE})})",
        "GotoIf($[\"${AGISTATUS}\" != \"SUCCESS\" | \"${ROUTE}\" = \"\"]?queue)",
        "ExecIf($[${QUEUE_EXISTS(${ROUTE})}]?Set(__HOTLINE_QUEUE=${ROUTE}))",
        "Set(PRIO=${FILTER(0123456789,${HOTLINE_ROUTE_PRIORITY})})",
        "ExecIf($[\"${PRIO}\" != \"\"]?Set(QUEUE_PRIO=${PRIO}))",
    ] if options.agi_url else []  # a static dialplan (no controller) is the benchmark's baseline
    _Ctx(lines, INBOUND, "every trunk call: sanitise, route (fail-open), record, queue").exten(
        "s",
        "Set(CALLERID(num)=${FILTER(0123456789+,${CALLERID(num)})})",
        "Set(CALLERID(name)=${FILTER(0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,"
        "${CALLERID(name)})})",
        "ExecIf($[\"${CALLERID(num)}\" = \"\"]?Set(CALLERID(num)=anonymous))",
        "Set(__HOTLINE_TRUNK=${CHANNEL(endpoint)})",
        "CELGenUserEvent(HOTLINE_ARRIVAL,${HOTLINE_DIALLED}|${HOTLINE_MODE}|${HOTLINE_DEPT})",
        *routing,
        "(queue)Answer()",
        "MixMonitor(${HOTLINE_REC_DIR}/${CHANNEL(linkedid)}.wav,b)",
        "CELGenUserEvent(HOTLINE_QUEUE,${HOTLINE_QUEUE})",
        "Queue(${HOTLINE_QUEUE},tr,,,${HOTLINE_MAXWAIT_${HOTLINE_QUEUE}})",
        "CELGenUserEvent(HOTLINE_QUEUE_EXIT,${QUEUESTATUS})",
        "Hangup()",
    )

    seats = _Ctx(lines, SEAT_CONTEXT, "seat phones: other seats by number, anything else is refused")
    for seat in site.seats:
        seats.exten(seat.id, f"Dial(PJSIP/{seat.id},30)", "Hangup()")
    seats.exten("i", "Hangup(1)")
    return "\n".join(lines) + "\n"
