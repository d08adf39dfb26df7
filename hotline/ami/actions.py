"""Named AMI action builders: every action the controller sends is built here.

Values pass :func:`_v`, which refuses CR/LF so no value can add a header."""

from __future__ import annotations

import re
from typing import Mapping

from hotline.spine import marks
from hotline.spine.marks import inherited
from hotline.spine.plan import (CALLBACK_DIAL_CONTEXT, CALLBACK_HOLD_CONTEXT, DUTY_PROBE_CONTEXT, REVISIT_CONTEXT,
                                trunk_endpoint)

_VAR_NAME = re.compile(r"^_{0,2}[A-Za-z][A-Za-z0-9_]*$")
# Asterisk splits an Originate ``Variable`` header with its dialplan argument parser: a comma
# starts a new variable, quotes and backslashes are consumed, parentheses stop the splitting.
_VAR_VALUE_FORBIDDEN = frozenset(',"\\()')


def _v(value: object) -> str:
    s = str(value)
    if "\r" in s or "\n" in s:
        raise ValueError(f"AMI action values must not contain line breaks: {s!r}")
    return s


def _variable(name: object, value: object) -> str:
    n, v = _v(name), _v(value)
    if not _VAR_NAME.match(n):
        raise ValueError(f"not a channel variable name: {n!r}")
    if _VAR_VALUE_FORBIDDEN.intersection(v):
        raise ValueError(f"an Originate variable value must not contain any of , \" \\ ( ): {v!r}")
    return f"{n}={v}"


def _action(name: str, **fields: object) -> dict[str, str]:
    out = {"Action": name}
    out.update({k: _v(v) for k, v in fields.items() if v is not None})
    return out


def ping() -> dict[str, str]:
    return _action("Ping")


def core_show_channels() -> dict[str, str]:
    return _action("CoreShowChannels")


def queue_status(queue: str | None = None) -> dict[str, str]:
    return _action("QueueStatus", Queue=queue)


def queue_summary(queue: str | None = None) -> dict[str, str]:
    return _action("QueueSummary", Queue=queue)


def hangup(channel: str, cause: int = 16) -> dict[str, str]:
    return _action("Hangup", Channel=channel, Cause=cause)


def originate(channel: str, *, context: str, exten: str, priority: int = 1, caller_id: str | None = None,
              timeout_ms: int = 30000, variables: Mapping[str, str] | None = None,
              async_: bool = True, account: str | None = None) -> dict[str, str]:
    """``account`` becomes the new channel's accountcode, which CEL reports on its events from the
    first one after CHAN_START on: it ties a leg with its own Linkedid to a conversation."""
    action = _action("Originate", Channel=channel, Context=context, Exten=exten, Priority=priority,
                     CallerID=caller_id, Timeout=timeout_ms, Async="true" if async_ else "false",
                     Account=account)
    if variables:
        action["Variable"] = ",".join(_variable(k, v) for k, v in variables.items())
    return action


def queue_pause(interface: str, paused: bool, queue: str | None = None, reason: str | None = None) -> dict[str, str]:
    return _action("QueuePause", Interface=interface, Paused="true" if paused else "false",
                   Queue=queue, Reason=reason)


def queue_add(queue: str, interface: str, *, penalty: int = 0, member_name: str | None = None,
              state_interface: str | None = None, paused: bool = False) -> dict[str, str]:
    return _action("QueueAdd", Queue=queue, Interface=interface, Penalty=penalty, MemberName=member_name,
                   StateInterface=state_interface, Paused="true" if paused else "false")


def queue_remove(queue: str, interface: str) -> dict[str, str]:
    return _action("QueueRemove", Queue=queue, Interface=interface)


def command(cli: str) -> dict[str, str]:
    return _action("Command", Command=cli)


def redirect(channel: str, *, context: str, exten: str, priority: int = 1,
             extra_channel: str | None = None) -> dict[str, str]:
    """Move ``channel`` (and ``extra_channel``, out of the same bridge, to the same place) to a
    dialplan location. A channel redirected alone out of a two-party bridge leaves its peer to
    be hung up by Asterisk."""
    dual = extra_channel is not None
    return _action("Redirect", Channel=channel, Context=context, Exten=exten, Priority=priority,
                   ExtraChannel=extra_channel, ExtraContext=context if dual else None,
                   ExtraExten=exten if dual else None, ExtraPriority=priority if dual else None)


def blind_transfer(channel: str, *, context: str, exten: str) -> dict[str, str]:
    """Send whatever is bridged with ``channel`` to ``exten@context``; ``channel`` is hung up."""
    return _action("BlindTransfer", Channel=channel, Context=context, Exten=exten)


def atxfer(channel: str, *, context: str, exten: str) -> dict[str, str]:
    """Attended transfer by the transferer ``channel``: it consults ``exten@context`` while its
    peer waits; hanging up completes the transfer. Asterisk answers "successfully queued"."""
    return _action("Atxfer", Channel=channel, Context=context, Exten=exten)


def confbridge_list(conference: str) -> dict[str, str]:
    return _action("ConfbridgeList", Conference=conference)


def confbridge_kick(conference: str, channel: str = "all") -> dict[str, str]:
    return _action("ConfbridgeKick", Conference=conference, Channel=channel)


def set_global(variable: str, value: str) -> dict[str, str]:
    """Set a global variable or a writable function without a channel, e.g.
    ``DEVICE_STATE(Custom:seat1005)``."""
    return _action("Setvar", Variable=variable, Value=value)


def play_dtmf(channel: str, digit: str, *, receive: bool) -> dict[str, str]:
    """A DTMF digit on ``channel``: sent out to its far end, or (``receive``) as if the far end
    had pressed it (the channel's application reads it)."""
    return _action("PlayDTMF", Channel=channel, Digit=digit, Receive="yes" if receive else None)


