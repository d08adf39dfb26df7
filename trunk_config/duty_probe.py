"""extensions.conf for duty-phone dial tests (issue 12): what a unit's duty phone hears.

The controller originates ``PJSIP/<number>@trunk-<first trunk>`` into ``hotline-duty-probe``
(AMI, :func:`hotline.ami.actions.duty_probe_call`); the answered channel runs:

1. ``HOTLINE_DUTY_PROBE,<probe>|<try>`` (CEL), language zh;
2. ``duty-probe-notice`` (测试来电。这里是12345政务服务便民热线，正在测试值班电话是否畅通…), then hangs up.

Only generated with ``duty_probes.enabled``.
"""

from __future__ import annotations

from hotline.config.site import SiteConfig
from hotline.spine import marks as m
from hotline.spine.marks import var
from hotline.spine.plan import DUTY_PROBE_CONTEXT

from .ctx import Ctx

SOUNDS = "${HOTLINE_SOUNDS}"


def render(site: SiteConfig) -> list[str]:
    """The notice context (lines of extensions.conf); empty without ``duty_probes.enabled``."""
    if not site.duty_probes.enabled:
        return []
    lines: list[str] = []
    Ctx(lines, DUTY_PROBE_CONTEXT, "a duty-phone test was answered: the notice, then hang up").exten("s", *[
        "Set(CHANNEL(language)=zh)",
        m.DUTY_PROBE.write(m.DutyProbe(f"${{FILTER(0123456789,{var(m.DP_PROBE)})}}",
                                       f"${{FILTER(0123456789,{var(m.DP_TRY)})}}")),
        "Answer()",
        f"Playback({SOUNDS}/duty-probe-notice)",
        "Hangup()",
    ])
    return lines
