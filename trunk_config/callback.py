"""extensions.conf for callbacks (issue #3), kept apart from the inbound flow.

Queue callback, all in the dialplan so it works while the controller is down:

1. ``queues.conf`` gives a queue with ``callback.enabled`` the context ``hotline-cb-key-<queue>``
   (:func:`queue_context`): a caller pressing a one-digit extension that exists there leaves the
   queue into it. The key's extension matches on caller-ID (``<key>/_XXXXX.``), so only a caller
   with a dialable number (digits, 5-20; longer ones hear ``callback-unavailable`` and re-join at
   their place) can leave: an anonymous caller's key press is ignored by app_queue.
2. At once, before the confirmation: ``HOTLINE_CALLBACK_REQUEST,<number>|<queue>|key`` (CEL,
   the caller's leg) and the ``Originate`` *application* with ``a`` (async) places a placeholder
   in the same queue at the caller's position (``QUEUEPOSITION``, set by app_queue when the
   caller left): ``Local/<queue>@hotline-cb-hold/n``, whose ``;2`` half runs
   ``Queue(<queue>,...,<position>)`` with the caller's priority. The application, not an AMI
   Originate from the controller, so the place is kept when the controller is down and at the
   moment the caller left (no round trip in between). Then the caller hears
   ``callback-confirm`` and the call ends.
3. The seat that answers the placeholder is bridged with ``;2``; ``;1`` is answered and runs
   ``hotline-cb-dial``: ``HOTLINE_CALLBACK_DIAL``, ``Dial(PJSIP/<number>@trunk-<first trunk>,
   ring_seconds)``, ``HOTLINE_CALLBACK_RESULT,<DIALSTATUS>``. A seat whose callback was not
   answered is released by the hang-up; the controller schedules the next try (AMI Originate of
   the same placeholder at position 1 after ``retry_after``).

A callback a seat takes (abandoned calls): the controller originates ``PJSIP/<seat>`` into
``hotline-cb-dial`` (same context, same events). Every channel of a try gets the accountcode
``cb-<original call id>``: it links the try's record to the original call (``extra.callback_of``).
"""

from __future__ import annotations

from hotline.config.site import SiteConfig
from hotline.spine import marks as m
from hotline.spine.ids import dialplan_filter
from hotline.spine.marks import CALLBACK_ACCOUNT_PREFIX, inherited, var
from hotline.spine.plan import CALLBACK_DIAL_CONTEXT, CALLBACK_HOLD_CONTEXT, trunk_endpoint

from .ctx import Ctx

HOLD = CALLBACK_HOLD_CONTEXT
DIAL = CALLBACK_DIAL_CONTEXT
PLACEHOLDER_WAIT_S = 86400   # how long a placeholder may wait in the queue (Originate's timeout)
DEFAULT_RING_S = 30


def _account(node: str | None) -> str:
    """Every channel of a try: the accountcode that ties it to the call it calls back
    (hotline.spine.marks), the call id's characters only (hotline.spine.ids)."""
    return f"Set(CHANNEL(accountcode)={CALLBACK_ACCOUNT_PREFIX}${{FILTER({dialplan_filter(node)},{var(m.CB_OF)})}})"


def queue_context(queue: str) -> str:
    return f"hotline-cb-key-{queue}"


def callback_queues(site: SiteConfig) -> list[str]:
    return [q.name for q in site.queues if q.callback is not None and q.callback.enabled]


def trunk_dial(site: SiteConfig) -> str:
    return f"PJSIP/${{CB_NUM}}@{trunk_endpoint(site.trunks[0].name)}"


def placeholder_channel(queue: str) -> str:
    """The placeholder a queue callback keeps in the queue (also what the controller originates)."""
    return f"Local/{queue}@{HOLD}/n"


def _lines(ctx: str, comment: str, extens: list[tuple[str, list[str]]]) -> list[str]:
    out: list[str] = []
    context = Ctx(out, ctx, comment)
    for ext, steps in extens:
        context.exten(ext, *steps)
    return out