def getvar(variable: str, channel: str | None = None) -> dict[str, str]:
    """Read a variable or evaluate a function, e.g. ``DEVICE_STATE(PJSIP/1001)`` (no channel)."""
    return _action("Getvar", Channel=channel, Variable=variable)


def _callback_variables(call_id: str, number: str, kind: str, ring_seconds: int,
                        position: int | None = None) -> dict[str, str]:
    out = {inherited(marks.CB_OF): call_id, inherited(marks.CB_NUMBER): number, inherited(marks.CB_KIND): kind,
           inherited(marks.CB_RING): str(ring_seconds)}
    if position is not None:
        out[inherited(marks.CB_POS)] = str(position)
    return out


def callback_placeholder(queue: str, *, call_id: str, number: str, ring_seconds: int, position: int = 1,
                         account: str, wait_ms: int = 86_400_000) -> dict[str, str]:
    """A queue callback's placeholder (trunk_config.callback): ``Local/<queue>@hotline-cb-hold/n``
    joins ``queue`` at ``position`` (1: the head, a retry); when a seat answers it, the other
    half runs ``hotline-cb-dial`` and calls ``number`` back. ``wait_ms``: how long it may wait."""
    return originate(f"Local/{queue}@{CALLBACK_HOLD_CONTEXT}/n", context=CALLBACK_DIAL_CONTEXT, exten="s",
                     caller_id=number, timeout_ms=wait_ms, account=account,
                     variables=_callback_variables(call_id, number, "queue_callback", ring_seconds, position))


def callback_seat_call(seat: str, *, call_id: str, number: str, ring_seconds: int, account: str,
                       seat_ring_ms: int = 30_000) -> dict[str, str]:
    """A seat takes a callback: its phone rings (``PJSIP/<seat>``); when it answers,
    ``hotline-cb-dial`` dials ``number`` through the trunk."""
    return originate(f"PJSIP/{seat}", context=CALLBACK_DIAL_CONTEXT, exten="s", caller_id=f'"callback" <{number}>',
                     timeout_ms=seat_ring_ms, account=account,
                     variables=_callback_variables(call_id, number, "abandoned", ring_seconds))


_ORDER_ID = re.compile(r"^WO-[0-9]{8}-[0-9]{1,12}$")


def revisit_call(number: str, *, trunk: str, task: int, attempt: int, order_id: str, ring_seconds: int,
                 hotline_number: str) -> dict[str, str]:
    """A 回访 try: the caller's ``number`` is dialled through ``trunk``
    (``PJSIP/<number>@trunk-<trunk>``, ringing ``ring_seconds``); when they answer, their channel
    runs the survey (``hotline-revisit``, trunk_config.revisit). They see the hotline's number.
    The accountcode ``rv-<task>-<try>-<number>`` ties the try's record to its task
    (:func:`hotline.spine.marks.revisit_account`). ``number`` must be the outbound rule's digits."""
    if not _ORDER_ID.match(order_id):
        raise ValueError(f"not a work-order id: {order_id!r}")
    return originate(f"PJSIP/{number}@{trunk_endpoint(trunk)}", context=REVISIT_CONTEXT, exten="s",
                     caller_id=f'"{hotline_number}" <{hotline_number}>', timeout_ms=ring_seconds * 1000,
                     account=marks.revisit_account(task, attempt, number),
                     variables={marks.RV_TASK: str(task), marks.RV_TRY: str(attempt), marks.RV_ORDER: order_id})


def duty_probe_call(number: str, *, trunk: str, probe: int, attempt: int, ring_seconds: int,
                    hotline_number: str) -> dict[str, str]:
    """A duty-phone test try: the unit's duty phone ``number`` is dialled through ``trunk``
    (``PJSIP/<number>@trunk-<trunk>``, ringing ``ring_seconds``); when it answers, its channel hears
    the notice 测试来电 and is hung up (``hotline-duty-probe``, trunk_config.duty_probe). It sees the
    hotline's number. The accountcode ``dp-<probe>-<try>-<number>`` ties the try's record to its
    probe (:func:`hotline.spine.marks.duty_probe_account`). ``number``: the outbound rule's digits."""
    return originate(f"PJSIP/{number}@{trunk_endpoint(trunk)}", context=DUTY_PROBE_CONTEXT, exten="s",
                     caller_id=f'"{hotline_number}" <{hotline_number}>', timeout_ms=ring_seconds * 1000,
                     account=marks.duty_probe_account(probe, attempt, number),
                     variables={marks.DP_PROBE: str(probe), marks.DP_TRY: str(attempt)})


SPY_MODES = ("listen", "whisper", "barge")
_SEAT_ID = re.compile(r"^[0-9]{3,8}$")


def spy_originate(supervisor_phone: str, seat: str, mode: str, *, context: str = "hotline-spy",
                  timeout_ms: int = 30000) -> dict[str, str]:
    """Ring the supervisor's phone; when it answers, the dialplan context ``context`` (generated by
    ``trunk_config.spy``) runs ChanSpy on ``PJSIP/<seat>`` with the options of ``mode``: listen,
    whisper (the seat hears the supervisor) or barge (both parties hear the supervisor)."""
    if mode not in SPY_MODES:
        raise ValueError(f"spy mode must be one of {', '.join(SPY_MODES)}: {mode!r}")
    for value in (supervisor_phone, seat):
        if not _SEAT_ID.match(value):
            raise ValueError(f"not a seat id: {value!r}")
    return originate(f"PJSIP/{supervisor_phone}", context=context, exten=seat, caller_id=f"{mode} <{seat}>",
                     timeout_ms=timeout_ms, variables={"HOTLINE_SPY_MODE": mode}, async_=True)
