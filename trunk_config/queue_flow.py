"""extensions.conf, after Queue() returns: the queue's fallback (each queue's own context).

Fallbacks re-join at hotline-inbound's (join) label with the caller's priority (QUEUE_PRIO from
the inherited HOTLINE_PRIO). Without a fallback nothing sends a caller out of a queue (no timeout
is passed, the no-seat rule is 'wait'): 7x24 human service.
"""

from __future__ import annotations

from hotline.config.site import SiteConfig
from hotline.spine import marks as m
from hotline.spine.marks import inherited, var
from hotline.spine.plan import REQUEUE_CONTEXT, REQUEUE_PRIORITY
from ivr.moh import MOH_CLASS

from .ctx import Ctx
from .inbound import QUEUE_EXIT, REJOIN

# QUEUESTATUS values after which the queue's fallback applies: max_wait, and the no-seat rule.
FALLBACK_STATUSES = {"TIMEOUT": "timeout", "JOINEMPTY": "no_seat", "LEAVEEMPTY": "no_seat",
                     "JOINUNAVAIL": "no_seat", "LEAVEUNAVAIL": "no_seat"}
HOLD_BEFORE_REJOIN_S = 20   # a caller sent back to a queue nobody serves hears music this long first
FB_REASON = "HOTLINE_FB_REASON"


def fallback_context(queue: str) -> str:
    return f"hotline-fallback-{queue}"


def dialable_condition(digits: str, raw: str) -> str:
    """An Asterisk expression: ``${raw}`` is a number the callback dialler dials, ``${digits}``
    being its digits (hotline.callbacks.model.dialable: digits only, 5 to 20)."""
    return (f"\"${{{digits}}}\" = \"${{{raw}}}\" & ${{LEN(${{{digits}}})}} >= 5 & "
            f"${{LEN(${{{digits}}})}} <= 20")


def render(lines: list[str], site: SiteConfig) -> None:
    """hotline-queue-exit, then each queue's fallback context."""
    statuses = " | ".join(f"\"${{QUEUESTATUS}}\" = \"{k}\"" for k in FALLBACK_STATUSES)
    Ctx(lines, QUEUE_EXIT, "the queue gave the caller back: max_wait or no seat -> the queue's fallback").exten(
        "s",
        m.QUEUE_EXIT.write(m.Status("${QUEUESTATUS}")),
        f"GotoIf($[{statuses}]?fallback)",
        "Hangup()",
        f"(fallback)Set({FB_REASON}=${{IF($[\"${{QUEUESTATUS}}\" = \"TIMEOUT\"]?timeout:no_seat)}})",
        f"GotoIf($[${{DIALPLAN_EXISTS({fallback_context(var(m.QUEUE))},s,1)}}]"
        f"?{fallback_context(var(m.QUEUE))},s,1)",
        # No fallback configured (the queue's no-seat rule is 'wait' then): never drop the caller.
        f"MusicOnHold({MOH_CLASS},{HOLD_BEFORE_REJOIN_S})",
        f"Goto({REJOIN})",
    )
    for q in site.queues:
        if q.fallback is not None:
            _fallback(lines, q.name, q.fallback.action, q.fallback.queue)
    _requeue(lines)


def _requeue(lines: list[str]) -> None:
    """The controller redirects a caller here when the seat talking with it lost its phone (a browser
    seat's network gone, hotline.seats.browser_loss); the extension is that seat. The caller keeps
    its queue and its recording and waits first in line (the priority above any configured one)."""
    Ctx(lines, REQUEUE_CONTEXT, "a seat lost its phone mid-call: its caller back in the queue, first in line").exten(
        "_XX.",   # seat ids are 3 to 8 digits
        m.REQUEUED.write(m.Seat("${FILTER(0123456789,${EXTEN})}")),
        f"Set({inherited(m.PRIO)}={REQUEUE_PRIORITY})",
        f"Set({inherited(m.PRIO_REASON)}=requeued)",
        f"Goto({REJOIN})",
    )


def _fallback(lines: list[str], queue: str, action: str, to: str | None) -> None:
    """One queue's fallback, marked HOTLINE_FALLBACK (action|reason|queue|fallback queue)."""
    ctx = Ctx(lines, fallback_context(queue), f"fallback of queue {queue}: {action}")
    event = m.FALLBACK.write(m.Fallback(action, var(FB_REASON), queue, to or ""))
    rejoin = [f"ExecIf($[\"{var(FB_REASON)}\" = \"no_seat\"]?MusicOnHold({MOH_CLASS},{HOLD_BEFORE_REJOIN_S}))",
              f"Goto({REJOIN})"]
    if action == "queue":
        ctx.exten("s", event, f"Set({inherited(m.QUEUE)}={to})", f"Goto({REJOIN})")
    elif action == "callback":
        # Coordinated with the callback tasks by the mark only (HOTLINE_CALLBACK_REQUEST). Offered
        # only to a number the callback dialler will dial (the queue-callback key's rule: digits
        # only, 5 to 20); a withheld, short or non-numeric one hears callback-unavailable and waits on.
        ctx.exten(
            "s", event,
            "Set(CB_NUM=${FILTER(0123456789,${CALLERID(num)})})",
            f"GotoIf($[{dialable_condition('CB_NUM', 'CALLERID(num)')}]?offer:withheld)",
            "(offer)Read(KEY,${HOTLINE_SOUNDS}/callback-offer,1,,1,5)",
            "GotoIf($[\"${KEY}\" = \"1\"]?request)",
            *rejoin,
            "(request)" + m.CALLBACK_REQUEST.write(m.CallbackRequest("${CB_NUM}", var(m.QUEUE), var(FB_REASON))),
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
            m.VOICE_MESSAGE.write(m.Message("${MSG}")),
            # at most 120 s, ended by 3 s of silence; kept if the caller hangs up; no beep
            "Record(${HOTLINE_REC_DIR}/${MSG},3,120,kq)",
            "Playback(${HOTLINE_SOUNDS}/message-saved)",
            "Hangup()",
        )