def render(site: SiteConfig) -> list[str]:
    """The callback contexts (lines of extensions.conf); empty when no queue offers callbacks
    and nothing else needs them (the dial context is always there for seats taking callbacks)."""
    lines: list[str] = []
    for q in site.queues:
        cb = q.callback
        if cb is None or not cb.enabled:
            continue
        maxwait = f"${{HOTLINE_MAXWAIT_{q.name}}}"
        vars_ = "^".join([
            f"{inherited(m.CB_OF)}=${{CHANNEL(linkedid)}}", f"{inherited(m.CB_NUMBER)}=${{CB_NUM}}",
            f"{inherited(m.CB_POS)}=${{POS}}", f"{inherited(m.CB_PRIO)}=${{QUEUE_PRIO}}",
            f"{inherited(m.CB_KIND)}=queue_callback", f"{inherited(m.CB_RING)}={cb.ring_seconds}"])
        lines += _lines(queue_context(q.name), f"queue {q.name}: the caller pressed {cb.key} to be called back", [
            (f"{cb.key}/_XXXXX.", [
                "Set(POS=${QUEUEPOSITION})",
                "Set(CB_RAW=${FILTER(0123456789+,${CALLERID(num)})})",
                "Set(CB_NUM=${FILTER(0123456789,${CB_RAW})})",
                "GotoIf($[\"${CB_NUM}\" != \"${CB_RAW}\" | ${LEN(${CB_NUM})} > 20]?unavailable)",
                m.CALLBACK_REQUEST.write(m.CallbackRequest("${CB_NUM}", q.name, "key")),
                f"Originate({placeholder_channel(q.name)},exten,{DIAL},s,1,{PLACEHOLDER_WAIT_S},a"
                f"c(${{CB_NUM}})v({vars_}))",
                "Playback(${HOTLINE_SOUNDS}/callback-confirm)",
                "Hangup()",
                "(unavailable)Playback(${HOTLINE_SOUNDS}/callback-unavailable)",
                f"Queue({q.name},tr,,,{maxwait},,,,${{POS}})",
                m.QUEUE_EXIT.write(m.Status("${QUEUESTATUS}")),
                "Hangup()",
            ]),
        ])
    lines += _lines(HOLD, "a queue callback's placeholder: waits in the queue at the caller's place", [
        ("_[a-z].", [
            _account(site.site.node),
            "Set(QUEUE=${FILTER(abcdefghijklmnopqrstuvwxyz0123456789_,${EXTEN})})",
            f"ExecIf($[\"{var(m.CB_PRIO)}\" != \"\"]?Set(QUEUE_PRIO=${{FILTER(0123456789,{var(m.CB_PRIO)})}}))",
            m.CALLBACK_HOLD.write(m.CallbackHold(var(m.CB_OF), "${QUEUE}", var(m.CB_POS))),
            f"Queue(${{QUEUE}},,,,,,,,${{FILTER(0123456789,{var(m.CB_POS)})}})",
            "Hangup()",
        ]),
    ])
    lines += _lines(DIAL, "a seat took a callback: dial the citizen through the trunk", [
        ("s", [
            _account(site.site.node),
            f"Set(CB_NUM=${{FILTER(0123456789,{var(m.CB_NUMBER)})}})",
            f"Set(RING=${{FILTER(0123456789,{var(m.CB_RING)})}})",
            f"ExecIf($[\"${{RING}}\" = \"\"]?Set(RING={DEFAULT_RING_S}))",
            m.CALLBACK_DIAL.write(m.CallbackDial(var(m.CB_OF), "${CB_NUM}", var(m.CB_KIND))),
            "GotoIf($[${LEN(${CB_NUM})} < 5 | ${LEN(${CB_NUM})} > 20]?bad)",
            f"Set(CALLERID(all)=\"{site.site.hotline_number}\" <{site.site.hotline_number}>)",
            f"Dial({trunk_dial(site)},${{RING}})",
            m.CALLBACK_RESULT.write(m.Status("${DIALSTATUS}")),
            "Hangup()",
            "(bad)" + m.CALLBACK_RESULT.write(m.Status("INVALIDARGS")),
            "Hangup()",
        ]),
    ])
    return lines
