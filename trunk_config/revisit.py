"""extensions.conf for 回访 calls (issue 12): the survey a caller hears when they answer.

The controller originates ``PJSIP/<number>@trunk-<first trunk>`` into ``hotline-revisit`` (AMI,
:func:`hotline.ami.actions.revisit_call`); the answered channel runs:

1. ``HOTLINE_REVISIT,<task>|<try>|<order>`` (CEL), language zh;
2. ``revisit-intro`` (您好，这里是12345政务服务便民热线，您反映的问题已办理并答复，工单号), the order's
   number digit by digit (``SayDigits``: the zh digit files every deploy renders,
   ``ivr.prompts.DIGIT_PROMPTS``), then ``Read`` one key over ``revisit-menu`` (满意请按1，基本满意请按2，
   不满意请按3，转人工服务请按0), ``revisits.dtmf_timeout_seconds`` to press it;
3. ``HOTLINE_REVISIT_KEY,<key>|<round>`` for each answer (empty: no key in time, or # alone);
   1-3: ``revisit-thanks``, hang up (the controller applies the rating from the record); 0:
   ``HOTLINE_REVISIT_SEAT,<queue>``, ``revisit-to-seat``, the caller's name shown as
   ``revisit <order>`` and ``Queue(<queue>)``: a seat talks to them and records the rating;
   anything else: ``revisit-invalid`` and the menu once more; a second miss: ``revisit-no-rating``,
   hang up (recorded as no rating).

Only generated with ``revisits.enabled``.
"""

from __future__ import annotations

from hotline.config.site import SiteConfig
from hotline.spine import marks as m
from hotline.spine.marks import var
from hotline.spine.plan import REVISIT_CONTEXT

from .ctx import Ctx

SOUNDS = "${HOTLINE_SOUNDS}"


def render(site: SiteConfig) -> list[str]:
    """The survey context (lines of extensions.conf); empty without ``revisits.enabled``."""
    r = site.revisits
    if not r.enabled:
        return []
    queue = r.queue or site.site.default_queue
    lines: list[str] = []
    Ctx(lines, REVISIT_CONTEXT, "a 回访 call was answered: the caller rates the order").exten("s", *[
        "Set(CHANNEL(language)=zh)",
        # FILTER reads "-" as a range: the order id's dashes are dropped (the record puts them back)
        f"Set(RV_ORDER=${{FILTER(WO0123456789,{var(m.RV_ORDER)})}})",
        m.REVISIT.write(m.Revisit(f"${{FILTER(0123456789,{var(m.RV_TASK)})}}",
                                  f"${{FILTER(0123456789,{var(m.RV_TRY)})}}", "${RV_ORDER}")),
        "Set(RV_ROUND=1)",
        "Answer()",
        f"Playback({SOUNDS}/revisit-intro)",
        "SayDigits(${FILTER(0123456789,${RV_ORDER})})",
        f"(menu)Read(RV_KEY,{SOUNDS}/revisit-menu,1,,1,{r.dtmf_timeout_seconds})",
        "Set(RV_KEY=${FILTER(0123456789*#,${RV_KEY})})",
        m.REVISIT_KEY.write(m.RevisitKey("${RV_KEY}", "${RV_ROUND}")),
        'GotoIf($["${RV_KEY}" = "0"]?seat)',
        'GotoIf($["${RV_KEY}" = "1" | "${RV_KEY}" = "2" | "${RV_KEY}" = "3"]?rated)',
        "GotoIf($[${RV_ROUND} >= 2]?none)",
        "Set(RV_ROUND=2)",
        f"Playback({SOUNDS}/revisit-invalid)",
        "Goto(menu)",
        f"(rated)Playback({SOUNDS}/revisit-thanks)",
        "Hangup()",
        f"(none)Playback({SOUNDS}/revisit-no-rating)",
        "Hangup()",
        "(seat)" + m.REVISIT_SEAT.write(m.Target(queue)),
        f"Playback({SOUNDS}/revisit-to-seat)",
        "Set(CALLERID(name)=revisit ${RV_ORDER})",
        f"Queue({queue},t)",
        "Hangup()",
    ])
    return lines
