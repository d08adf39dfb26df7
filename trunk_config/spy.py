"""The ``hotline-spy`` dialplan context: listen, whisper and barge for supervisors.

The controller originates a call to the supervisor's phone into this context with the target
seat as the extension and ``HOTLINE_SPY_MODE`` set (``hotline.ami.actions.spy_originate``).
The seat id is filtered to digits and each mode has its own fixed ChanSpy options, so nothing
the request carried reaches an application argument unchecked. ``q``: no beep or name played;
``E``: end when the spied-on channel hangs up; ``w``: whisper (the seat hears the supervisor);
``B``: barge (both parties hear the supervisor). The prefix ``PJSIP/<seat>-`` matches that
seat's channels only (not seat 10010's when spying on 1001).
"""

from __future__ import annotations

SPY_CONTEXT = "hotline-spy"
SPY_OPTIONS = {"listen": "qE", "whisper": "qEw", "barge": "qEB"}


def spy_context() -> tuple[str, str, list[str]]:
    """(context name, comment, steps of extension ``_X.``) for the dialplan renderer."""
    steps = ["Set(SPY_SEAT=${FILTER(0123456789,${EXTEN})})", "Answer()"]
    for mode in ("whisper", "barge"):
        steps.append(f"GotoIf($[\"${{HOTLINE_SPY_MODE}}\" = \"{mode}\"]?{mode})")
    for mode, options in SPY_OPTIONS.items():
        steps += [f"({mode})ChanSpy(PJSIP/${{SPY_SEAT}}-,{options})", "Hangup()"]
    return SPY_CONTEXT, "supervisors: listen, whisper, barge on a seat (${EXTEN} is the seat)", steps
