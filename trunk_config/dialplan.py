"""extensions.conf: the globals, then each family of contexts from its own module.

* :mod:`trunk_config.inbound`: trunk contexts, a context per number 12345 answers, arrival, the
  bounded routing step, the inbound queue flow, parallel numbers;
* :mod:`trunk_config.queue_flow`: after Queue(): queue exits and each queue's fallback;
* here: transfers and three-way calls (what seats may dial: the call plan's transfer targets);
* :mod:`trunk_config.seat_contexts`: seat phones, feature codes, seats on an outside number;
* :mod:`trunk_config.callback`: queue callbacks and callbacks seats take;
* :mod:`trunk_config.spy`: listening in.

Every CEL mark is written through :mod:`hotline.spine.marks`; which numbers are routed how, and
what seats may dial, is :mod:`hotline.spine.plan`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.config.site import SiteConfig
from hotline.spine import marks as m
from hotline.spine.ids import dialplan_filter, dialplan_pattern
from hotline.spine.plan import (CONFERENCE_CONTEXT, SEAT_OFFER_CONTEXT, SEAT_TARGET, TRANSFER_CONTEXT, site_targets,
                                transfer_targets)
from queue_manager.membership import OWN_MAX

from . import callback, duty_probe, inbound, queue_flow, revisit, seat_contexts
from .conf import HEADER, safe
from .kamailio_seats import in_pool
from .ctx import Ctx
from .pjsip import DEPT_CONTEXT
from .spy import spy_context

TRANSFER = TRANSFER_CONTEXT
ORDER_SLACK_S = 0.5   # callers this close are in no particular order (clocks of two nodes)
HELD_FOR_S = 3        # a seat is held back for another node's caller at most once this often
GATE_STALE_S = 15     # a gate older than this (its controller silent) is ignored
CONFERENCE = CONFERENCE_CONTEXT


@dataclass(frozen=True)
class DialplanOptions:
    agi_url: str | None    # agi://host:port; None for a static dialplan without the controller
    recordings_dir: str    # as Asterisk sees it
    sounds_dir: str = "/usr/share/asterisk/sounds/hotline"   # generated prompts, as Asterisk sees it
    agi_key: str = ""      # FastAGI signs its routes with it (agi_scripts/routes.py: route_signature)


def _globals(site: SiteConfig, options: DialplanOptions) -> list[str]:
    lines = ["", "[general]", "static = yes", "writeprotect = yes", "clearglobalvars = yes",
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
    # A node of a seat pool: each offer of a seat first asks the one order (hotline/seats/order.py).
    offer = f"b({SEAT_OFFER_CONTEXT}^s^1)" if in_pool(site) else ""
    lines += [f"HOTLINE_QOPTS_{q.name} = {'tr' if q.waiting == 'ringback' else 't'}{offer}" for q in site.queues]
    # Queues with overflow steps ring their own seats first; the queue rule raises the limit.
    lines += [f"HOTLINE_MAXPEN_{q.name} = {OWN_MAX}" for q in site.queues if q.overflow]
    # A queue waiting in another's line joins that Asterisk queue (fairness across them, ARCHITECTURE.md).
    lines += [f"HOTLINE_LINE_{q.name} = {q.line}" for q in site.queues if q.line]
    return lines


def render(site: SiteConfig, options: DialplanOptions) -> str:
    lines: list[str] = [HEADER.rstrip("\n"), *_globals(site, options)]
    agi = bool(options.agi_url)
    inbound.render_numbers(lines, site)
    inbound.render_arrival(lines)
    if agi:
        inbound.render_route(lines)
    inbound.render_inbound(lines, agi, pooled=in_pool(site))
    queue_flow.render(lines, site)
    inbound.render_parallel(lines, agi)
    _transfers(lines, site)
    seat_contexts.render(lines, site)
    Ctx(lines, DEPT_CONTEXT, "department phones answer calls, they do not place them").exten("i", "Hangup(1)")
    if in_pool(site):
        _seat_offer(lines)
    lines += callback.render(site)   # queue callback and callbacks seats take (issue #3)
    lines += revisit.render(site)    # 回访 calls' survey (issue 12; with revisits.enabled)
    lines += duty_probe.render(site)  # duty-phone tests' notice (issue 12; with duty_probes.enabled)
    spy_name, spy_comment, spy_steps = spy_context()
    Ctx(lines, spy_name, spy_comment).exten("_X.", *spy_steps)
    return "\n".join(lines) + "\n"


def _seat_offer(lines: list[str]) -> None:
    """A pooled queue's pre-dial handler on the seat's channel (hotline/seats/order.py): the offer
    is held back (the channel hung up before it is dialled; app_queue tries the caller again at its
    next re-check) while a caller of another node waits longer by more than ORDER_SLACK_S, at most
    once per seat every HELD_FOR_S (the seat then goes to whoever offers it: never idle for long);
    a gate the controller has not renewed in GATE_STALE_S is ignored."""
    gate, rank, held = "${GATE}", m.var(m.RANK), f"{m.HELD_PREFIX}${{DIALEDPEERNUMBER}}"
    Ctx(lines, SEAT_OFFER_CONTEXT, "an offer of a pooled seat: the longest waiter of any node first").exten(
        "s",
        f"Set(GATE=${{GLOBAL({m.GATE_PREFIX}{inbound.LINE_OF})}})",
        f"GotoIf($[\"{gate}\" = \"\" | \"{rank}\" = \"\"]?offer)",
        f"GotoIf($[${{EPOCH}} - 0${{CUT(GATE,/,2)}} > {GATE_STALE_S}]?offer)",
        f"GotoIf($[{rank} <= 0${{CUT(GATE,/,1)}} + {ORDER_SLACK_S}]?offer)",
        f"GotoIf($[${{EPOCH}} - 0${{GLOBAL({held})}} < {HELD_FOR_S}]?offer)",
        f"Set(GLOBAL({held})=${{EPOCH}})",
        "Hangup()",
        "(offer)Return()")


def _transfers(lines: list[str], site: SiteConfig) -> None:
    """Transfers and conference legs: only the call plan's transfer targets (the directory and the
    emergency routes). The department (duty phone, registered phone, parallel or convenience
    number) is shown the hotline number, never the citizen's (GB/T 33358: a complainant's identity
    is confidential, and whether a call is, a work order may say only later): Dial's f() sets the
    outgoing leg's caller-ID and connected line, which make the INVITE's From. An emergency service
    (110, 119, 120, 12395) blind-transferred to gets the citizen's number, to call back and locate
    them; so does another seat a caller is transferred to (a seat of the centre sees who calls)."""
    xfer = Ctx(lines, TRANSFER, "what seats may transfer or conference a caller to")
    own = {e.number for e in site.emergency} | {k for k, t in site_targets(site).items() if t.type == SEAT_TARGET}
    present = "" if not site.site.hotline_number else f",f({site.site.hotline_number})"
    for number, dial in transfer_targets(site).items():
        xfer.exten(number, m.TRANSFER_DIAL.write(m.Target(number)),
                   f"Dial({dial},60{'' if number in own else present})", "Hangup()")
    xfer.exten("i", "Hangup(1)")

    # Three-way calls: the caller and the seat are moved into a conference named after the
    # conversation; the department's leg, originated by the controller, joins it when it answers.
    Ctx(lines, CONFERENCE, "three-way calls: ${EXTEN} is the conversation id").exten(
        dialplan_pattern(site.site.node), f"Set(CONF=${{FILTER({dialplan_filter(site.site.node)},${{EXTEN}})}})",
        m.CONF_JOIN.write(m.Conference("${CONF}")),
        "ConfBridge(hotline-${CONF},hotline_bridge,hotline_user)", "Hangup()")
